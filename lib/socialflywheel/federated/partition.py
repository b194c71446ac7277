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
    import pyarrow as pa

    from socialflywheel.lake.io import Lake

ClientKind = Literal["device", "silo"]
DAY_S = 86_400
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


def device_items(posts: pa.Table, vocab: list[str], day0: int, days: int) -> np.ndarray:
    """Item ids ``tag * days + (day - day0)`` of the (hashtag, day) pairs in one device's posts (distinct, sorted).

    Hashtags count in lower case; a post without a time, a hashtag outside ``vocab`` (or null) and a day outside
    ``day0 .. day0 + days - 1`` count for nothing, so a device's odd rows never stop its report.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    posts = posts.filter(pc.is_valid(posts["ts"]))
    if posts.num_rows == 0:
        return np.zeros(0, np.int64)
    seconds = pc.cast(pc.cast(posts["ts"], pa.timestamp("s", "UTC"), safe=False), pa.int64())  # truncates sub-seconds
    day = seconds.to_numpy(zero_copy_only=False).astype(np.int64) // DAY_S - day0
    hashtags = posts["hashtags"].cast(pa.list_(pa.string()))  # a column of only empty lists reads as list<null>
    lengths = pc.list_value_length(hashtags).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    tag_idx = pc.index_in(pc.utf8_lower(pc.list_flatten(hashtags)), pa.array(vocab, pa.string()))
    tag = tag_idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    day_rep = np.repeat(day, lengths)
    ok = (tag >= 0) & (day_rep >= 0) & (day_rep < days)
    return np.unique(tag[ok] * days + day_rep[ok])
