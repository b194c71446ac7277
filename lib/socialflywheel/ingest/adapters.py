"""Adapters from real public formats to landing events, so they flow through the same ingest and conform.

- SNAP-style edge lists (``# comment`` lines, then ``src<whitespace>dst`` per line): follow events.
- MovieLens-style ratings (``u.data``: ``user<TAB>item<TAB>rating<TAB>epoch``; ``ratings.csv`` with a
  ``userId,movieId,rating,timestamp`` header; or RecBole's atomic ``.inter`` files with a typed header),
  with the movie list (``u.item``, ``movies.csv`` or an atomic ``.item``) for
  categories: a post event per movie, a view per rating and a like per rating >= ``like_threshold``.

Event ids are derived from the source name and line, so re-adapting the same file gives the same
ids and ingest takes nothing twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ML_GENRES = (
    "unknown", "action", "adventure", "animation", "children", "comedy", "crime", "documentary", "drama",
    "fantasy", "film-noir", "horror", "musical", "mystery", "romance", "sci-fi", "thriller", "war", "western",
)  # fmt: skip


@dataclass(frozen=True)
class AdaptResult:
    """What an adapter wrote."""

    path: Path
    events: int
    skipped_lines: int


def _event_id(source: str, *parts: object) -> str:
    return "a" + hashlib.sha256("|".join([source, *map(str, parts)]).encode()).hexdigest()[:24]


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _write(events: Iterable[dict[str, Any]], out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for event in events:
            fh.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(out)  # a landing file appears whole or not at all
    return n


def snap_edges(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, src, dst) of a SNAP edge list; comments and blank lines skipped."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith(("#", "%")):
                continue
            parts = text.split()
            if len(parts) < 2:
                raise ValueError(f"{path}:{number}: expected 'src dst', got {text[:60]!r}")
            yield number, parts[0], parts[1]


def adapt_snap(
    path: Path, landing_dir: Path, *, name: str, followed_at: dt.datetime, user_prefix: str = "snap-"
) -> AdaptResult:
    """A SNAP edge list as follow events (``src`` follows ``dst``) at ``followed_at``."""
    ts = _iso(followed_at)
    day = followed_at.astimezone(dt.UTC).date().isoformat()

    def events() -> Iterator[dict[str, Any]]:
        for number, src, dst in snap_edges(path):
            yield {
                "event_id": _event_id(name, number, src, dst),
                "event_type": "follow",
                "user_id": f"{user_prefix}{src}",
                "target_user_id": f"{user_prefix}{dst}",
                "ts": ts,
                "source": name,
            }

    out = landing_dir / "events" / f"date={day}" / f"adapter-{name}.jsonl"
    return AdaptResult(out, _write(events(), out), 0)


def _ratings_rows(path: Path) -> Iterator[tuple[int, str, str, float, int]]:
    """(line, user, item, rating, epoch seconds) from u.data (tab-separated) or ratings.csv."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        for number, row in enumerate(reader, start=2):
            yield number, row["userId"], row["movieId"], float(row["rating"]), int(row["timestamp"])
        return
    lines = text.splitlines()
    start = 1
    if lines and ":token" in lines[0]:  # RecBole atomic file: a typed header names the columns
        header = [h.split(":")[0] for h in lines[0].split("\t")]
        cols = [header.index(c) for c in ("user_id", "item_id", "rating", "timestamp")]
        lines, start = lines[1:], 2
    else:
        cols = [0, 1, 2, 3]
    for number, line in enumerate(lines, start=start):
        if line.strip():
            fields = line.split("\t")
            user, item, rating, epoch = (fields[c] for c in cols)
            yield number, user, item, float(rating), int(float(epoch))


def _movie_categories(path: Path | None) -> dict[str, str]:
    """Movie id -> a category: its first listed genre, lower-case."""
    if path is None or not path.exists():
        return {}
    cats: dict[str, str] = {}
    text = path.read_text(encoding="latin-1")
    if text.startswith("item_id:token"):  # RecBole atomic .item: genres in a space-separated "class" field
        rows = [line.split("\t") for line in text.splitlines()]
        at = [h.split(":")[0] for h in rows[0]].index("class")
        return {r[0]: (r[at].split(" ")[0].lower() or "unknown") for r in rows[1:] if len(r) > at}
    if path.suffix == ".csv":
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            cats[row["movieId"]] = row["genres"].split("|")[0].lower()
        return cats
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) >= 5 + len(ML_GENRES):
            flags = fields[-len(ML_GENRES) :]
            genre = next((g for g, f in zip(ML_GENRES, flags, strict=True) if f == "1"), "unknown")
            cats[fields[0]] = genre
    return cats


def adapt_ratings(
    ratings: Path,
    landing_dir: Path,
    *,
    name: str,
    movies: Path | None = None,
    like_threshold: float = 4.0,
    user_prefix: str = "ml-",
) -> AdaptResult:
    """MovieLens-style ratings as interactions: a post per movie (at its first rating), views and likes."""
    rows = sorted(_ratings_rows(ratings), key=lambda r: (r[4], r[0]))
    cats = _movie_categories(movies)
    first_seen: dict[str, int] = {}
    for _, _, item, _, epoch in rows:
        first_seen.setdefault(item, epoch)

    def events() -> Iterator[dict[str, Any]]:
        for item, epoch in sorted(first_seen.items(), key=lambda kv: (kv[1], kv[0])):
            yield {
                "event_id": _event_id(name, "post", item),
                "event_type": "post",
                "user_id": f"{user_prefix}studio",
                "post_id": f"{user_prefix}m{item}",
                "ts": _iso(dt.datetime.fromtimestamp(epoch - 1, dt.UTC)),
                "category": cats.get(item, "unknown"),
                "hashtags": [],
            }
        for number, user, item, rating, epoch in rows:
            base = {"user_id": f"{user_prefix}{user}", "post_id": f"{user_prefix}m{item}", "rating": rating}
            ts = dt.datetime.fromtimestamp(epoch, dt.UTC)
            yield {"event_id": _event_id(name, number, "view"), "event_type": "view", "ts": _iso(ts), **base}
            if rating >= like_threshold:
                liked = ts + dt.timedelta(seconds=1)
                yield {"event_id": _event_id(name, number, "like"), "event_type": "like", "ts": _iso(liked), **base}

    day = dt.datetime.fromtimestamp(rows[-1][4], dt.UTC).date().isoformat() if rows else "unknown"
    out = landing_dir / "events" / f"date={day}" / f"adapter-{name}.jsonl"
    return AdaptResult(out, _write(events(), out), 0)
