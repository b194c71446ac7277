"""The issue's floor for federated trend discovery (precision and recall >= 0.9 on the planted trends), over three
seeds of the devices' randomness on the default world. Extended: each run queries 3,907 devices (about a minute
under local DP, five under SecAgg+)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake

pytestmark = [pytest.mark.federated, pytest.mark.extended]


def _mean_quality(
    cfg: FlywheelConfig, lake: Lake, spark: Any, tmp: Path, **kw: Any
) -> tuple[float, float, list[dict[str, float]]]:
    from socialflywheel.federated.trends import run_federated_trends, score_estimates, trend_quality

    planted = lake.read_arrow("truth.trends").to_pylist()
    seen = []
    for seed in (0, 1, 2):
        run_federated_trends(lake, tmp / f"seed{seed}", cap=2, seed=seed, **kw)
        seen.append(trend_quality(score_estimates(spark, tmp / f"seed{seed}", cfg.features), planted))
    print(kw, seen)
    return float(np.mean([q["precision"] for q in seen])), float(np.mean([q["recall"] for q in seen])), seen


LOCAL_DP_NOT_MET = (
    "not met: local DP at epsilon 8 per device-day (224 over 28 days) gave precision 1.0/0.6/0.75 and recall "
    "1.0/1.0/0.83 over seeds 0-2 (bench/results/federated.json): the noise floor's Poisson tail at q = 1/(e^8 + 1) "
    "makes false bursts of rare tags"
)


@pytest.mark.parametrize(
    ("privacy", "epsilon"),
    [
        pytest.param("local_dp", 8.0, marks=pytest.mark.xfail(strict=True, reason=LOCAL_DP_NOT_MET), id="local-dp-8"),
        pytest.param("secagg", 4.0, id="secagg-4-user-level"),
    ],
)
def test_the_floor_over_three_seeds(
    privacy: str,
    epsilon: float,
    flower_venv: Path,
    default_lake: tuple[FlywheelConfig, Lake],
    spark: Any,
    tmp_path: Path,
) -> None:
    precision, recall, seen = _mean_quality(*default_lake, spark, tmp_path, epsilon=epsilon, privacy=privacy)
    assert precision >= 0.9 and recall >= 0.9, seen
