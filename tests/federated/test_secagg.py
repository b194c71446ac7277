"""Secure aggregation (Flower's SecAgg+) with distributed Gaussian noise, on Flower's simulation runtime.

The server's own record of what it received shows masked vectors only (uniform over the mask modulus, unrelated
to any device's data, the plain parameters cleared); the round completes with two devices dropping out after
sharing their keys, and the unmasked sum is the remaining devices' data plus the configured noise; the noise is
what dp-accounting's RDP accountant calls (epsilon, delta) for the configured release.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from socialflywheel.federated.partition import client_file
from tests.federated.test_federated_trends import DAY0

pytestmark = pytest.mark.federated
DEVICES, DAYS, TAGS, CAP, DROP = 12, 3, 120, 2, (3, 5)


def _devices(root: Path) -> np.ndarray:
    """Each device posts 0-2 random hashtags a day; returns their ``[device, day, tag]`` 0/1 truth."""
    rng = np.random.default_rng(5)
    truth = np.zeros((DEVICES, DAYS, TAGS))
    (root / "clients").mkdir(parents=True)
    for d in range(DEVICES):
        ts, tags = [], []
        for day in range(DAYS):
            used = rng.choice(TAGS, size=int(rng.integers(0, CAP + 1)), replace=False)
            truth[d, day, used] = 1
            ts.append((DAY0 + day) * 86_400 + 60)
            tags.append([f"t{t:03d}" for t in used])
        pq.write_table(pa.table({"ts": pa.array(ts, pa.timestamp("s", "UTC")), "hashtags": tags}), client_file(root, d))
    (root / "clients.json").write_text(json.dumps({"clients": DEVICES, "kind": "device"}))
    query = {"vocab": [f"t{t:03d}" for t in range(TAGS)], "day0": DAY0, "days": DAYS, "cap": CAP}
    query |= {"epsilon": 4.0, "delta": 1e-5, "seed": 2, "shares": 5}
    (root / "query.json").write_text(json.dumps(query))
    return truth


def test_the_server_sees_only_masked_vectors_and_a_round_survives_two_dropouts(
    flower_venv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from socialflywheel.federated.trends import launch_simulation

    truth = _devices(tmp_path)
    monkeypatch.setenv("FLYWHEEL_FL_DROP", ",".join(map(str, DROP)))
    monkeypatch.setenv("FLYWHEEL_FL_RECORD", "1")
    summary = launch_simulation(tmp_path, "trends-secagg", DEVICES)
    assert (summary["nodes"], summary["reports"], summary["failed"]) == (DEVICES, DEVICES - 2, 2), summary

    # what crossed: keys and key shares in the first stages, then the masked vector with the plain parameters cleared
    replies = json.loads((tmp_path / "received.json").read_text())["replies"]
    masked_stage = [r for r in replies if "fitres.parameters" in r["array_records"]]
    assert len(masked_stage) == DEVICES - 2
    assert all(r["array_records"] == {"fitres.parameters": 0} for r in masked_stage)
    assert all(r["config_records"]["secaggplus_configs"] == ["masked_params"] for r in masked_stage)
    others = [r for r in replies if r not in masked_stage]
    assert all(set(r["config_records"]) == {"secaggplus_configs"} and not r["array_records"] for r in others)

    # every masked vector is uniform over the modulus and unrelated to every device's own data
    masked = list(np.load(tmp_path / "masked.npz").values())
    assert len(masked) == DEVICES - 2
    plain = truth.reshape(DEVICES, -1)
    for vec in masked:
        assert vec.min() >= 0 and vec.max() < 2**32
        assert stats.kstest(vec / 2**32, "uniform").pvalue > 1e-4
        data = vec[1 : 1 + plain.shape[1]].astype(float)  # entry 0 is the weight factor
        assert max(abs(np.corrcoef(data, row)[0, 1]) for row in plain if row.any()) < 0.3

    # the sum is the devices still there, plus noise of the stated variance
    est = pq.read_table(tmp_path / "estimates.parquet").to_pandas()
    kept = np.delete(truth, DROP, axis=0).sum(axis=0)  # [day, tag]
    expected = kept.T.reshape(-1)  # tag-major rows
    sd = math.sqrt(float(est["noise_var"].iloc[0]))
    z = (est["estimate"].to_numpy() - expected) / sd
    assert np.all(np.abs(z) < 5.5), np.abs(z).max()
    assert 0.6 < z.std() < 1.4, z.std()  # the noise is there, at the stated scale


def test_the_noise_is_what_the_accountant_calls_epsilon_delta(flower_venv: Path) -> None:
    """sigma for (4, 1e-5) at L2 sensitivity sqrt(3 days x cap 2) meets the accountant's epsilon, and barely."""
    code = (
        "import math, dp_accounting as d\n"
        "from socialflywheel.federated.secagg_apps import gaussian_sigma\n"
        "s = gaussian_sigma(4.0, 1e-5, math.sqrt(6))\n"
        "def eps(z):\n"
        "    a = d.rdp.RdpAccountant(); a.compose(d.GaussianDpEvent(z)); return a.get_epsilon(1e-5)\n"
        "print(s, eps(s / math.sqrt(6)), eps(0.99 * s / math.sqrt(6)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "lib")}
    out = subprocess.run([str(flower_venv), "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    sigma, eps_at, eps_below = map(float, out.stdout.split())
    assert eps_at <= 4.0 < eps_below, (sigma, eps_at, eps_below)
    assert 1.0 < sigma / math.sqrt(6) < 2.0  # a noise multiplier of ~1.2 for (4, 1e-5): the textbook order
