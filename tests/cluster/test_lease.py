"""The lake's writer lease on a real S3 server: mutual exclusion between processes, takeover of dead holders."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.lake.lease import LEASE_KEY, LeaseTimeout, writer_lease
from tests.cluster.conftest import BUCKET, ObjectStore

ROOT = f"s3a://{BUCKET}/lease-tests"

HOLDER = """
import json, sys, time
from socialflywheel.lake.lease import writer_lease
root, out, rounds, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
for i in range(rounds):
    with writer_lease(root, job="holder", ttl_s=30):
        start = time.time()
        time.sleep(hold)
        end = time.time()
    with open(out, "a") as fh:
        fh.write(json.dumps([start, end]) + "\\n")
"""


def spawn(root: str, out: Path, rounds: int, hold: float) -> subprocess.Popen[Any]:
    return subprocess.Popen([sys.executable, "-c", HOLDER, root, str(out), str(rounds), str(hold)])


def test_holders_never_overlap(object_store: ObjectStore, tmp_path: Path) -> None:
    """Four processes, three rounds each, all at once: no two hold intervals overlap."""
    root = f"{ROOT}/overlap"
    outs = [tmp_path / f"p{i}.jsonl" for i in range(4)]
    procs = [spawn(root, out, rounds=3, hold=0.4) for out in outs]
    assert all(p.wait(180) == 0 for p in procs)
    spans = sorted(tuple(json.loads(line)) for out in outs for line in out.read_text().splitlines())
    assert len(spans) == 12
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    keys = object_store.client().list_objects_v2(Bucket=BUCKET, Prefix="lease-tests/overlap/").get("KeyCount", 0)
    assert keys == 0  # released at the end


def test_lease_of_a_killed_process_is_taken_over_at_once(object_store: ObjectStore, tmp_path: Path) -> None:
    root = f"{ROOT}/killed"
    proc = spawn(root, tmp_path / "x.jsonl", rounds=1, hold=600)
    client = object_store.client()
    deadline = time.monotonic() + 60
    while client.list_objects_v2(Bucket=BUCKET, Prefix="lease-tests/killed/").get("KeyCount", 0) == 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    started = time.monotonic()
    with writer_lease(root, job="after", ttl_s=600, wait_s=30):
        waited = time.monotonic() - started
    assert waited < 10  # not the 600 s ttl: the holder was a dead process on this host


def _plant(store: ObjectStore, root: str, *, host: str, expires: float) -> None:
    body = {"token": "t", "job": "elsewhere", "host": host, "pid": 1, "expires": expires}
    key = f"{root.split('/', 3)[3]}/{LEASE_KEY}"
    store.client().put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())


def test_live_lease_on_another_host_makes_the_waiter_time_out(object_store: ObjectStore) -> None:
    root = f"{ROOT}/other-host"
    _plant(object_store, root, host=f"not-{socket.gethostname()}", expires=time.time() + 3600)
    held = r"held by elsewhere \(pid 1 on not-"
    with pytest.raises(LeaseTimeout, match=held), writer_lease(root, job="me", wait_s=2):
        pass


def test_expired_lease_on_another_host_is_taken_over(object_store: ObjectStore) -> None:
    root = f"{ROOT}/expired"
    _plant(object_store, root, host=f"not-{socket.gethostname()}", expires=time.time() - 1)
    with writer_lease(root, job="me", wait_s=5):
        got = object_store.client().get_object(Bucket=BUCKET, Key=f"lease-tests/expired/{LEASE_KEY}")
        assert json.loads(got["Body"].read())["job"] == "me"
