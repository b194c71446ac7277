"""Clients from the lake: each person's device, or each country's regional silo, holds only its own rows.

The partition is written once, one Parquet file per client under ``<dir>/clients/`` (what the device or the
silo stores), with ``clients.json`` naming how many there are. Clients are numbered ``0 .. n - 1`` in a seeded
order; which person or country a number stands for stays in the lake-side ``index.parquet`` beside them, which
no Flower process reads: a client opens its own file by its partition id and the server opens none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

ClientKind = Literal["device", "silo"]
POST_COLUMNS = ("ts", "hashtags")


def client_file(root: str | Path, client: int) -> Path:
    """The file client ``client`` holds (its own rows only)."""
    return Path(root) / "clients" / f"{client:06d}.parquet"


def write_post_partition(lake: Lake, root: str | Path, *, kind: ClientKind = "device", seed: int = 0) -> int:
    """Write each client's post events (``ts``, ``hashtags``) from silver.events; returns the number of clients.

    Args:
        lake: The lake (silver.events and, for silos, silver.users' ``country``).
        root: Directory of the partition (replaced).
        kind: ``device`` (a client per person who posted) or ``silo`` (a client per country).
        seed: Orders the clients (the numbering carries nothing about who they are).
    """
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    posts = lake.read_arrow("silver.events", columns=["user_id", "event_type", "ts", "hashtags"])
    posts = posts.filter(pc.equal(posts["event_type"], "post")).select(["user_id", *POST_COLUMNS])
    if kind == "silo":
        users = lake.read_arrow("silver.users", columns=["user_id", "country"])
        at = pc.index_in(posts["user_id"], users["user_id"])  # a join cannot carry the hashtags list along
        key = pc.fill_null(pc.take(users["country"], at), "unknown")
    else:
        key = posts["user_id"]
    posts = posts.append_column("_key", key).sort_by([("_key", "ascending"), ("ts", "ascending")])
    keys = pc.unique(posts["_key"]).to_numpy(zero_copy_only=False)
    order = np.random.default_rng(seed).permutation(len(keys))
    out = Path(root)
    shutil.rmtree(out, ignore_errors=True)
    (out / "clients").mkdir(parents=True)
    codes = pc.index_in(posts["_key"], pa.array(keys)).to_numpy()
    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(codes)]
    for start, end in zip(starts, ends, strict=True):
        client = int(order[codes[start]])
        pq.write_table(posts.slice(start, end - start).select(list(POST_COLUMNS)), client_file(out, client))
    pq.write_table(pa.table({"client": order, "key": pa.array(keys)}), out / "index.parquet")
    (out / "clients.json").write_text(json.dumps({"clients": len(keys), "kind": kind, "rows": posts.num_rows}))
    return len(keys)
