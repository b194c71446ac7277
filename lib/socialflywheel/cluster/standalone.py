"""A standalone Spark cluster on this machine: a master and workers as separate JVMs on 127.0.0.1.

The cluster suite and the cluster bench start one with the ``spark-class`` launcher of the pyspark
distribution; each daemon is a process of its own, stopped by pid. Ports are chosen free, so two runs
never collide.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop_pid(proc: subprocess.Popen[Any], *, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def wait_for(predicate: Callable[[], bool], *, what: str, timeout: float = 90.0, log: Path | None = None) -> None:
    """Poll ``predicate`` until it holds; on timeout raise with the tail of ``log``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s\n{tail}")


def _spark_class() -> Path:
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home()) / "bin" / "spark-class"


def _daemon(cls: str) -> list[str]:
    """The spark-class line of a standalone daemon bound to 127.0.0.1."""
    return [str(_spark_class()), f"org.apache.spark.deploy.{cls}", "--host", "127.0.0.1"]


def _registered_workers(log: Path) -> int:
    return log.read_text().count("Registering worker") if log.exists() else 0


@dataclass
class LocalCluster:
    """A standalone master and its workers, each a JVM process of its own."""

    master_url: str
    master: subprocess.Popen[Any]
    work_dirs: list[Path]
    logs: Path
    env: dict[str, str]
    cores: int
    memory: str
    workers: list[subprocess.Popen[Any]] = field(default_factory=list)

    def start_worker(self, slot: int) -> None:
        """Start (or replace) the worker in ``slot`` and wait until the master has registered it."""
        master_log = self.logs / "master.log"
        seen = _registered_workers(master_log)
        args = ["--cores", str(self.cores), "--memory", self.memory, "--webui-port", "0"]
        with (self.logs / f"worker-{slot}-{time.time_ns()}.log").open("wb") as out:
            proc = subprocess.Popen(
                [*_daemon("worker.Worker"), *args, "--work-dir", str(self.work_dirs[slot]), self.master_url],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        if slot < len(self.workers):
            self.workers[slot] = proc
        else:
            self.workers.append(proc)
        wait_for(lambda: _registered_workers(master_log) > seen, what=f"Spark worker {slot}", log=master_log)

    def pids(self) -> list[int]:
        """Process ids of the master and workers that are still running."""
        return [p.pid for p in [self.master, *self.workers] if p.poll() is None]

    def stop(self) -> None:
        """Stop every worker, then the master (SIGTERM, SIGKILL after a grace period)."""
        for proc in [*self.workers, self.master]:
            stop_pid(proc)


def start_cluster(
    root: Path, *, env: Mapping[str, str], workers: int = 2, cores: int = 1, memory: str = "2g"
) -> LocalCluster:
    """Start a master and ``workers`` workers (``cores`` and ``memory`` each) with their logs under ``root``.

    Workers inherit ``env``: credentials there play the part of a node's role.
    """
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # Executor scratch (the unpacked executor environment, shuffle files) under ``root``, not /tmp: a worker
    # killed by a fault test leaves it behind otherwise.
    scratch = root / "scratch"
    scratch.mkdir(exist_ok=True)
    env = {**env, "SPARK_LOG_DIR": str(logs), "SPARK_LOCAL_DIRS": str(scratch)}
    port, ui = free_port(), free_port()
    master_log = logs / "master.log"
    with master_log.open("wb") as out:
        master = subprocess.Popen(
            [*_daemon("master.Master"), "--port", str(port), "--webui-port", str(ui)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    dirs = [root / f"worker-{i}" for i in range(workers)]
    cluster = LocalCluster(f"spark://127.0.0.1:{port}", master, dirs, logs, env, cores, memory)
    try:
        wait_for(lambda: "I have been elected leader" in master_log.read_text(), what="Spark master", log=master_log)
        for slot, work in enumerate(dirs):
            work.mkdir(exist_ok=True)
            cluster.start_worker(slot)
    except BaseException:
        cluster.stop()
        raise
    return cluster
