"""One generation task: a chunk's events written as deterministic landing files, small stats returned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialflywheel.simulate.activity import ETYPES, Events, T, chunk_events
from socialflywheel.simulate.corrupt import plan_corruptions
from socialflywheel.simulate.encode import arrow_events, event_ids, json_lines, post_ids
from socialflywheel.simulate.text import SENTIMENTS
from socialflywheel.simulate.timeline import MS_PER_DAY, stream
from socialflywheel.simulate.world import World

# Rows a task returns: (kind, s1, s2, s3, n1, n2); kinds: file, corruption, sentiment, count.
TASK_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("s1", pa.string()),
        ("s2", pa.string()),
        ("s3", pa.string()),
        ("n1", pa.int64()),
        ("n2", pa.int64()),
    ]
)


# Events encoded to JSON per call (whole days, so a day's file is a slice of one block).
ENCODE_BLOCK = 100_000


def _subset(ev: Events, sl: slice) -> Events:
    return Events(**{name: getattr(ev, name)[sl] for name in ev.__dataclass_fields__})


def _payload(lines: pa.Array) -> pa.Buffer:
    """The lines joined by newlines (and a final one), straight from the Arrow buffers (no copy to ``bytes``).

    Binary lines (bad ones may not be UTF-8) are joined as strings: a zero-copy view that joining never validates.
    """
    if not len(lines):
        return pa.py_buffer(b"")
    with_nl = pc.binary_join_element_wise(lines.view(pa.string()), "\n", "")
    offsets = np.frombuffer(with_nl.buffers()[1], dtype=np.int32)[with_nl.offset : with_nl.offset + len(with_nl) + 1]
    return with_nl.buffers()[2].slice(int(offsets[0]), int(offsets[-1]) - int(offsets[0]))


def _line_reader(lines: pa.Array) -> Callable[[int], bytes]:
    """``i -> lines[i]`` as bytes, read from the Arrow buffers (an Arrow scalar per call costs ~7 us)."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    data = memoryview(lines.buffers()[2]) if len(lines) else memoryview(b"")
    return lambda i: bytes(data[int(offsets[i]) : int(offsets[i + 1])])


def _rows(
    kind: str,
    s1: list[str] | pa.Array,
    s2: list[str] | pa.Array,
    s3: list[str] | pa.Array,
    n1: list[int] | pa.Array,
    n2: list[int] | pa.Array,
) -> pa.RecordBatch:
    """Task rows of one kind from lists or Arrow arrays (``TASK_SCHEMA``: three strings, two int64)."""

    def column(values: list[str] | list[int] | pa.Array, typ: pa.DataType) -> pa.Array:
        return pa.array(values, typ) if isinstance(values, list) else values.cast(typ)

    return pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(kind, pa.string()), len(s1)),
            *(column(v, pa.string()) for v in (s1, s2, s3)),
            *(column(v, pa.int64()) for v in (n1, n2)),
        ],
        schema=TASK_SCHEMA,
    )


def _columns(
    rows: list[tuple[str, str, str, int, int]],
) -> tuple[list[str], list[str], list[str], list[int], list[int]]:
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], [r[4] for r in rows]


def write_chunk(
    world: World, chunk: int, n_chunks: int, landing: Path, formats: list[str], rates: dict[str, float]
) -> pa.RecordBatch:
    """Generate chunk ``chunk`` and write ``events/date=D/part-CCCCC.jsonl`` (and Parquet) for each date.

    Returns:
        Stats rows: one per file (path, lines, bytes; no checksum, which nothing read), per injected
        bad line, per comment sentiment, and per event type count.
    """
    ev = chunk_events(world, chunk, n_chunks)
    day = (ev.ts - world.period.start_ms) // MS_PER_DAY
    bounds = np.searchsorted(day, np.arange(world.period.days + 1))
    out: list[pa.RecordBatch] = []
    block: tuple[int, int, pa.Array] = (0, 0, pa.array([], pa.string()))
    files: list[tuple[str, str, str, int, int]] = []
    bad: list[tuple[str, str, str, int, int]] = []
    for d in range(world.period.days):
        sl = slice(int(bounds[d]), int(bounds[d + 1]))
        if sl.start == sl.stop:
            continue
        part = _subset(ev, sl)
        date = np.datetime_as_string(np.datetime64(world.period.start_ms + d * MS_PER_DAY, "ms"), unit="D")
        rel = f"events/date={date}/part-{chunk:05d}.jsonl"
        if sl.stop > block[1]:  # encode a run of whole days at once: fewer Arrow calls, bounded memory
            stop = int(bounds[int(np.searchsorted(bounds, sl.start + ENCODE_BLOCK, side="right")) - 1])
            stop = max(stop, sl.stop)
            block = (sl.start, stop, json_lines(world, _subset(ev, slice(sl.start, stop))))
        lines = block[2].slice(sl.start - block[0], sl.stop - sl.start)
        if any(rates.values()):
            rng = stream(world.cfg.seed, 300, chunk, d)
            valid = lines.cast(pa.binary())
            order, extra, recorded = plan_corruptions(
                len(valid), _line_reader(valid), rates, rng, f"{chunk:05d}-{d:04d}"
            )
            payload = _payload(pa.concat_arrays([valid, pa.array(extra, pa.binary())]).take(pa.array(order)))
            n_lines = len(order)
            bad.extend((rel, kind, "", line_no, 0) for line_no, kind in recorded)
        else:
            payload, n_lines = _payload(lines), len(lines)
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        # A JSON line holds no raw newline (json escapes them), so the file's lines are the lines joined.
        files.append((rel, "", "", n_lines, payload.size))
        if "parquet" in formats:
            ppath = landing / f"events_parquet/date={date}/part-{chunk:05d}.parquet"
            ppath.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(arrow_events(world, part), ppath, compression="zstd")
    out.append(_rows("file", *_columns(files)))
    out.append(_rows("corruption", *_columns(bad)))
    com = np.flatnonzero(ev.etype == T["comment"])
    sub = Events(**{name: getattr(ev, name)[com] for name in ev.__dataclass_fields__})
    sent = pa.array(SENTIMENTS).take(pa.array(world.content.bank_sentiment[sub.text_idx]))
    zeros = pa.array(np.zeros(len(com), dtype=np.int64))
    out.append(_rows("sentiment", event_ids(sub), post_ids(sub.post), sent, zeros, zeros))
    counts = np.bincount(ev.etype, minlength=len(ETYPES))
    out.append(_rows("count", list(ETYPES), [""] * len(ETYPES), [""] * len(ETYPES), counts.tolist(), [0] * len(ETYPES)))
    n_c = len(world.content.camp_ctr)
    for name in ("ad_impression", "ad_click"):
        per = np.bincount(ev.campaign[ev.etype == T[name]], minlength=n_c)[:n_c]
        out.append(_rows("campaign", [""] * n_c, [name] * n_c, [""] * n_c, per.tolist(), list(range(n_c))))
    return pa.concat_batches(out)
