"""Shared fixtures: one Sail session per test process, a temporary work directory per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialflywheel.config import FlywheelConfig, load_config
from socialflywheel.lake.io import Lake

REPO = Path(__file__).resolve().parents[1]


def make_config(work_dir: Path, *overrides: str) -> FlywheelConfig:
    """The embedded default pointed at ``work_dir``, with a few overrides (tests never touch ./work)."""
    return load_config(REPO / "conf" / "local.yaml", [f"work_dir={work_dir}", *overrides])


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
