"""Landing-line parse throughput (lines/s): the schema-compiled validator against the hand-written one before #15,
and a whole file's parse step (``lines.file_batches``, lines to Arrow batches) per line against columnar (#17).

    python bench/bench_landing_parse.py [LINES]      # default: 200000

Generates LINES simulator-like JSON lines, about 5% of them made bad by the simulator's own corruption
(``simulate.corrupt.corrupt_lines``: truncated JSON, dropped and retyped fields, bad timestamps, unknown
event types, oversized text, invalid UTF-8), then parses every line with each implementation in this one
process: chunk by chunk, the two back to back in alternating order, best (and median) of ``REPEATS`` per
chunk, summed. Times are CPU seconds of this process (the bench machine is shared; wall seconds are reported
too). The table counts each implementation's outcomes; the JSON also says on how many lines they differ.
The file step is timed the same way on files of ``FILE_LINES`` lines (one parse chunk each), and its two paths'
batches are checked equal; the load average (the bench machine is shared) is recorded before and after.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import emit
from socialflywheel.ingest import lines as landing_lines_module
from socialflywheel.ingest import parse
from socialflywheel.ingest.landing import LandingFile
from socialflywheel.lake.catalog import EVENT_TYPES
from socialflywheel.simulate.corrupt import corrupt_lines

REPEATS = 7
CHUNK = 10_000
FILE_LINES = 20_000
INVALID_SHARE = 0.05
_LIMITS = parse.Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))

# ---------------------------------------------------------------------------------------------------------
# before #15: the hand-written validator of socialflywheel/ingest/parse.py as it was at 01a3f26 (the peer);
# only the names are prefixed. The JSON decode there did not catch a ValueError (a >4300-digit integer).
# ---------------------------------------------------------------------------------------------------------


class Before15Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_B15_CONTRACT_FIELDS = (
    "event_id",
    "event_type",
    "user_id",
    "post_id",
    "target_user_id",
    "ts",
    "dwell_ms",
    "text",
    "hashtags",
    "country",
    "device",
    "campaign_id",
)
_B15_STRING_FIELDS = (
    "event_id",
    "event_type",
    "user_id",
    "post_id",
    "target_user_id",
    "text",
    "country",
    "device",
    "campaign_id",
)
_B15_REQUIRED = ("event_id", "event_type", "user_id", "ts")
_B15_REQUIRED_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    "post": ("post_id",),
    "view": ("post_id",),
    "like": ("post_id",),
    "share": ("post_id",),
    "comment": ("post_id",),
    "click": ("post_id",),
    "follow": ("target_user_id",),
    "unfollow": ("target_user_id",),
    "ad_impression": ("campaign_id",),
    "ad_click": ("campaign_id",),
}
_B15_EVENT_TYPE_SET = frozenset(EVENT_TYPES)
_B15_MAX_ID_CHARS = 256


def before15_parse_ts(value: Any) -> dt.datetime:
    if isinstance(value, bool):
        raise Before15Rejected("wrong_type", "ts: boolean")
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise Before15Rejected("bad_timestamp", f"ts: {value!r}")
        try:
            return dt.datetime.fromtimestamp(value / 1000.0, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise Before15Rejected("bad_timestamp", f"ts: {value!r} out of range") from None
    if not isinstance(value, str):
        raise Before15Rejected("wrong_type", f"ts: {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Before15Rejected("bad_timestamp", f"ts: unparseable {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _before15_extra_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def before15_validate(record: Any, limits: parse.Limits, mapping: Mapping[str, str] | None = None) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise Before15Rejected("malformed_json", f"top level is {type(record).__name__}, not an object")
    if mapping:
        record = {mapping.get(k, k): v for k, v in record.items()}
    for name in _B15_REQUIRED:
        if record.get(name) is None or record.get(name) == "":
            raise Before15Rejected("missing_field", name)
    for name in _B15_STRING_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise Before15Rejected("wrong_type", f"{name}: {type(value).__name__}, expected string")
    for name in ("event_id", "user_id", "post_id", "target_user_id", "campaign_id"):
        value = record.get(name)
        if value is not None and len(value) > _B15_MAX_ID_CHARS:
            raise Before15Rejected("wrong_type", f"{name}: longer than {_B15_MAX_ID_CHARS} characters")
    event_type = record["event_type"]
    if event_type not in _B15_EVENT_TYPE_SET:
        raise Before15Rejected("unknown_event_type", event_type[:40])
    for name in _B15_REQUIRED_BY_TYPE.get(event_type, ()):
        if record.get(name) is None or record.get(name) == "":
            raise Before15Rejected("missing_field", f"{name} (required for {event_type})")
    dwell = record.get("dwell_ms")
    if dwell is not None and (isinstance(dwell, bool) or not isinstance(dwell, int)):
        if isinstance(dwell, float) and dwell.is_integer():
            dwell = int(dwell)
        else:
            raise Before15Rejected("wrong_type", f"dwell_ms: {type(dwell).__name__}, expected integer")
    if dwell is not None and not (0 <= dwell < 2**62):
        raise Before15Rejected("wrong_type", "dwell_ms: out of range")
    tags = record.get("hashtags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        raise Before15Rejected("wrong_type", "hashtags: expected a list of strings")
    ts = before15_parse_ts(record["ts"])
    if not (limits.min_ts <= ts <= limits.max_ts):
        raise Before15Rejected(
            "bad_timestamp", f"ts: {record['ts']!r} outside {limits.min_ts:%Y-%m-%d}..{limits.max_ts:%Y-%m-%d}"
        )
    text = record.get("text")
    if text is not None and len(text.encode("utf-8", "surrogatepass")) > limits.max_text_bytes:
        raise Before15Rejected("oversized_text", f"text: over {limits.max_text_bytes} bytes")
    event = {name: record.get(name) for name in _B15_CONTRACT_FIELDS}
    event["ts"] = ts
    event["dwell_ms"] = dwell
    event["event_date"] = ts.date()
    event["extras"] = [
        (k, _before15_extra_value(v)) for k, v in record.items() if k not in _B15_CONTRACT_FIELDS and v is not None
    ]
    return event


def before15_parse_line(line: bytes, limits: parse.Limits, mapping: Mapping[str, str] | None = None) -> dict[str, Any]:
    if len(line) > limits.max_line_bytes:
        raise Before15Rejected("oversized_line", f"{len(line)} bytes > {limits.max_line_bytes}")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Before15Rejected("invalid_utf8", f"byte {exc.start}") from None
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise Before15Rejected("malformed_json", str(exc)[:120]) from None
    return before15_validate(record, limits, mapping)


# ---------------------------------------------------------------------------------------------------------

_TYPE_SHARE = {
    "view": 0.45,
    "like": 0.15,
    "click": 0.07,
    "search": 0.06,
    "ad_impression": 0.06,
    "comment": 0.05,
    "post": 0.05,
    "share": 0.04,
    "follow": 0.04,
    "unfollow": 0.01,
    "ad_click": 0.02,
}
# The simulator's corruption kinds that make a line unparseable ("duplicate" is found later, per batch).
_BAD_KINDS = (
    "malformed_json",
    "missing_field",
    "wrong_type",
    "bad_timestamp",
    "unknown_event_type",
    "oversized_text",
    "invalid_utf8",
)
_COUNTRIES = ("US", "DE", "BR", "IN", "JP", "FR", "NG", "MX")
_DEVICES = ("ios", "android", "web")
_TEXTS = (
    "loving the new trail running shoes, 10k done before breakfast",
    "can anyone recommend a good sourdough starter? mine keeps dying",
    "the final was unreal. what a goal in extra time!!",
    "quarterly numbers are out, thread below",
)
_TAGS = (["running", "fitness"], ["baking"], ["football", "final", "goal"], ["finance"])
_CATEGORIES = ("sports", "food", "sports", "business")


def landing_lines(n: int, seed: int = 15) -> tuple[list[bytes], Counter[str]]:
    """``n`` JSON lines shaped like the simulator's (its field order and spelling), about 5% corrupted."""
    rng = np.random.default_rng(seed)
    rates = {k: INVALID_SHARE / len(_BAD_KINDS) for k in _BAD_KINDS}
    n_valid = math.ceil(n / (1 + INVALID_SHARE)) + 100
    types = rng.choice(
        list(_TYPE_SHARE), size=n_valid, p=np.array(list(_TYPE_SHARE.values())) / sum(_TYPE_SHARE.values())
    )
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp()
    valid = []
    for i, event_type in enumerate(types.tolist()):
        event: dict[str, Any] = {
            "event_id": f"e{i:010d}",
            "event_type": event_type,
            "user_id": f"u{rng.integers(10**6)}",
        }
        if event_type in ("post", "view", "like", "share", "comment", "click"):
            event["post_id"] = f"p{rng.integers(10**7)}"
        if event_type in ("follow", "unfollow"):
            event["target_user_id"] = f"u{rng.integers(10**6)}"
        when = dt.datetime.fromtimestamp(start + float(rng.random()) * 28 * 86400, dt.UTC)
        event["ts"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if event_type == "view":
            event["dwell_ms"] = int(rng.integers(200, 60_000))
        pick = int(rng.integers(len(_TEXTS)))
        if event_type in ("post", "comment"):
            event["text"] = _TEXTS[pick]
        if event_type == "post":
            event["hashtags"] = _TAGS[pick]
        event["country"] = _COUNTRIES[int(rng.integers(len(_COUNTRIES)))]
        event["device"] = _DEVICES[int(rng.integers(len(_DEVICES)))]
        if event_type.startswith("ad_"):
            event["campaign_id"] = f"c{rng.integers(100)}"
        if event_type == "post":
            event["category"] = _CATEGORIES[pick]
        valid.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode())
    merged, recorded = corrupt_lines(valid, rates, rng, "bench")
    kept = Counter(kind for line_no, kind in recorded if line_no <= n)
    return merged[:n], kept


