"""Federated trend discovery with local DP: Flower's ServerApp and ClientApp (run in the Flower venv).

The server sends every device one ``query`` message holding the public parameters: the hashtag vocabulary (the
platform's public dictionary), the day range, ``epsilon`` and ``cap``. A device reads only its own file
(:func:`~socialflywheel.federated.partition.client_file`) and answers with one
:class:`~socialflywheel.federated.ldp.SetOUE` report per day of the range (``epsilon``-LDP each, so ``days *
epsilon`` for the whole range by basic composition) of the hashtags its owner used that day: packed random bits,
nothing else, and a report for every day, so that whether a device reported says nothing. The server sums the
reports and writes the estimated people per (hashtag, day) with their noise variance (``estimates.parquet``) and a
record of every reply it received (``received.json``: keys, dtypes and sizes, which the boundary test reads).
Scoring the estimates against the trailing baseline is the central trend job's own code, run by the caller in the
project's environment.

Imports numpy, pyarrow and flwr only (the Flower venv has nothing else of the project's dependencies).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from socialflywheel.federated.ldp import SetOUE
from socialflywheel.federated.partition import client_file, device_items

ROOT_ENV = "FLYWHEEL_FL_ROOT"  # the partition/run directory (simulation: set by the launcher)


def _root(context: Context) -> Path:
    """The run directory: the node's ``data-root`` (deployment) or the launcher's environment (simulation)."""
    return Path(str(context.node_config.get("data-root", "")) or os.environ[ROOT_ENV])


def wait_for_nodes(grid: Grid, expected: int, *, timeout_s: float = 600.0) -> list[int]:
    """The node ids once ``expected`` SuperNodes have joined (they register one by one), or fail naming both."""
    deadline = time.monotonic() + timeout_s
    while len(nodes := list(grid.get_node_ids())) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(nodes)} of {expected} SuperNodes joined within {timeout_s:.0f} s")
        time.sleep(0.5)
    return nodes


def write_estimates(
    root: Path, vocab: list[str], day0: int, by_day: np.ndarray, *, noise_var: float, noise_per_use: float
) -> None:
    """Write ``estimates.parquet``: the ``[days, vocab]`` estimated people per (hashtag, day), tag-major.

    With the noise's variance at zero uses and per use: what the lake side scores, one writer for every privacy mode.
    """
    days = by_day.shape[0]
    est = np.asarray(by_day, np.float64).T.reshape(-1)
    tag, day = np.divmod(np.arange(len(est)), days)
    columns = {"hashtag": pa.array(vocab).take(pa.array(tag)), "day": day + day0, "estimate": est}
    columns |= {"noise_var": np.full(len(est), noise_var), "noise_per_use": np.full(len(est), noise_per_use)}
    pq.write_table(pa.table(columns), root / "estimates.parquet")


client = ClientApp()


@client.query()  # type: ignore[untyped-decorator]  # flwr is untyped here (it lives in the Flower venv)
def report(msg: Message, context: Context) -> Message:
    """One device's privatized reports, one per day, of the hashtags its owner used that day."""
    cfg = msg.content["query"]
    vocab = list(cfg["vocab"])
    day0, days = int(cfg["day0"]), int(cfg["days"])
    mech = SetOUE(domain=len(vocab), cap=int(cfg["cap"]), epsilon=float(cfg["epsilon"]))
    me = int(context.node_config["partition-id"])
    path = client_file(_root(context), me)
    posts = pq.read_table(path, columns=["ts", "hashtags"]) if path.exists() else None
    items = device_items(posts, vocab, day0, days) if posts is not None else np.zeros(0, np.int64)
    tag, day = np.divmod(items, days)
    rng = np.random.default_rng([int(cfg["seed"]), me])
    # a report for every day, empty days too: whether a device reported says nothing about its owner
    bits = np.stack([mech.privatize(tag[day == d], rng) for d in range(days)])
    return Message(RecordDict({"report": ArrayRecord({"bits": Array(bits)})}), reply_to=msg)


server = ServerApp()


@server.main()  # type: ignore[untyped-decorator]
def collect(grid: Grid, context: Context) -> None:
    """Query every device once, sum the reports, write the estimates and what was received."""
    root = Path(os.environ[ROOT_ENV])
    q = json.loads((root / "query.json").read_text())
    vocab, days = list(q["vocab"]), int(q["days"])
    mech = SetOUE(domain=len(vocab), cap=int(q["cap"]), epsilon=float(q["epsilon"]))
    t0 = time.perf_counter()
    nodes = wait_for_nodes(grid, int(json.loads((root / "clients.json").read_text())["clients"]))
    content = RecordDict(
        {"query": ConfigRecord({k: q[k] for k in ("vocab", "day0", "days", "cap", "epsilon", "seed")})}
    )
    replies = grid.send_and_receive([Message(content, dst_node_id=n, message_type="query") for n in nodes])
    sums, failed = np.zeros((days, mech.bits), np.int64), 0
    received: list[dict[str, Any]] = []
    for r in replies:
        if r.has_error():
            failed += 1
            continue
        received.append(
            {
                name: {key: {"dtype": a.dtype, "shape": list(a.shape), "bytes": len(a.data)} for key, a in rec.items()}
                for name, rec in r.content.array_records.items()
            }
            | {"_other_records": sorted(set(r.content) - set(r.content.array_records))}
        )
        reports = r.content["report"]["bits"].numpy()
        if reports.shape[0] != days:
            raise ValueError(f"a reply holds {reports.shape[0]} daily reports, the query asked for {days}")
        sums += np.stack([mech.unpack(row) for row in reports])
    n = len(received)
    by_day = np.stack([mech.estimate(row, n) for row in sums])
    noise = float(mech.variance(n))
    write_estimates(
        root, vocab, int(q["day0"]), by_day, noise_var=noise, noise_per_use=float(mech.variance(n, 1.0)) - noise
    )
    sent = max((int(r["report"]["bits"]["bytes"]) for r in received), default=0)
    summary = {
        "nodes": len(nodes),
        "reports": n,
        "failed": failed,
        "seconds": time.perf_counter() - t0,
        "bytes_per_client": sent,
    }
    (root / "received.json").write_text(json.dumps({"summary": summary, "replies": received}))
