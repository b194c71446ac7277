"""`flywheel doctor`: what this machine has, and what each stage would run on."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from importlib import metadata

from rich.table import Table

from socialflywheel.config import FlywheelConfig, redact_text

KEY_PACKAGES = (
    "pyspark",
    "pysail",
    "deltalake",
    "pyarrow",
    "pydantic",
    "mlflow",
    "torch",
    "networkit",
    "faiss-cpu",
    "implicit",
    "vaderSentiment",
    "scikit-learn",
    "cugraph-cu12",
    "cudf-cu12",
    "cupy-cuda12x",
)


def java_version() -> str | None:
    """The first line of ``java -version``, or None without a working Java."""
    java = shutil.which("java")
    if not java:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    first = (out.stderr or out.stdout).splitlines()
    return first[0] if first else None


def visible_gpus() -> list[str]:
    """The GPUs ``nvidia-smi -L`` lists (empty without the tool or a driver)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.stdout.splitlines() if line.startswith("GPU")]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def report(cfg: FlywheelConfig) -> Table:
    """A table of facts and choices; it imports no heavy library and shows every location redacted.

    URLs pass through ``config.redact_text`` (the masking the config's logged view uses): a password in
    ``mlflow.tracking_uri`` or a ``;token=`` in ``spark.connect_url`` is never printed.
    """
    gpus = visible_gpus()
    has_cugraph = importlib.util.find_spec("cugraph") is not None
    table = Table(title="flywheel doctor", show_header=True)
    table.add_column("item")
    table.add_column("value")
    url = cfg.spark.connect_url
    table.add_row("config", redact_text(str(cfg.source)))
    table.add_row("work dir", redact_text(str(cfg.work_path)))
    table.add_row("lake root", redact_text(cfg.lake_root))
    table.add_row("mlflow", redact_text(cfg.tracking_uri))
    table.add_row("spark engine", cfg.spark.engine + (f" ({redact_text(url)})" if url else ""))
    table.add_row("java", java_version() or "not found (needed for engine=classic and the compat suite)")
    table.add_row("gpus", "; ".join(gpus) if gpus else "none visible")
    graph: str = cfg.graph.backend
    if graph == "auto":
        graph = (
            "cugraph (auto: importable, GPU visible)"
            if has_cugraph and gpus
            else "networkit (auto: no cuGraph or no GPU)"
        )
    table.add_row("graph backend", graph)
    device: str = cfg.train.device
    if device == "auto":
        device = "cuda + nccl (auto)" if gpus else "cpu + gloo (auto: no GPU)"
    table.add_row("training", f"{device}, {cfg.train.nproc} process(es)")
    rapids = cfg.spark.conf.get("spark.plugins", "")
    table.add_row("RAPIDS Accelerator", "configured" if "SQLPlugin" in rapids else "off (CPU Spark SQL)")
    for pkg in KEY_PACKAGES:
        table.add_row(f"  {pkg}", _version(pkg))
    return table
