"""Shared fixtures: one Sail session per test process, a temporary work directory per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from socialflywheel.config import FlywheelConfig, load_config
from socialflywheel.lake.io import Lake

REPO = Path(__file__).resolve().parents[1]


def make_config(work_dir: Path, *overrides: str) -> FlywheelConfig:
    """The embedded default pointed at ``work_dir``, with a few overrides (tests never touch ./work)."""
    return load_config(REPO / "conf" / "local.yaml", [f"work_dir={work_dir}", *overrides])


@pytest.fixture(scope="session", autouse=True)
def spark_scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Spark's scratch space (``/tmp/spark-*``) for every JVM the tests start, inside the session's temp root.

    A JVM killed by a fault test never runs its shutdown hook; under /tmp its scratch would outlive the run.
    """
    scratch = tmp_path_factory.mktemp("spark-scratch")
    saved = os.environ.get("SPARK_LOCAL_DIRS")
    os.environ["SPARK_LOCAL_DIRS"] = str(scratch)
    yield scratch
    if saved is None:
        os.environ.pop("SPARK_LOCAL_DIRS", None)
    else:
        os.environ["SPARK_LOCAL_DIRS"] = saved


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("flywheel")


@pytest.fixture(scope="session")
def spark(session_dir: Path) -> Iterator[object]:
    """The Sail session, started once per test process (never in a forked child)."""
    from socialflywheel.spark import get_session, stop_session

    cfg = make_config(session_dir / "spark", "spark.shuffle_partitions=2")
    yield get_session(cfg)
    stop_session()


@pytest.fixture
def work(tmp_path: Path) -> FlywheelConfig:
    """A fresh config whose work directory (lake, landing, MLflow) is private to the test."""
    return make_config(tmp_path / "work")


@pytest.fixture
def lake(work: FlywheelConfig) -> Lake:
    return Lake.from_config(work)


def java_or_fail() -> None:
    """The compat suite needs Java 17: skip on a laptop without it, fail under CI."""
    if shutil.which("java"):
        return
    if os.environ.get("CI"):
        pytest.fail("Java 17 is required by the compat suite (make sysdeps installs it)")
    pytest.skip("no Java: compat suite skipped (set CI=true to make this a failure)")


@pytest.fixture(scope="session")
def tiny_lake(session_dir: Path, spark: object) -> tuple[FlywheelConfig, Lake]:
    """The tiny simulated platform (corruption on), ingested and conformed once per test session.

    Tests that change bronze or silver copy it first (``copy_lake``); later stages add gold tables.
    """
    from socialflywheel.ingest import run_conform, run_ingest
    from socialflywheel.simulate import run_simulate

    cfg = make_config(session_dir / "tiny", "simulate.profile=tiny", "simulate.corruption.enabled=true")
    lake = Lake.from_config(cfg)
    run_simulate(spark, lake, cfg.simulate, landing=cfg.landing_dir)
    run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    run_conform(spark, lake, cfg.privacy)
    return cfg, lake


def copy_lake(src: FlywheelConfig, dst: Path) -> tuple[FlywheelConfig, Lake]:
    """A private copy of a work directory (landing and lake), for tests that write to bronze or silver."""
    shutil.copytree(src.work_path, dst)
    cfg = make_config(dst, "simulate.profile=tiny")
    return cfg, Lake.from_config(cfg)


@pytest.fixture(scope="session")
def default_lake(session_dir: Path, spark: object) -> tuple[FlywheelConfig, Lake]:
    """The default profile (about 5,000 users, 500k events, 28 days), built once per session.

    Stages that need planted answers at realistic scale (trends, bots, communities, recommenders)
    test against it; they add their gold tables to it and must not rewrite bronze or silver.
    """
    from socialflywheel.ingest import run_conform, run_ingest
    from socialflywheel.simulate import run_simulate

    cfg = make_config(session_dir / "default", "simulate.profile=default", "simulate.corruption.enabled=true")
    lake = Lake.from_config(cfg)
    run_simulate(spark, lake, cfg.simulate, landing=cfg.landing_dir)
    run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    run_conform(spark, lake, cfg.privacy)
    return cfg, lake


def _cuda_devices() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``gpu`` tests run whenever a CUDA device is visible and are skipped (with the reason) where none is."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if gpu_items and _cuda_devices() == 0:
        skip = pytest.mark.skip(reason="no CUDA device visible (torch.cuda.is_available() is False)")
        for item in gpu_items:
            item.add_marker(skip)


_EXIT_GRACE_S = 180.0


def pytest_unconfigure(config: pytest.Config) -> None:
    """Name whatever could hold the finished test process open, and never let it outlive its tests for long.

    The tests start JVMs, a Rust Spark Connect server, gloo process groups and helper processes in this process;
    a thread or child left behind by any of them would keep the interpreter from exiting after the last test
    (a CI run once sat after ``[100%]`` until its limit). This lists the non-daemon threads and live child
    processes once, and if the interpreter is still alive ``_EXIT_GRACE_S`` later, prints every thread's stack
    and exits with the status pytest already decided.
    """
    import faulthandler
    import sys
    import threading

    lingering = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    children = [f"{p.pid} {' '.join(p.cmdline()[:4])}" for p in _live_children()]
    if lingering or children:
        print(f"\nat exit: non-daemon threads {lingering}, child processes {children}", file=sys.stderr, flush=True)
    status = int(getattr(config, "_flywheel_exitstatus", 0))

    def _give_up() -> None:
        print(f"\nstill alive {_EXIT_GRACE_S:.0f} s after the last test; stacks:", file=sys.stderr, flush=True)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        for child in _live_children():
            print(f"child still alive: {child.pid} {child.cmdline()[:6]}", file=sys.stderr, flush=True)
            child.kill()
        sys.stderr.flush()
        os._exit(status)

    timer = threading.Timer(_EXIT_GRACE_S, _give_up)
    timer.daemon = True
    timer.start()
    # past the interpreter's own teardown no Python thread runs: a C watchdog dumps the stacks and exits (status 1)
    faulthandler.dump_traceback_later(_EXIT_GRACE_S + 60, exit=True, file=sys.__stderr__)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._flywheel_exitstatus = exitstatus  # type: ignore[attr-defined]


def _live_children() -> list[Any]:
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                child.cmdline()
                out.append(child)
        except psutil.Error:
            continue
    return out