ParseLine = Callable[[bytes, parse.Limits], dict[str, Any]]


def outcomes(parse_line: ParseLine, lines: list[bytes]) -> list[str]:
    """Each line's outcome: "ok" or its reason."""
    out = []
    for line in lines:
        try:
            parse_line(line, _LIMITS)
            out.append("ok")
        except (parse.Rejected, Before15Rejected) as rej:
            out.append(rej.reason)
    return out


def one_pass(parse_line: ParseLine, lines: list[bytes]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) to parse every line once."""
    cpu, wall = time.process_time(), time.perf_counter()
    for line in lines:
        try:
            parse_line(line, _LIMITS)
        except (parse.Rejected, Before15Rejected):
            pass
    return time.process_time() - cpu, time.perf_counter() - wall


def file_step(columnar: bool, content: bytes) -> list[Any]:
    file = LandingFile("events/bench.jsonl", "file:///bench.jsonl", len(content), "0" * 64)
    return list(
        landing_lines_module.file_batches(content, file, fmt="json", limits=_LIMITS, mapping={}, columnar=columnar)
    )


def time_file_step(lines: list[bytes]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows and figures of the file step, per line against columnar, on files of FILE_LINES lines."""
    files = [b"\n".join(lines[i : i + FILE_LINES]) + b"\n" for i in range(0, len(lines), FILE_LINES)]
    paths = {"file step, per line (fast_event)": False, "file step, columnar (#17)": True}
    same = all(
        len(a) == len(b) and all(x.equals(y) for x, y in zip(a, b, strict=True))
        for a, b in ((file_step(True, f), file_step(False, f)) for f in files)
    )
    cpu: dict[str, list[list[float]]] = {name: [[] for _ in files] for name in paths}
    for rep in range(REPEATS):
        for k, content in enumerate(files):
            for name in list(paths) if (rep + k) % 2 == 0 else list(reversed(paths)):
                t0 = time.process_time()
                file_step(paths[name], content)
                cpu[name][k].append(time.process_time() - t0)
    rows = [
        {
            "implementation": name,
            "lines": len(lines),
            "best_cpu_s": sum(min(t) for t in cpu[name]),
            "lines_per_s": len(lines) / sum(min(t) for t in cpu[name]),
            "median_lines_per_s": len(lines) / sum(statistics.median(t) for t in cpu[name]),
        }
        for name in paths
    ]
    ratio = rows[1]["lines_per_s"] / rows[0]["lines_per_s"]
    ratio_median = rows[1]["median_lines_per_s"] / rows[0]["median_lines_per_s"]
    print(f"file step columnar/per-line: {ratio:.3f} (best CPU), {ratio_median:.3f} (median CPU); same: {same}")
    figures = {"file_lines": FILE_LINES, "ratio_columnar_over_per_line": ratio}
    return rows, figures | {"ratio_columnar_over_per_line_median": ratio_median, "file_step_batches_equal": same}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    load_before = os.getloadavg()
    lines, injected = landing_lines(n)
    t0 = time.perf_counter()
    parse._contract()  # the once-per-process compile, timed on its own
    compile_s = time.perf_counter() - t0
    impls: dict[str, ParseLine] = {
        "before #15 (hand-written)": before15_parse_line,
        "#15 schema (fastjsonschema)": parse.parse_line,
    }
    seen = {name: outcomes(fn, lines) for name, fn in impls.items()}
    old, new = seen.values()
    disagree = sum(a != b for a, b in zip(old, new, strict=True))
    # Each chunk is timed REPEATS times per implementation, the two back to back in alternating order, and a
    # total sums the chunks' best (or median) times: a burst of load from other work on the machine then
    # spoils one chunk's sample, not a whole pass of one implementation.
    chunks = [lines[i : i + CHUNK] for i in range(0, n, CHUNK)]
    cpu: dict[str, list[list[float]]] = {name: [[] for _ in chunks] for name in impls}
    wall: dict[str, list[list[float]]] = {name: [[] for _ in chunks] for name in impls}
    for rep in range(REPEATS):
        for k, chunk in enumerate(chunks):
            for name in list(impls) if (rep + k) % 2 == 0 else list(reversed(impls)):
                c, w = one_pass(impls[name], chunk)
                cpu[name][k].append(c)
                wall[name][k].append(w)
    best_cpu = {name: sum(min(times) for times in cpu[name]) for name in impls}
    median_cpu = {name: sum(statistics.median(times) for times in cpu[name]) for name in impls}
    best_wall = {name: sum(min(times) for times in wall[name]) for name in impls}
    speed = {name: n / best_cpu[name] for name in impls}
    median_speed = {name: n / median_cpu[name] for name in impls}
    rows: list[dict[str, Any]] = []
    for name in impls:
        counts = Counter(seen[name])
        rows.append(
            {
                "implementation": name,
                "lines": n,
                "valid": counts["ok"],
                "rejected": n - counts["ok"],
                "best_cpu_s": best_cpu[name],
                "lines_per_s": speed[name],
                "median_lines_per_s": median_speed[name],
                "best_wall_lines_per_s": n / best_wall[name],
            }
        )
    old_name, new_name = impls
    ratio = speed[new_name] / speed[old_name]
    ratio_median = median_speed[new_name] / median_speed[old_name]
    print(f"ratio new/old: {ratio:.3f} (best CPU), {ratio_median:.3f} (median CPU); outcomes differing: {disagree}")
    file_rows, file_figures = time_file_step(lines)
    emit(
        "landing_parse",
        rows + file_rows,
        file_figures
        | {
            "load_average_1_5_15_before": load_before,
            "load_average_1_5_15_after": os.getloadavg(),
            "command": "python bench/bench_landing_parse.py " + str(n),
            "repeats": REPEATS,
            "chunk_lines": CHUNK,
            "ratio_new_over_old": ratio,
            "ratio_new_over_old_median": ratio_median,
            "outcome_disagreements": disagree,
            "injected_corruptions": dict(injected),
            "rejected_by_reason": dict(Counter(r for r in new if r != "ok")),
            "contract_compile_s": compile_s,
        },
    )


if __name__ == "__main__":
    main()
