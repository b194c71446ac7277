"""The simulated world's events written as a public platform's dump, to try source mappings on realistic data.

Nothing can be downloaded here, so a Twitter/X API v2 dump is made from the simulator's landing events: its posts
as tweets, its shares as retweets, its comments as replies. Views, likes, follows, ads and categories have no place
in a tweet, so they are left out, as a real tweet dump lacks them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def as_twitter_v2(events: Iterable[object]) -> Iterator[dict[str, Any]]:
    """Contract events (decoded landing lines; anything else is skipped) as Twitter API v2 tweet objects."""
    for e in events:
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str) for k in ("event_id", "user_id", "ts")):
            continue
        kind, post = e.get("event_type"), e.get("post_id")
        if not isinstance(post, str):
            continue
        if kind == "post":
            tags = [{"start": 0, "end": len(t) + 1, "tag": t} for t in e.get("hashtags") or [] if isinstance(t, str)]
            yield {
                "id": post,
                "author_id": e["user_id"],
                "created_at": e["ts"],
                "text": e.get("text") or "",
                "entities": {"hashtags": tags},
                "lang": "en",
                "source": e.get("device"),
            }
        elif kind in ("share", "comment"):
            yield {
                "id": f"t{e['event_id']}",
                "author_id": e["user_id"],
                "created_at": e["ts"],
                "text": e.get("text") or "RT",
                "referenced_tweets": [{"type": "retweeted" if kind == "share" else "replied_to", "id": post}],
            }


def decoded(lines: Iterable[bytes | str]) -> Iterator[object]:
    """Each line's JSON value; lines that are not JSON are skipped."""
    for line in lines:
        try:
            yield json.loads(line)
        except ValueError:
            continue
