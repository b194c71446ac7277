"""Pick the graph backend: cuGraph when it imports and a GPU is visible, NetworKit otherwise."""

from __future__ import annotations

import importlib.util
import logging
import os
from typing import TYPE_CHECKING, Literal

from socialflywheel.graph.backends.base import GraphBackend

if TYPE_CHECKING:
    from dask.distributed import Client

log = logging.getLogger(__name__)

BackendName = Literal["auto", "networkit", "cugraph"]


def gpu_visible() -> tuple[bool, str]:
    """Whether a CUDA device is visible, and how that was decided."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False, "CUDA_VISIBLE_DEVICES hides every GPU"
    for module in ("cupy", "numba"):
        if importlib.util.find_spec(module) is None:
            continue
        try:
            if module == "cupy":
                import cupy

                count = int(cupy.cuda.runtime.getDeviceCount())
            else:
                from numba import cuda

                count = len(cuda.gpus) if cuda.is_available() else 0
        except Exception as exc:  # a driver-less machine raises from the CUDA runtime
            return False, f"{module} found no CUDA device ({type(exc).__name__})"
        return count > 0, f"{module} sees {count} CUDA device(s)"
    return False, "neither cupy nor numba is installed to query CUDA"


def cugraph_importable() -> tuple[bool, str]:
    """Whether ``import cugraph`` works, and why not."""
    if importlib.util.find_spec("cugraph") is None:
        return False, "cugraph is not installed"
    try:
        import cugraph  # noqa: F401
    except Exception as exc:  # RAPIDS present but broken (driver/CUDA mismatch)
        return False, f"import cugraph failed: {exc}".splitlines()[0]
    return True, "cugraph imports"


def select_backend(
    name: BackendName = "auto", *, threads: int = 0, leiden_iterations: int = 10, dask_client: Client | None = None
) -> GraphBackend:
    """Build the requested backend; ``auto`` takes cuGraph only when it imports and a GPU is visible.

    Args:
        name: ``auto``, ``networkit`` or ``cugraph``.
        threads: NetworKit threads (0 = all cores).
        leiden_iterations: NetworKit ParallelLeiden passes per run.
        dask_client: a Dask client over GPU workers: cuGraph runs its multi-GPU (``cugraph.dask``) API.

    Raises:
        RuntimeError: ``cugraph`` was asked for explicitly and cannot run here.
    """
    if name in ("auto", "cugraph"):
        has_lib, lib_why = cugraph_importable()
        has_gpu, gpu_why = gpu_visible() if has_lib else (False, "not checked")
        if has_lib and has_gpu:
            from socialflywheel.graph.backends.cugraph import CugraphBackend

            backend = CugraphBackend(dask_client=dask_client)
            log.info("graph backend=%s (%s; %s; requested %s)", backend.name, lib_why, gpu_why, name)
            return backend
        if name == "cugraph":
            raise RuntimeError(f"graph.backend=cugraph cannot run here: {lib_why}; {gpu_why}")
        reason = lib_why if not has_lib else gpu_why
    else:
        reason = "requested"
    from socialflywheel.graph.backends.networkit import NetworkitBackend

    backend_cpu = NetworkitBackend(threads=threads, leiden_iterations=leiden_iterations)
    log.info("graph backend=networkit (%s; %d threads)", reason, backend_cpu.threads)
    return backend_cpu
