"""Flower's deployment runtime: a SuperLink and three SuperNodes as real processes on 127.0.0.1, `flwr run`.

Each SuperNode is given a data folder holding only its own device's file (``--node-config data-root=...``), the
server's folder holds no device file at all, and the trend app runs one round end to end over the network.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialflywheel.federated.partition import client_file
from tests.federated.test_federated_trends import _write_devices

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.federated


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening on {port}: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listened on {port} within {timeout_s} s: {log.read_text()[-2000:]}")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:  # each in its own session: the SuperExec and app processes they start go with them
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def test_a_superlink_and_three_supernodes_run_a_round_end_to_end(
    flower_venv: Path,
    processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    bin_dir = flower_venv.parent
    server_dir, home = tmp_path / "server", tmp_path / "flwr-home"
    _write_devices(server_dir, 3, broken=-1)
    home.mkdir()
    nodes = []
    for d in range(3):  # each node's folder holds its own device's file and nothing else
        own = tmp_path / f"node{d}"
        client_file(own, d).parent.mkdir(parents=True)
        shutil.move(client_file(server_dir, d), client_file(own, d))
        nodes.append(own)
    assert not list((server_dir / "clients").iterdir())
    link = _free_port()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "test"\n\n[superlink.test]\naddress = "127.0.0.1:{link}"\ninsecure = true\n'
    )
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",  # the SuperLink starts flower-superexec from PATH
        "PYTHONPATH": str(REPO / "lib"),
        "FLWR_HOME": str(home),
        "FLWR_TELEMETRY_ENABLED": "0",
        "FLYWHEEL_FL_ROOT": str(server_dir),
    }

    def start(name: str, argv: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(proc)
        return proc, log

    superlink = [str(bin_dir / "flower-superlink"), "--insecure", "--host", "127.0.0.1", "--port", str(link)]
    _wait_for_port(link, *start("superlink", [*superlink, "--disable-runtime-dependency-installation"]))
    for d, own in enumerate(nodes):
        port = _free_port()
        argv = [str(bin_dir / "flower-supernode"), "--insecure", "--superlink", f"127.0.0.1:{link}"]
        argv += ["--port", str(port), "--node-config", f"partition-id={d} data-root='{own}'"]
        _wait_for_port(port, *start(f"supernode{d}", argv))
    run = subprocess.run(
        [str(bin_dir / "flwr"), "run", str(REPO / "infra" / "flower" / "trends-app"), "test", "--stream"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    received = json.loads((server_dir / "received.json").read_text())
    summary = received["summary"]
    assert (summary["nodes"], summary["reports"], summary["failed"]) == (3, 3, 0), summary
    assert [r["report"]["bits"]["shape"] for r in received["replies"]] == [[3, 1]] * 3
    assert (server_dir / "estimates.parquet").exists()
