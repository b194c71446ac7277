"""Pack the Python environment that cluster executors run the jobs' UDFs in (shipped with ``--archives``).

    python -m socialflywheel.cluster.pack --out build/executor-env.tar.gz

Executors need only what runs inside tasks (the ingest parser, pseudonymization, sentiment, segment
assignment): the project's wheel without its dependencies plus the few libraries those tasks import, at the
versions ``constraints.txt`` pins. PySpark itself comes from the cluster's Spark (``pyspark.zip`` on the
executors' PYTHONPATH). torch, MLflow, NetworKit and faiss stay on the driver, so the archive is ~100 MB
instead of the driver's several GB. This is the venv-pack route of Spark's "Python package management"
guide; it works the same on YARN, standalone and Kubernetes.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[3]

# Imported inside Spark tasks (directly or by the modules whose functions are pickled into them).
# What executor tasks import: the landing parser's fast path (msgspec) and compiled contract (fastjsonschema), UDFs'
# pandas/pyarrow, VADER.
EXECUTOR_PACKAGES = (
    "pyarrow",
    "pandas",
    "numpy",
    "pydantic",
    "pyyaml",
    "jsonschema",
    "fastjsonschema",
    "msgspec",
    "vaderSentiment",
)


def _fingerprint(repo: Path) -> str:
    """What the archive is built from: the pins, the project metadata and every library file.

    Package data counts too (the landing contract's JSON Schema, the report's templates).
    """
    digest = hashlib.sha256()
    digest.update(" ".join(EXECUTOR_PACKAGES).encode())
    for path in [repo / "constraints.txt", repo / "pyproject.toml", *_library_files(repo)]:
        digest.update(str(path.relative_to(repo)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _library_files(repo: Path) -> list[Path]:
    """Every file of the library that goes into its wheel (no caches, no build metadata)."""
    return sorted(
        p
        for p in (repo / "lib").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not any(part.endswith(".egg-info") for part in p.parts)
    )


def build(out: Path, *, repo: Path = REPO, python: str = sys.executable, force: bool = False) -> Path:
    """Build the executor environment archive at ``out`` (skipped when its inputs have not changed).

    Args:
        out: The ``.tar.gz`` to write; a ``.sha256`` of its inputs is kept beside it.
        repo: The project checkout (its ``constraints.txt`` pins the versions).
        python: The interpreter the environment is created from (the executors' Python version).
        force: Rebuild even when the inputs are unchanged.
    """
    import venv_pack

    out = out.resolve()
    stamp = out.with_suffix(".sha256")
    fingerprint = _fingerprint(repo)
    if not force and out.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint:
        log.info("executor environment %s is up to date", out)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".executor-env-") as tmp:
        env, wheels = Path(tmp) / "env", Path(tmp) / "wheels"
        subprocess.run([python, "-m", "venv", str(env)], check=True)
        pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-c", str(repo / "constraints.txt"), *EXECUTOR_PACKAGES], check=True)
        subprocess.run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(repo)], check=True)
        subprocess.run([*pip, "--no-deps", *map(str, wheels.glob("socialflywheel-*.whl"))], check=True)
        venv_pack.pack(prefix=str(env), output=str(out), force=True, compress_level=1)
    stamp.write_text(fingerprint + "\n")
    log.info("executor environment written to %s (%.0f MB)", out, out.stat().st_size / 1e6)
    return out


def main(argv: list[str] | None = None) -> None:
    """Build the executor archive from the command line (``--out``, ``--force``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build/executor-env.tar.gz", help="Archive to write.")
    parser.add_argument("--force", action="store_true", help="Rebuild even when nothing changed.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    build(Path(args.out), force=args.force)


if __name__ == "__main__":
    main()
