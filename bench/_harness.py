"""Shared bits of the benchmark harnesses: child processes, peak memory, a table and a JSON file."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def clean_env() -> dict[str, str]:
    from socialflywheel.cluster.submit import submit_env

    env = submit_env()  # no Spark Connect switches of this process, SPARK_HOME set
    env.setdefault("RUST_LOG", "warn")
    # Classic Spark's Python workers must run this interpreter (the venv's), not `python3` from PATH.
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    return env


class ChildFailed(RuntimeError):
    """A benchmark child exited non-zero (``returncode`` -9: killed, e.g. by the OOM killer)."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{argv} failed with exit code {returncode}:\n{stderr[-3000:]}")
        self.returncode = returncode
        lines = stderr.strip().splitlines()
        # The error itself: the last line naming an exception (an engine's shutdown warnings come after it).
        errors = [line for line in lines if "Error" in line or "Exception" in line]
        self.stderr_tail = [*errors[-1:], *lines[-1:]] if errors else lines[-2:]


def _kill_tree(proc: Any) -> None:
    import psutil

    try:
        kids = proc.children(recursive=True)
    except psutil.Error:
        kids = []
    for p in [*kids, proc]:  # a JVM grandchild outlives its Python parent otherwise
        try:
            p.kill()
        except psutil.Error:
            pass


def run_child(argv: list[str], timeout: int = 3600) -> dict[str, Any]:
    """Run a child that prints one JSON line last; add its wall time and the peak RSS of its whole
    process tree (a JVM or torchrun workers included), sampled every 50 ms."""
    import psutil

    t0 = time.perf_counter()
    # The child's output goes to files, never pipes: a long run's log lines would fill a pipe nobody
    # reads until the end and block the child.
    with tempfile.TemporaryFile(mode="w+") as outlog, tempfile.TemporaryFile(mode="w+") as errlog:
        proc = psutil.Popen([sys.executable, *argv], stdout=outlog, stderr=errlog, text=True, env=clean_env())
        peak = 0
        while proc.poll() is None:
            try:
                tree = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            if time.perf_counter() - t0 > timeout:
                _kill_tree(proc)
                proc.wait()
                raise TimeoutError(f"{argv} ran past {timeout}s")
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        outlog.seek(0)
        errlog.seek(0)
        out, err = outlog.read(), errlog.read()
    if proc.returncode != 0:
        raise ChildFailed(argv, proc.returncode, err)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result.setdefault("wall_s", wall)
    result["tree_peak_rss_mib"] = peak / 2**20
    return result


def peak_rss_mib() -> float:
    """Peak RSS of this process and its waited-for children, in MiB (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


def emit(name: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> Path:
    """Print a table and write bench/results/<name>.json."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=name)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    for c in cols:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(*[f"{r[c]:,.3f}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols])
    Console(width=200).print(table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "rows": rows,
    }
    payload.update(extra or {})
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {out}")
    return out
