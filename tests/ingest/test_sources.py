"""Source mappings: public platform formats and your own logs, mapped onto the landing contract inside ingest.

The fixtures in ``sources/`` are hand-written from each platform's published schema (Twitter/X v1.1 and v2 tweet
objects, Mastodon's Status entity, Bluesky records as Jetstream sends them, Reddit's t3/t1 things); nothing is
downloaded. Each profile's expected events are written out here as known answers.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import REPO

from socialflywheel.config import ConfigError, FlywheelConfig, load_config
from socialflywheel.ingest import run_ingest
from socialflywheel.ingest.landing import LandingError
from socialflywheel.ingest.mapping import Mapper, SourceError, SourceMapping, load_source, read_path, read_ts
from socialflywheel.ingest.parse import Limits, Rejected
from socialflywheel.lake.io import Lake
from socialflywheel.lake.storage import StorageError

FIXTURES = Path(__file__).parent / "sources"
LIMITS = Limits()

# (line, event_type, event_id, user_id, post_id or target_user_id, ts in UTC) per profile; rejected lines as
# (line, reason, detail prefix).
EXPECTED: dict[str, tuple[list[tuple[int, str, str, str, str, str]], list[tuple[int, str, str]]]] = {
    "twitter-v1": (
        [
            (1, "post", "post:1050118621198921728", "6253282", "1050118621198921728", "2018-10-10T20:19:24"),
            (2, "share", "share:1050128848555098112", "783214", "1050118621198921728", "2018-10-10T21:00:02"),
            (2, "post", "post:1050118621198921728", "6253282", "1050118621198921728", "2018-10-10T20:19:24"),
            (3, "comment", "reply:1050298715423305728", "2244994945", "1050118621198921728", "2018-10-11T08:15:00"),
            (3, "post", "post:1050298715423305728", "2244994945", "1050298715423305728", "2018-10-11T08:15:00"),
            (4, "share", "quote:1050317788622684160", "783214", "1050118621198921728", "2018-10-11T09:30:45"),
            (4, "post", "post:1050317788622684160", "783214", "1050317788622684160", "2018-10-11T09:30:45"),
        ],
        [(5, "unmapped", "record: skipped by rule deletion notice"), (6, "bad_timestamp", "ts: '2018-10-11 12:00'")],
    ),
    "twitter-v2": (
        [
            (1, "post", "post:1212092628029698048", "2244994945", "1212092628029698048", "2019-12-31T19:26:16"),
            (2, "share", "share:1212100000000000001", "783214", "1212092628029698048", "2019-12-31T20:01:02"),
            (2, "post", "post:1212092628029698048", "2244994945", "1212092628029698048", "2019-12-31T19:26:16"),
            (3, "comment", "reply:1212105000000000002", "6253282", "1212092628029698048", "2019-12-31T20:15:00"),
            (3, "post", "post:1212105000000000002", "6253282", "1212105000000000002", "2019-12-31T20:15:00"),
            (4, "share", "quote:1212110000000000003", "783214", "1212092628029698048", "2020-01-01T09:00:00"),
            (4, "post", "post:1212110000000000003", "783214", "1212110000000000003", "2020-01-01T09:00:00"),
        ],
        [(5, "missing_field", "user_id (rule tweet)")],
    ),
    "mastodon": (
        [
            (1, "post", "post:103270115826048975", "1", "103270115826048975", "2019-12-08T03:48:33.901000"),
            (2, "share", "share:103270200000000001", "2", "103270115826048975", "2019-12-08T04:00:00"),
            (2, "post", "post:103270115826048975", "1", "103270115826048975", "2019-12-08T03:48:33.901000"),
            (3, "comment", "reply:103270300000000002", "3", "103270115826048975", "2019-12-08T05:30:00"),
            (3, "post", "post:103270300000000002", "3", "103270300000000002", "2019-12-08T05:30:00"),
        ],
        [(4, "bad_timestamp", "ts: 'yesterday' is not iso8601 (rule status)")],
    ),
    "bluesky": (
        [
            (
                1,
                "post",
                "at://A/app.bsky.feed.post/3l3pte3p2e325",
                "A",
                "at://A/app.bsky.feed.post/3l3pte3p2e325",
                "2024-09-09T19:46:02.329308",
            ),
            (
                2,
                "like",
                "at://B/app.bsky.feed.like/3l3qo2vuowo2b",
                "B",
                "at://A/app.bsky.feed.post/3l3pte3p2e325",
                "2024-09-09T19:46:40",
            ),
            (
                3,
                "share",
                "at://C/app.bsky.feed.repost/3l3qo3aaaaa2b",
                "C",
                "at://A/app.bsky.feed.post/3l3pte3p2e325",
                "2024-09-09T19:48:20",
            ),
            (4, "follow", "at://C/app.bsky.graph.follow/3l3qo4bbbbb2b", "C", "A", "2024-09-09T19:50:00"),
            (
                5,
                "post",
                "at://B/app.bsky.feed.post/3l3qo5ccccc2b",
                "B",
                "at://B/app.bsky.feed.post/3l3qo5ccccc2b",
                "2024-09-09T19:51:40",
            ),
            (
                5,
                "comment",
                "reply:at://B/app.bsky.feed.post/3l3qo5ccccc2b",
                "B",
                "at://A/app.bsky.feed.post/3l3pte3p2e325",
                "2024-09-09T19:51:40",
            ),
        ],
        [
            (6, "unmapped", "record: skipped by rule not a create"),
            (7, "unmapped", "record: skipped by rule not a commit"),
        ],
    ),
    "reddit": (
        [
            (1, "post", "t3_abc123", "spez", "t3_abc123", "2019-01-01T00:00:00"),
            (2, "comment", "t1_ed1", "kn0thing", "t3_abc123", "2019-01-01T01:00:00"),
            (4, "post", "t3_def456", "someone", "t3_def456", "2019-01-02T00:46:40"),
        ],
        [(3, "unmapped", "record: skipped by rule deleted author"), (5, "missing_field", "ts (rule comment)")],
    ),
}
DIDS = {
    "did:plc:eygmaihciaxprqvxpfvl6flk": "A",
    "did:plc:wa7b35aakoll7hugkrjtf3xf": "B",
    "did:plc:z72i7hdynmk6r22z27h6tvur": "C",
}


def _short(text: str | None) -> str:
    for did, name in DIDS.items():
        text = (text or "").replace(did, name)
    return text


def _row(line: int, e: dict[str, Any]) -> tuple[int, str, str, str, str, str]:
    target = e["post_id"] if e["post_id"] is not None else e["target_user_id"]
    when = e["ts"].astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    return (line, e["event_type"], _short(e["event_id"]), _short(e["user_id"]), _short(target), when)


def _mapped(name: str) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    mapper = Mapper(load_source(name))
    events, rejected = [], []
    for line, text in enumerate((FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        try:
            events += [(line, e) for e in mapper.apply(json.loads(text), LIMITS)]
        except Rejected as rej:
            rejected.append((line, rej.reason, rej.detail))
    return events, rejected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_maps_published_schema_fixture(name: str) -> None:
    events, rejected = _mapped(name)
    want_events, want_rejected = EXPECTED[name]
    assert [_row(line, e) for line, e in events] == want_events
    assert [(line, reason) for line, reason, _ in rejected] == [(line, reason) for line, reason, _ in want_rejected]
    for (_, _, detail), (_, _, prefix) in zip(rejected, want_rejected, strict=True):
        assert detail.startswith(prefix), detail


def test_profiles_read_hashtags_texts_and_extras() -> None:
    tw1 = {(e["event_id"], line): e for line, e in _mapped("twitter-v1")[0]}
    post = tw1["post:1050118621198921728", 1]
    assert (
        post["hashtags"] == ["Twitter", "emoji"] and post["country"] == "US" and post["device"] == "Twitter Web Client"
    )
    assert dict(post["extras"]) == {"lang": "en", "mentions": "[]"} or dict(post["extras"]) == {"lang": "en"}
    quote = tw1["post:1050317788622684160", 4]  # a truncated tweet: the full text and hashtags of extended_tweet
    assert quote["text"].endswith("counting characters #dev") and quote["hashtags"] == ["emoji", "dev"]
    share = tw1["share:1050128848555098112", 2]
    assert dict(share["extras"])["mentions"] == '["6253282"]'
    # the original carried by a retweet has the original's fields, not the retweet's extras
    assert (
        tw1["post:1050118621198921728", 2]["extras"] == []
        and tw1["post:1050118621198921728", 2]["text"] == post["text"]
    )

    masto = {e["event_id"]: e for _, e in _mapped("mastodon")[0]}
    assert masto["post:103270115826048975"]["text"] == "Hello #fediverse & friends\n\nsecond paragraph"
    assert masto["post:103270115826048975"]["hashtags"] == ["fediverse"]
    assert masto["reply:103270300000000002"]["text"] == "@alice welcome! #intro"
    assert masto["post:103270300000000002"]["device"] == "Tusky"

    sky = {_short(e["event_id"]): e for _, e in _mapped("bluesky")[0]}
    assert sky["at://A/app.bsky.feed.post/3l3pte3p2e325"]["hashtags"] == ["atproto", "bsky"]  # tag facets, not links
    assert dict(sky["at://A/app.bsky.feed.post/3l3pte3p2e325"]["extras"]) == {"langs": '["en"]'}

    reddit = {e["event_id"]: e for _, e in _mapped("reddit")[0]}
    assert reddit["t3_abc123"]["text"] == "Happy new year #2019\n\nThanks for a great year."
    assert (
        reddit["t3_abc123"]["hashtags"] == ["2019"]
        and dict(reddit["t3_abc123"]["extras"])["category"] == "announcements"
    )
    assert reddit["t3_def456"]["text"] == "Sunrise"  # a link post: no self-text, no dangling blank lines

    v2 = {(e["event_id"], line): e for line, e in _mapped("twitter-v2")[0]}
    assert v2["post:1212092628029698048", 1]["hashtags"] == ["TwitterDev", "API"]
    assert v2["post:1212092628029698048", 2]["hashtags"] == ["TwitterDev", "API"]  # the expanded original


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_through_ingest_reconciles_and_rerun_adds_nothing(
    name: str, spark: Any, work: FlywheelConfig, lake: Lake
) -> None:
    """Fixture -> flywheel's ingest (on the engine) -> bronze holds exactly the mapped events, each once."""
    events, rejected = _mapped(name)
    landing = work.landing_dir / "events"
    landing.mkdir(parents=True)
    shutil.copy(FIXTURES / f"{name}.jsonl", landing / "part-1.jsonl")
    work.ingest.source = name
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    ids = [e["event_id"] for _, e in events]
    unique = list(dict.fromkeys(ids))
    assert out.reconciled and out.rows_in == len(events) + len(rejected)
    assert out.rows_new == len(unique)
    repeats = len(ids) - len(unique)  # an original carried by a retweet after its own line: taken once
    assert out.quarantined_by_reason == dict(
        sorted(
            {
                **{r: sum(1 for _, x, _ in rejected if x == r) for _, r, _ in rejected},
                **({"duplicate": repeats} if repeats else {}),
            }.items()
        )
    )
    bronze = {r["event_id"]: r for r in lake.read_arrow("bronze.events").to_pylist()}
    assert sorted(bronze) == sorted(unique)
    first = {}
    for line, e in events:
        first.setdefault(e["event_id"], (line, e))
    for event_id, (_line, e) in first.items():
        row = bronze[event_id]
        assert (row["event_type"], row["user_id"], row["post_id"], row["target_user_id"]) == (
            e["event_type"],
            e["user_id"],
            e["post_id"],
            e["target_user_id"],
        )
        assert (
            row["ts"].replace(tzinfo=dt.UTC) == e["ts"]
            and row["hashtags"] == e["hashtags"]
            and row["text"] == e["text"]
        )
    quarantine = lake.read_arrow("bronze.quarantine").to_pylist()
    lines = (FIXTURES / f"{name}.jsonl").read_bytes().splitlines()
    for q in quarantine:  # each rejected record kept with its bytes
        assert q["raw"] == lines[q["line_no"] - 1]
    # The same dump delivered again under another name: nothing new.
    shutil.copy(FIXTURES / f"{name}.jsonl", landing / "part-2-redelivered.jsonl")
    again = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert again.rows_new == 0 and again.reconciled
    assert sorted(r["event_id"] for r in lake.read_arrow("bronze.events").to_pylist()) == sorted(unique)


