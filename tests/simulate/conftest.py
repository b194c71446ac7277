"""A tiny simulated landing folder and lake, built once per test session."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.simulate import SimulateResult, run_simulate
from tests.conftest import make_config

TINY = ("simulate.profile=tiny", "simulate.corruption.enabled=true", "simulate.formats=[json,parquet]")


@pytest.fixture(scope="session")
def simulate_into(
    spark: Any, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., tuple[FlywheelConfig, SimulateResult]]:
    """Run the simulator into a fresh work directory with the given overrides."""

    def run(*overrides: str) -> tuple[FlywheelConfig, SimulateResult]:
        cfg = make_config(tmp_path_factory.mktemp("sim"), *overrides)
        return cfg, run_simulate(spark, Lake.from_config(cfg), cfg.simulate, landing=cfg.landing_dir)

    return run


@pytest.fixture(scope="session")
def tiny(simulate_into: Callable[..., tuple[FlywheelConfig, SimulateResult]]) -> tuple[FlywheelConfig, SimulateResult]:
    return simulate_into(*TINY)


@pytest.fixture(scope="session")
def tiny_lines(tiny: tuple[FlywheelConfig, SimulateResult]) -> list[tuple[str, int, bytes]]:
    """Every landing line of the tiny run: (file relative to the landing folder, 1-based line, bytes)."""
    cfg, _ = tiny
    out = []
    for path in sorted((cfg.landing_dir / "events").rglob("*.jsonl")):
        rel = path.relative_to(cfg.landing_dir).as_posix()
        for no, line in enumerate(path.read_bytes().split(b"\n")[:-1], start=1):
            out.append((rel, no, line))
    return out


@pytest.fixture(scope="session")
def tiny_events(
    tiny_lines: list[tuple[str, int, bytes]], tiny: tuple[FlywheelConfig, SimulateResult]
) -> list[dict[str, Any]]:
    """The valid events of the tiny run (lines not recorded as corruptions)."""
    cfg, _ = tiny
    bad = {(r["source_file"], r["line_no"]) for r in Lake.from_config(cfg).read_arrow("truth.corruptions").to_pylist()}
    return [json.loads(line) for rel, no, line in tiny_lines if (rel, no) not in bad]


def landing_hashes(landing: Path) -> dict[str, str]:
    """sha256 of every landing file, by relative path."""
    import hashlib

    return {
        p.relative_to(landing).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(landing.rglob("*"))
        if p.is_file()
    }
