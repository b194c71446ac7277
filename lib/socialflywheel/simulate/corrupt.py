"""Realistic bad records added to a landing file, each recorded with its line number and kind."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from socialflywheel.config.simulate import CORRUPTION_KINDS
from socialflywheel.ingest.parse import REQUIRED_BY_TYPE

_UNKNOWN_TYPES = ("teleport", "poke", "reaction_v2", "superlike", "story_view")
_BAD_TS = ("1970-01-01T00:00:00Z", "2099-06-01T12:00:00Z", "not-a-timestamp", "2026-13-45T99:61:00Z")
_OVERSIZE_BYTES = 4096
# What json.dumps(..., ensure_ascii=False, separators=(",", ":")) builds on every call, built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dump(record: dict[str, object]) -> bytes:
    return _ENCODER.encode(record).encode()


def _make(kind: str, line: bytes, fresh_id: str, rng: np.random.Generator) -> bytes:
    """One bad line of ``kind`` derived from a valid ``line`` (a fresh event id unless a duplicate)."""
    if kind == "duplicate":
        return line
    record = json.loads(line)
    record["event_id"] = fresh_id
    if kind == "malformed_json":
        raw = _dump(record)
        cut = int(rng.integers(len(raw) // 3, 2 * len(raw) // 3))
        return raw[:cut] if rng.random() < 0.6 else raw.replace(b'":"', b'"=>"', 1) + b"}"
    if kind == "missing_field":
        choices = ["user_id", "ts", "event_type"]
        # the fields this event type requires, from the landing contract (the JSON Schema's per-type rules)
        choices.extend(REQUIRED_BY_TYPE.get(str(record["event_type"]), ()))
        record.pop(choices[int(rng.integers(len(choices)))])
        return _dump(record)
    if kind == "wrong_type":
        if "dwell_ms" in record:
            record["dwell_ms"] = "abc"
        elif "hashtags" in record:
            record["hashtags"] = " ".join(str(t) for t in record["hashtags"])
        else:
            record["user_id"] = int(str(record["user_id"]).lstrip("u") or 0)
        return _dump(record)
    if kind == "bad_timestamp":
        record["ts"] = _BAD_TS[int(rng.integers(len(_BAD_TS)))]
        return _dump(record)
    if kind == "unknown_event_type":
        record["event_type"] = _UNKNOWN_TYPES[int(rng.integers(len(_UNKNOWN_TYPES)))]
        return _dump(record)
    if kind == "oversized_text":
        base = str(record.get("text") or "so much to say about this one")
        record["text"] = (base + " ") * (_OVERSIZE_BYTES // max(len(base.encode()), 1) + 2)
        return _dump(record)
    # invalid_utf8: bytes that cannot be decoded, inside the user id value
    raw = _dump(record)
    at = raw.index(b'"user_id":"') + 12
    return raw[:at] + b"\xff\xfe" + raw[at:]


def plan_corruptions(
    n: int, line_at: Callable[[int], bytes], rates: dict[str, float], rng: np.random.Generator, id_prefix: str
) -> tuple[np.ndarray, list[bytes], list[tuple[int, str]]]:
    """Bad lines for a file of ``n`` valid lines and where they go, reading only the lines they derive from.

    Args:
        n: valid lines in the file.
        line_at: the valid line at a 0-based index (called only for the lines a bad one is made from).
        rates: share of valid lines per corruption kind.
        rng: the file's random stream.
        id_prefix: makes fresh event ids unique across files (e.g. ``x00003-0007``).

    Returns:
        The file's line order as indices into the valid lines followed by the bad lines, the bad
        lines, and the (1-based line number, kind) of every bad line, sorted.
    """
    if n == 0 or not any(rates.values()):
        return np.arange(n, dtype=np.int64), [], []
    extra_keys: list[float] = []
    extra: list[bytes] = []
    kinds: list[str] = []
    for kind in CORRUPTION_KINDS:
        count = int(rng.binomial(n, rates.get(kind, 0.0)))
        for j in range(count):
            src = int(rng.integers(n))
            extra.append(_make(kind, line_at(src), f"x{id_prefix}-{kind[:3]}{j}", rng))
            extra_keys.append(src + 0.5 + rng.random() * (n - src - 0.5) if kind == "duplicate" else rng.random() * n)
            kinds.append(kind)
    all_keys = np.concatenate([np.arange(n, dtype=np.float64), np.array(extra_keys, dtype=np.float64)])
    order = np.argsort(all_keys, kind="stable")
    where = np.empty(len(order), dtype=np.int64)
    where[order] = np.arange(len(order))
    recorded = [(int(where[n + k]) + 1, kind) for k, kind in enumerate(kinds)]
    return order, extra, sorted(recorded)


def corrupt_lines(
    lines: list[bytes], rates: dict[str, float], rng: np.random.Generator, id_prefix: str
) -> tuple[list[bytes], list[tuple[int, str]]]:
    """Insert bad lines among ``lines``; every valid line stays, once and intact.

    Args:
        lines: the valid lines of one file, in order.
        rates: share of valid lines per corruption kind.
        rng: the file's random stream.
        id_prefix: makes fresh event ids unique across files (e.g. ``x00003-0007``).

    Returns:
        The file's lines and the (1-based line number, kind) of every inserted line.
    """
    n = len(lines)
    if n == 0 or not any(rates.values()):
        return lines, []
    order, extra, recorded = plan_corruptions(n, lines.__getitem__, rates, rng, id_prefix)
    return [lines[i] if i < n else extra[i - n] for i in order.tolist()], recorded
