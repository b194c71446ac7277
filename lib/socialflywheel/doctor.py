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


def facts(cfg: FlywheelConfig) -> list[tuple[str, str]]:
    """The facts and choices, as (item, value) rows; it imports no heavy library and shows every location redacted.

    URLs pass through ``config.redact_text`` (the masking the config's logged view uses): a password in
    ``mlflow.tracking_uri`` or a ``;token=`` in ``spark.connect_url`` is never printed.
    """
    gpus = visible_gpus()
    has_cugraph = importlib.util.find_spec("cugraph") is not None
    rows: list[tuple[str, str]] = []
    url = cfg.spark.connect_url
    rows.append(("config", redact_text(str(cfg.source))))
    rows.append(("work dir", redact_text(str(cfg.work_path))))
    rows.append(("lake root", redact_text(cfg.lake_root)))
    rows.append(("mlflow", redact_text(cfg.tracking_uri)))
    rows.append(("spark engine", cfg.spark.engine + (f" ({redact_text(url)})" if url else "")))
    rows.append(("java", java_version() or "not found (needed for engine=classic and the compat suite)"))
    rows.append(("gpus", "; ".join(gpus) if gpus else "none visible"))
    graph: str = cfg.graph.backend
    if graph == "auto":
        graph = (
            "cugraph (auto: importable, GPU visible)"
            if has_cugraph and gpus
            else "networkit (auto: no cuGraph or no GPU)"
        )
    rows.append(("graph backend", graph))
    device: str = cfg.train.device
    if device == "auto":
        device = "cuda + nccl (auto)" if gpus else "cpu + gloo (auto: no GPU)"
    rows.append(("training", f"{device}, {cfg.train.nproc} process(es)"))
    rapids = cfg.spark.conf.get("spark.plugins", "")
    rows.append(("RAPIDS Accelerator", "configured" if "SQLPlugin" in rapids else "off (CPU Spark SQL)"))
    for pkg in KEY_PACKAGES:
        rows.append((pkg, _version(pkg)))
    return rows


def report(cfg: FlywheelConfig) -> Table:
    """:func:`facts` as a table."""
    table = Table(title="flywheel doctor", show_header=True)
    table.add_column("item")
    table.add_column("value")
    for item, value in facts(cfg):
        table.add_row(f"  {item}" if item in KEY_PACKAGES else item, value)
    return table