APP_LOG = """
name: my-app
event_types: {impression: view, tap: click, heart: like}
rules:
  - name: app event
    emit:
      - event_id: id
        event_type: {path: kind, map: {hearted: heart}}
        user_id: actor.id
        post_id: item.id
        ts: {path: at, format: "%d/%m/%Y %H:%M:%S"}
        dwell_ms: {path: dwell, default: 0}
        country: {path: geo.country, default: unknown}
        device: {path: client, map: {"1": ios, "2": android}}
"""


def _app_mapper(tmp_path: Path, text: str = APP_LOG) -> Mapper:
    path = tmp_path / "my-app.yaml"
    path.write_text(text, encoding="utf-8")
    load_source.cache_clear()
    return Mapper(load_source(str(path)))


def test_own_event_types_nested_fields_and_strptime(tmp_path: Path) -> None:
    mapper = _app_mapper(tmp_path)
    rec = {
        "id": 7,
        "kind": "impression",
        "actor": {"id": 42},
        "item": {"id": "p9"},
        "at": "03/10/2026 14:05:09",
        "geo": {"country": "DE"},
        "client": 1,
    }
    (event,) = mapper.apply(rec, LIMITS)
    assert (event["event_id"], event["event_type"], event["user_id"], event["post_id"]) == ("7", "view", "42", "p9")
    assert event["ts"] == dt.datetime(2026, 10, 3, 14, 5, 9, tzinfo=dt.UTC)
    assert (event["dwell_ms"], event["country"], event["device"]) == (0, "DE", "ios")
    (hearted,) = mapper.apply({**rec, "kind": "hearted", "geo": {}}, LIMITS)  # value map, then the type map
    assert hearted["event_type"] == "like" and hearted["country"] == "unknown"
    with pytest.raises(Rejected) as rej:
        mapper.apply({**rec, "kind": "swipe"}, LIMITS)
    assert rej.value.reason == "unknown_event_type" and rej.value.detail.endswith("(rule app event)")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("name: x\nrules: [{name: a, emit: [{post_idd: p}]}]", "post_idd not an event field"),
        ("name: x\nrules: [{name: a}]", "give either emit (events) or skip: true"),
        ("name: x\nevent_types: {tap: tapp}\nrules: [{name: a, skip: true}]", "event_types map onto tapp"),
        ("name: x\nrules: [{name: a, emit: [{ts: {path: t, format: epoch_ns}}]}]", "format 'epoch_ns'"),
        ("name: x\nrules: [{name: a, emit: [{user_id: 'a..b['}]}]", "path 'a..b['"),
        ("name: x\nextras: {country: c}\nrules: [{name: a, skip: true}]", "extras: country are event fields"),
        ("name: x\nrules: [{name: a, skip: true}, {name: a, skip: true}]", "rule names repeat: a"),
        ("name: x\nrules: [{name: a, when: {}, skip: true}]", "a condition needs"),
        ("name: x\nevent_types: {like: keep}\nrules: [{name: a, skip: true}]", "like are core types already"),
    ],
)
def test_bad_mapping_file_is_one_line_naming_file_and_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    load_source.cache_clear()
    with pytest.raises(SourceError) as exc:
        load_source(str(path))
    text = str(exc.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and message in text, text


def test_config_names_an_unknown_source_and_refuses_both_mappings() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(REPO / "conf" / "local.yaml", ["ingest.source=twiter-v2"])
    assert "ingest.source" in str(exc.value) and "twitter-v2" in str(exc.value)  # the profiles are listed
    with pytest.raises(ConfigError, match="either source"):
        load_config(REPO / "conf" / "local.yaml", ["ingest.source=reddit", "ingest.field_mapping={a: user_id}"])
    assert load_config(REPO / "conf" / "local.yaml", ["ingest.source=bluesky"]).ingest.source == "bluesky"


def test_missing_or_empty_landing_is_an_error(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    with pytest.raises(StorageError, match=r"landing folder .*landing-typo does not exist; check the URI"):
        run_ingest(spark, lake, work.ingest, landing=work.landing_uri + "-typo", privacy=work.privacy)
    (work.landing_dir / "events").mkdir(parents=True)
    with pytest.raises(LandingError, match=r"no landing files under .*events/\*\.jsonl\): check ingest.landing_dir"):
        run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)


def test_a_path_no_record_holds_is_a_warning_naming_the_fields(
    spark: Any, work: FlywheelConfig, lake: Lake, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    typo = APP_LOG.replace("geo.country", "geo.contry")
    path = tmp_path / "typo.yaml"
    path.write_text(typo, encoding="utf-8")
    load_source.cache_clear()
    landing = work.landing_dir / "events"
    landing.mkdir(parents=True)
    recs = [
        {
            "id": f"e{i}",
            "kind": "tap",
            "actor": {"id": f"u{i}"},
            "item": {"id": "p1"},
            "at": "03/10/2026 14:05:09",
            "geo": {"country": "DE"},
        }
        for i in range(30)
    ]
    (landing / "app.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    work.ingest.source = str(path)
    with caplog.at_level(logging.WARNING, logger="socialflywheel.ingest.steps"):
        out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert out.rows_new == 30  # an optional field: the records are still taken (country falls back to its default)
    warnings = [r.getMessage() for r in caplog.records if "matched no record" in r.getMessage()]
    assert len(warnings) == 3, warnings  # the typo, and the dwell and client fields this app never sends
    typo_line = next(w for w in warnings if "geo.contry" in w)
    assert "geo.country" in typo_line and "actor.id" in typo_line  # the fields the batch does have
    assert any(" dwell matched" in w for w in warnings) and any(" client matched" in w for w in warnings)


# ---- properties --------------------------------------------------------------------------------------------------

_INSTANTS = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@settings(max_examples=300, deadline=None)
@given(when=_INSTANTS, offset_minutes=st.integers(-14 * 60, 14 * 60))
def test_every_timestamp_format_reads_back_the_instant(when: dt.datetime, offset_minutes: int) -> None:
    local = when.astimezone(dt.timezone(dt.timedelta(minutes=offset_minutes)))
    whole = when.replace(microsecond=0)
    assert read_ts(local.isoformat(), "iso8601") == when
    assert read_ts(when.isoformat().replace("+00:00", "Z"), "iso8601") == when
    assert read_ts(email.utils.format_datetime(local.replace(microsecond=0)), "rfc2822") == whole
    assert read_ts(local.strftime("%a %b %d %H:%M:%S %z %Y"), "twitter") == whole
    assert read_ts(local.strftime("%Y-%m-%d %H:%M:%S %z"), "%Y-%m-%d %H:%M:%S %z") == whole
    micros = (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    assert read_ts(micros, "epoch_us") == when
    assert read_ts(micros // 1000, "epoch_ms") == when.replace(microsecond=when.microsecond // 1000 * 1000)
    assert read_ts(micros // 1_000_000, "epoch_s") == whole
    assert read_ts(str(micros // 1_000_000), "epoch_s") == whole  # dumps that write numbers as text


_KEYS = st.text(alphabet="abcdefgh_$", min_size=1, max_size=5)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(record=st.dictionaries(_KEYS, _JSON, min_size=1, max_size=4), data=st.data())
def test_a_path_walked_from_the_record_reads_its_value(record: dict[str, Any], data: st.DataObject) -> None:
    """Oracle: walk the record by random steps while writing the path; read_path must find that value."""
    value: Any = record
    path = ""
    while isinstance(value, dict | list) and value and data.draw(st.booleans()):
        if isinstance(value, dict):
            key = data.draw(st.sampled_from(sorted(value)))
            path, value = f"{path}.{key}" if path else key, value[key]
        else:
            i = data.draw(st.integers(0, len(value) - 1))
            path, value = f"{path}[{i}]", value[i]
    if not path:
        return
    assert read_path(record, path) == value
    assert read_path(record, path + ".zz_missing") is None or isinstance(value, list)


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(st.fixed_dictionaries({"type": st.sampled_from(["a", "b"]), "id": st.integers(0, 9)}), max_size=6)
)
def test_filters_and_fan_out_against_a_comprehension(items: list[dict[str, Any]]) -> None:
    record = {"refs": items}
    assert read_path(record, "refs[].id") == [x["id"] for x in items]
    assert read_path(record, "refs[?type=a].id") == [x["id"] for x in items if x["type"] == "a"]


def test_mapping_pickles_for_parse_tasks_without_its_seen_paths() -> None:
    import pickle

    mapper = Mapper(load_source("reddit"))
    mapper.apply({"id": "x", "author": "a", "created_utc": 1546300800, "title": "t"}, LIMITS)
    copy = pickle.loads(pickle.dumps(mapper))
    assert copy.source == mapper.source and copy.take_seen() == 0 and mapper.take_seen() != 0
    assert isinstance(SourceMapping.model_validate(mapper.source.model_dump()), SourceMapping)


def test_every_mapping_key_is_documented() -> None:
    """docs/sources.md documents the mapping field by field: each model's keys appear there as `key`."""
    from socialflywheel.config.sources import Condition, FieldSpec, Rule

    text = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    for model in (SourceMapping, Rule, Condition, FieldSpec):
        missing = [name for name in model.model_fields if f"`{name}`" not in text]
        assert not missing, f"{model.__name__}: {missing} not in docs/sources.md"
    from socialflywheel.config.sources import TS_FORMATS
    from socialflywheel.ingest.mapping import source_names

    assert all(f"`{fmt}`" in text for fmt in TS_FORMATS) and all(f"`{n}`" in text for n in source_names())


def test_the_documented_example_mapping_maps_a_record() -> None:
    mapper = Mapper(load_source(str(REPO / "conf" / "sources" / "my-app.yaml")))
    rec = {
        "id": "a1",
        "kind": "hearted",
        "actor": {"id": "u1"},
        "item": {"id": "p1"},
        "at": "01/10/2026 08:00:00",
        "client": {"os": "android", "version": "5.2"},
    }
    (event,) = mapper.apply(rec, LIMITS)
    assert (event["event_type"], event["device"], event["dwell_ms"]) == ("like", "android", 0)
    assert dict(event["extras"]) == {"app_version": "5.2"}
    with pytest.raises(Rejected, match="skipped by rule heartbeat"):
        mapper.apply({**rec, "kind": "heartbeat"}, LIMITS)


def test_a_kept_source_type_reaches_silver_under_its_own_name(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    from socialflywheel.ingest import run_conform

    landing = work.landing_dir / "events"
    landing.mkdir(parents=True)
    base = {"actor": {"id": "u1"}, "item": {"id": "p1"}, "at": "03/10/2026 14:05:09", "client": {"os": "ios"}}
    recs = [
        {**base, "id": "b1", "kind": "bookmark"},
        {**base, "id": "t1", "kind": "tap"},
        {**base, "id": "s1", "kind": "swipe"},
    ]
    (landing / "app.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    work.ingest.source = str(REPO / "conf" / "sources" / "my-app.yaml")
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert (out.rows_new, out.quarantined_by_reason) == (2, {"unknown_event_type": 1})
    run_conform(spark, lake, work.privacy)
    types = sorted(lake.read_arrow("silver.events", columns=["event_type"]).column("event_type").to_pylist())
    assert types == ["bookmark", "click"]
