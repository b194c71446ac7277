"""The HMAC key and credentials never appear in logs, errors, run records, MLflow or the report.

Credentials come from the environment (the HMAC key, AWS keys) and from the config itself: an S3A secret in
``spark.conf``, a token in ``spark.connect_url``, a password in ``mlflow.tracking_uri`` (issue #16 item 6).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
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
    """Before (config-borne secrets): the S3A key was an MLflow param (``cfg.spark.conf.<key>``), doctor printed
    the connect token and the tracking password, and a mistyped secret was echoed in the error."""
    key = f"hmac-{secrets.token_hex(16)}"
    cred = f"cred-{secrets.token_hex(16)}"
    s3a = f"s3a-{secrets.token_hex(16)}"
    token = f"tok-{secrets.token_hex(16)}"
    password = f"pw-{secrets.token_hex(16)}"
    planted = [key, cred, s3a, token, password]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
    env.update(FLYWHEEL_HMAC_KEY=key, AWS_SECRET_ACCESS_KEY=cred)
    work = tmp_path / "work"
    base = ["--set", f"work_dir={work}", "--set", "simulate.profile=tiny", "--set", "train.epochs=1"]
    base += ["--set", f"spark.conf={{'spark.hadoop.fs.s3a.secret.key': '{s3a}'}}"]
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
    # doctor with a token in the Spark Connect URL and a password in the tracking URI (it connects to neither)
    doctor = subprocess.run(
        [
            *[FLYWHEEL, "doctor", *base, "--set", "spark.engine=connect"],
            *["--set", f"spark.connect_url=sc://spark.internal:15002/;token={token}"],
            *["--set", f"mlflow.tracking_uri=https://alice:{password}@mlflow.internal:5000"],
        ],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert doctor.returncode == 0, doctor.stderr[-2000:]
    assert b"sc://spark.internal:15002/;token=***" in doctor.stdout and b"alice:***@mlflow.internal" in doctor.stdout
    outputs += [doctor.stdout, doctor.stderr]
    # wrongly typed secrets: each config error is one line that does not echo the value
    for bad in (
        f"privacy.dev_hmac_key=[{key}]",
        f"spark.conf={{'spark.hadoop.fs.s3a.secret.key': [{s3a}]}}",
        f"spark.connect_url=[sc://h:15002/;token={token}]",
        f"mlflow.tracking_uri=[https://alice:{password}@h]",
    ):
        typed = subprocess.run([FLYWHEEL, "doctor", "--set", bad], env=env, capture_output=True, timeout=120)
        assert typed.returncode == 2 and typed.stderr.startswith(b"config error: "), typed.stderr[-500:]
        outputs += [typed.stdout, typed.stderr]
    assert any(b"INFO" in o or b"succeeded" in o for o in outputs)  # there were logs to search
    # the S3A key was logged as an MLflow param, masked (not dropped: the param shows the key was configured)
    with sqlite3.connect(work / "mlflow.db") as db:
        masked = db.execute("select value from params where key = 'cfg.spark.conf.spark.hadoop.fs.s3a.secret.key'")
        values = {row[0] for row in masked}
    assert values == {"***"}
    leaks: list[str] = []
    for blob in outputs:
        if any(p.encode() in blob for p in planted):
            leaks.append("process output")
    # every file the jobs wrote: lake (run records included), MLflow store and artifacts, the report
    files = [p for p in work.rglob("*") if p.is_file() and "landing" not in p.parts]
    assert any(p.name == "mlflow.db" for p in files) and any(p.suffix == ".html" for p in files)
    for path in files:
        for blob in file_texts(path):
            if any(p.encode() in blob for p in planted):
                leaks.append(str(path.relative_to(work)))
    assert not leaks, f"secret found in: {sorted(set(leaks))}"
