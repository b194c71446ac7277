"""A public dump through the user path with no hand-written code (#18): Twitter/X v2 tweets -> ingest -> features ->
graph -> report, each a `flywheel` command.

The dump is written in the platform's format from the simulated world (nothing can be downloaded here): its posts
as tweets, its shares as retweets, its comments as replies. A tweet dump holds no views, likes, follows or post
categories, so the jobs must cope with all of that missing at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from socialflywheel.config import load_config
from socialflywheel.lake.io import Lake
from socialflywheel.simulate.platform_dump import as_twitter_v2, decoded
from tests.conftest import REPO

FLYWHEEL = Path(sys.executable).parent / "flywheel"


def flywheel(*args: str, work: Path) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [str(FLYWHEEL), *args, "--set", f"work_dir={work}"], capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, f"flywheel {' '.join(args)}: {out.stderr[-3000:]}"
    return out


def test_twitter_v2_dump_through_ingest_features_graph_report(tmp_path: Path) -> None:
    sim = tmp_path / "sim"
    flywheel("simulate", "--set", "simulate.profile=tiny", "--set", "simulate.corruption.enabled=false", work=sim)
    lines = [ln for p in sorted((sim / "landing").rglob("*.jsonl")) for ln in p.read_bytes().splitlines()]
    tweets = list(as_twitter_v2(decoded(lines)))
    work = tmp_path / "work"
    dump = work / "landing" / "events" / "tweets.jsonl"
    dump.parent.mkdir(parents=True)
    dump.write_text("".join(json.dumps(t) + "\n" for t in tweets), encoding="utf-8")
    posts = {t["id"] for t in tweets if "referenced_tweets" not in t}
    retweets = sum(1 for t in tweets if t.get("referenced_tweets", [{}])[0].get("type") == "retweeted")
    replies = len(tweets) - len(posts) - retweets
    assert len(posts) > 300 and retweets > 100 and replies > 100  # the tiny world's size

    flywheel("ingest", "--source", "twitter-v2", work=work)
    lake = Lake.from_config(load_config(REPO / "conf" / "local.yaml", [f"work_dir={work}"]))
    bronze = lake.read_arrow("bronze.events", columns=["event_type"]).column("event_type").to_pylist()
    # every tweet a post; a reply also a comment; a retweet a share (its original's post is its own line)
    assert bronze.count("post") == len(posts) + replies and bronze.count("comment") == replies
    assert bronze.count("share") == retweets and lake.read_arrow("bronze.quarantine").num_rows == 0

    flywheel("features", work=work)
    item = lake.read_arrow("gold.item_features")
    assert item.num_rows > 0 and lake.read_arrow("gold.user_features").num_rows > 0
    categories = set(item.column("category").to_pylist())
    assert categories == {"unknown"}  # a tweet has no category: every post counts as unknown
    assert lake.read_arrow("gold.hashtag_trends").num_rows > 0

    graph = flywheel("graph", work=work)
    assert "engagement" in (graph.stdout + graph.stderr)  # no follows in a tweet dump: it says which graph it used
    assert lake.read_arrow("gold.graph_centrality").num_rows > 0

    flywheel("report", work=work)
    text = (work / "report" / "report.html").read_text(encoding="utf-8")
    top_tags = {r["hashtag"] for r in lake.read_arrow("gold.hashtag_trends").to_pylist()}
    assert any(f"#{tag}" in text or f">{tag}<" in text for tag in top_tags)  # the dump's hashtags reach the report
