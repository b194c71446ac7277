"""The HMAC key and credentials never appear in logs, errors, run records, MLflow or the report."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from socialflywheel.config import public_dict
from socialflywheel.jobs_registry import JOBS
from tests.conftest import make_config
from tests.privacy.scan import file_texts

pytestmark = pytest.mark.slow
FLYWHEEL = str(Path(sys.executable).parent / "flywheel")
PIPELINE = ["simulate", "ingest", "features", "graph", "train", "recommend", "report"]


def test_public_config_masks_credentials() -> None:
    cfg = make_config(Path("/tmp/x"), "lake.storage_options={'AWS_SECRET_ACCESS_KEY': 'sekrit-value'}")
    shown = repr(public_dict(cfg))
    assert "sekrit-value" not in shown and "dev-only-key" not in shown and "AWS_SECRET_ACCESS_KEY" in shown


def test_secrets_never_leave_the_process(tmp_path: Path) -> None:
    key = f"hmac-{secrets.token_hex(16)}"
    cred = f"cred-{secrets.token_hex(16)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
    env.update(FLYWHEEL_HMAC_KEY=key, AWS_SECRET_ACCESS_KEY=cred)
    work = tmp_path / "work"
    base = ["--set", f"work_dir={work}", "--set", "simulate.profile=tiny", "--set", "train.epochs=1"]
    outputs: list[bytes] = []
    for job in [j for j in PIPELINE if j in JOBS]:
        out = subprocess.run([FLYWHEEL, job, *base], env=env, capture_output=True, timeout=900)
        assert out.returncode == 0, (job, out.stderr[-2000:])
        outputs += [out.stdout, out.stderr]
    # errors too: a failing job and a bad config
    bad = work / "landing" / "events" / "date=2026-10-01" / "part-99999.jsonl"
    bad.symlink_to(tmp_path / "missing")
    failed = subprocess.run([FLYWHEEL, "ingest", *base], env=env, capture_output=True, timeout=600)
    assert failed.returncode != 0
    outputs += [failed.stdout, failed.stderr]
    cfg_err = subprocess.run(
        [FLYWHEEL, "conform", "--set", f"work_dir={work}", "--set", "privacy.min_group_users=few"],
        env=env,
        capture_output=True,
    )
    assert cfg_err.returncode == 2
    outputs += [cfg_err.stdout, cfg_err.stderr]
    assert any(b"INFO" in o or b"succeeded" in o for o in outputs)  # there were logs to search
    leaks: list[str] = []
    for blob in outputs:
        if key.encode() in blob or cred.encode() in blob:
            leaks.append("process output")
    # every file the jobs wrote: lake (run records included), MLflow store and artifacts, the report
    files = [p for p in work.rglob("*") if p.is_file() and "landing" not in p.parts]
    assert any(p.name == "mlflow.db" for p in files) and any(p.suffix == ".html" for p in files)
    for path in files:
        for blob in file_texts(path):
            if key.encode() in blob or cred.encode() in blob:
                leaks.append(str(path.relative_to(work)))
    assert not leaks, f"secret found in: {sorted(set(leaks))}"
