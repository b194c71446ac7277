"""The features job: decide full or incremental from silver.events changes, build every gold feature table.

Incremental rule: the previous run's row in gold.features_watermark holds the silver.events version it
read. The event dates whose files were added or removed since that version (read from the Delta log
through delta-rs) give ``start`` = the earliest changed date; user and item snapshots are rewritten
for ``as_of_date >= start`` (a snapshot at D depends on days <= D only) and training examples for
``event_date >= min(start - 1, first validation date before and after)`` (labels look up to the
session gap into the next day; the split moves with the last date). A new vocabulary, a changed
``features`` config or a missing table makes the run full; a changed set of risky accounts
(gold.account_risk, rebuilt by part A every run) rewrites every training example.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from socialflywheel import progress
from socialflywheel.faults import kill_point
from socialflywheel.features import campaigns, risk, segments, sentiment, trends
from socialflywheel.features.coverage import category_vocabulary, survey
from socialflywheel.features.item_features import ITEM_FEATURES, build_item_features, item_feature_names
from socialflywheel.features.risk import risky_accounts
from socialflywheel.features.spans import Mode, Plan, date_spans, snapshot_spans, user_buckets, user_chunk_days
from socialflywheel.features.training_examples import (
    TRAINING_EXAMPLES,
    ExamplesFrom,
    build_training_examples,
    explain_source,
)
from socialflywheel.features.user_features import USER_FEATURES, build_user_features, user_feature_names
from socialflywheel.lake.catalog.stages import WATERMARK
from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

# Part A modules (another engineer's); their build_* functions are called when present.
# risk first: trends, campaign reach and training examples leave out the accounts it flags.
OUTPUTS = (USER_FEATURES.name, ITEM_FEATURES.name, TRAINING_EXAMPLES.name)


def features_config_hash(fc: FeaturesConfig) -> str:
    """A hash of the ``features`` section: a change forces a full rebuild."""
    return hashlib.sha256(fc.model_dump_json().encode()).hexdigest()[:16]


def _event_dates(lake: Lake, version: int | None = None) -> dict[str, dt.date]:
    """File path -> event_date partition of silver.events at a version (current when None)."""
    import pyarrow as pa
    from deltalake import DeltaTable

    table = DeltaTable(lake.path("silver.events"), version=version, storage_options=lake.storage_options)
    actions = pa.table(table.get_add_actions(flatten=True))
    dates = actions.column("partition.event_date").to_pylist()
    out = {
        p: d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
        for p, d in zip(actions.column("path").to_pylist(), dates, strict=True)
    }
    # A dated run (``Lake.bounded``) sees no day after its logical date: neither as data nor as a change.
    return out if lake.until is None else {p: d for p, d in out.items() if d <= lake.until}


def changed_event_dates(lake: Lake, *, since_version: int) -> set[dt.date] | None:
    """Event dates whose silver.events files were added or removed after ``since_version``.

    Returns:
        The changed dates (empty when nothing changed), or None when that version cannot be read
        any more (log cleaned up): the caller then rebuilds everything.
    """
    if lake.version("silver.events") == since_version:
        return set()
    try:
        before = _event_dates(lake, since_version)
    except Exception:  # a vacuumed or cleaned-up log: fall back to a full run
        log.warning("features: silver.events version %s is gone; full rebuild", since_version)
        return None
    now = _event_dates(lake)
    changed = set(before) ^ set(now)
    return {before.get(p) or now[p] for p in changed}


def last_watermark(lake: Lake) -> dict[str, Any] | None:  # a table row: its columns are the catalog's
    """The newest gold.features_watermark row, or None before the first run."""
    if not lake.exists(WATERMARK.name):
        return None
    rows = lake.read_arrow(WATERMARK.name).to_pylist()
    return max(rows, key=lambda r: r["run_at"]) if rows else None


def plan_run(fc: FeaturesConfig, lake: Lake, *, categories: list[str]) -> Plan:
    """Decide the mode (full, incremental or noop) and the first dates to rebuild.

    A dated run (``lake.until``) plans over the days up to its date only; when the last run was for another date
    (a backfill of an earlier day, or the next day's run after one), that run's last day is rebuilt even if silver
    did not change, so the snapshot tables and the training split are those of this date.
    """
    max_date = max(_event_dates(lake).values())
    prev = last_watermark(lake)
    full = Plan("full", max_date)
    if (
        prev is None
        or prev["config_hash"] != features_config_hash(fc)
        or list(prev["categories"] or []) != categories
        or not all(lake.exists(name) for name in OUTPUTS)
    ):
        return full
    changed = changed_event_dates(lake, since_version=int(prev["silver_events_version"]))
    if changed is None:
        return full
    if prev["max_event_date"] != max_date:  # the last run was for another day (a backfill, or the day after one)
        changed = changed | {max_date}
    if not changed:
        return Plan("noop", max_date)
    start = min(changed)
    holdout = dt.timedelta(days=fc.test_days + fc.validation_days - 1)
    examples_start = min(start - dt.timedelta(days=1), prev["max_event_date"] - holdout, max_date - holdout)
    return Plan("incremental", max_date, start.isoformat(), examples_start.isoformat())


def risky_hash(spark: SparkSession, lake: Lake) -> str:
    """A hash of the sorted ids training examples leave out ("" when gold.account_risk is absent)."""
    risky = risky_accounts(spark, lake)
    if risky is None:
        return ""
    ids = sorted(r["user_id"] for r in risky.distinct().collect())
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StepInputs:
    """What a part-A builder may use besides the lake: the ``features`` section, k and the seed."""

    fc: FeaturesConfig
    k: int
    """The smallest publishable group (``privacy.min_group_users``)."""
    seed: int


@dataclass(frozen=True)
class Step:
    """One builder of the features job: its name in the summary and the call that writes its tables."""

    name: str
    build: Callable[[SparkSession, Lake, StepInputs], int]


def part_a_steps() -> tuple[Step, ...]:
    """The builders that run before training examples, in order.

    Account risk comes first (the others and the training examples leave risky accounts out), then trends,
    sentiment, campaigns and segments.

    An explicit list (before: every ``build_*`` of modules found by name, a missing module skipped silently).
    """
    return (
        Step("risk.build_account_risk", lambda s, lake, i: risk.build_account_risk(s, lake, i.fc)),
        Step("trends.build_hashtag_trends", lambda s, lake, i: trends.build_hashtag_trends(s, lake, i.fc)),
        Step("sentiment.build_post_sentiment", lambda s, lake, i: sentiment.build_post_sentiment(s, lake, k=i.k)),
        Step(
            "campaigns.build_campaign_performance",
            lambda s, lake, i: campaigns.build_campaign_performance(s, lake, k=i.k),
        ),
        Step("segments.build_segments", lambda s, lake, i: segments.build_segments(s, lake, i.fc, k=i.k, seed=i.seed)),
    )


def _timed(seconds: dict[str, float], name: str, build: Callable[[], int], bar: progress.Task | None = None) -> int:
    """Run one step, logging it (and naming it on ``bar``) and recording its wall time under ``name``.

    The process's peak RSS so far goes under ``name + " peak MiB"``: the step where it jumps is the one that set the
    job's peak (the engine runs in this process in the embedded default).
    """
    import resource

    log.info("features: %s", name)
    if bar is not None:
        bar.describe(f"features: {name}")
    t0 = time.perf_counter()
    rows = build()
    seconds[name] = round(time.perf_counter() - t0, 2)
    seconds[f"{name} peak MiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return rows


def _run_part_a(
    spark: SparkSession, lake: Lake, inputs: StepInputs, seconds: dict[str, float], bar: progress.Task | None = None
) -> dict[str, int]:
    """Run every step of :func:`part_a_steps` in order; rows written per step (wall time into ``seconds``)."""
    rows: dict[str, int] = {}
    for step in part_a_steps():
        rows[step.name] = _timed(seconds, step.name, functools.partial(step.build, spark, lake, inputs), bar)
        if bar is not None:
            bar.advance()
    return rows


@dataclass(kw_only=True)
class FeaturesResult(JobResult):
    """A features run: what it rebuilt and the rows it wrote per table."""

    mode: Mode
    """full, incremental, or noop (nothing new in silver.events)."""
    reason: str | None = None
    """Why nothing was built, when nothing was."""
    categories: list[str] = field(default_factory=list)
    """The category vocabulary (positions of ``category_affinity``); ``unknown`` stands for posts without one."""
    missing: list[str] = field(default_factory=list)
    """Optional event fields no event carries (``coverage.USES``), each logged with what the job did without it."""
    features_since: str | None = None
    """First as-of date of the snapshots rewritten (ISO); None: all."""
    examples_since: str | None = None
    """First event date of the training examples rewritten (ISO); None: all."""
    tables: dict[str, int] = field(default_factory=dict)
    """Rows written per snapshot and training-example table."""
    part_a: dict[str, int] = field(default_factory=dict)
    """Rows written per part-A step (risk, trends, sentiment, campaigns, segments)."""
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each step (snapshots, part A, training examples), the first thing to read when it is slow, and the
    process's peak RSS after it (``<step> peak MiB``)."""


def run_features(spark: SparkSession, lake: Lake, fc: FeaturesConfig, *, k: int, seed: int) -> FeaturesResult:
    """Build gold.user_features, item_features, part A's tables and training_examples, fully or incrementally.

    Args:
        spark: the session.
        lake: the lake with silver tables; gold tables are written to it.
        fc: the ``features`` section.
        k: the smallest publishable group in the aggregates (``privacy.min_group_users``).
        seed: the seed of the randomized steps (segments' k-means).

    Returns:
        The mode, first rebuilt dates, rows per table, ``rows_in`` (silver events) and ``rows_out`` (rows written
        in the rebuilt partitions), seconds.
    """
    import pyarrow as pa

    from socialflywheel.lake.maintenance import describe

    started = time.perf_counter()
    info = describe(lake, "silver.events")
    if info is None or not info["rows"]:
        return FeaturesResult(mode="noop", reason="silver.events is empty")
    if not _event_dates(lake):
        return FeaturesResult(mode="noop", reason=f"silver.events has no day on or before {lake.until}")
    version = int(info["version"])
    cats = category_vocabulary(lake)
    plan = plan_run(fc, lake, categories=cats)
    result = FeaturesResult(
        mode=plan.mode,
        rows_in=int(info["rows"]),
        categories=cats,
        features_since=plan.features_since,
        examples_since=plan.examples_since,
    )
    if plan.mode == "noop":
        log.info("features: nothing new in silver.events since version %s", version)
        return result
    coverage = survey(lake.read(spark, "silver.events"))
    result.missing = coverage.missing
    examples_from: ExamplesFrom = "views" if coverage.views else "engagements"
    explain_source(examples_from)
    since = plan.features_since
    steps = result.step_seconds
    first = min(_event_dates(lake).values())
    spans = snapshot_spans(plan, first, chunk_days=fc.chunk_days)
    user_spans = snapshot_spans(plan, first, chunk_days=user_chunk_days(fc))
    people = describe(lake, "silver.users")
    buckets = user_buckets(fc, int(people["rows"]) if people else 0)

    planned = len(user_spans) + len(spans) + len(part_a_steps())
    planned += len(date_spans(plan.examples_since, first, plan.max_event_date, chunk_days=fc.chunk_days))
    with progress.task("features", total=planned, unit="steps") as bar:

        def chunked(
            build: Callable[[str | None, str | None], int], over: list[tuple[str | None, str | None]] = spans
        ) -> Callable[[], int]:
            def run() -> int:
                rows = 0
                for s, u in over:
                    rows += build(s, u)
                    bar.advance()
                return rows

            return run

        tables = {
            USER_FEATURES.name: _timed(
                steps,
                USER_FEATURES.name,
                chunked(
                    lambda s, u: build_user_features(
                        spark, lake, fc, categories=cats, since=s, until=u, buckets=buckets
                    ),
                    user_spans,
                ),
                bar,
            ),
            ITEM_FEATURES.name: _timed(
                steps,
                ITEM_FEATURES.name,
                chunked(lambda s, u: build_item_features(spark, lake, fc, since=s, until=u)),
                bar,
            ),
        }
        kill_point("features.after_snapshots")
        part_a = _run_part_a(spark, lake, StepInputs(fc, k, seed), steps, bar)
        kill_point("features.after_part_a")
        risky = risky_hash(spark, lake)
        prev = last_watermark(lake)
        if plan.mode == "incremental" and prev is not None and prev.get("risky_hash") != risky:
            log.info("features: the risky accounts changed; every training example is rewritten")
            plan = dataclasses.replace(plan, examples_since=None)
            result.examples_since = None
        example_spans = date_spans(plan.examples_since, first, plan.max_event_date, chunk_days=fc.chunk_days)
        bar.set_total(len(user_spans) + len(spans) + len(part_a_steps()) + len(example_spans))
        tables[TRAINING_EXAMPLES.name] = _timed(
            steps,
            TRAINING_EXAMPLES.name,
            chunked(
                lambda s, u: build_training_examples(
                    spark, lake, fc, categories=cats, since=s, until=u, examples_from=examples_from
                ),
                example_spans,
            ),
            bar,
        )
    kill_point("features.before_watermark")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rebuilt = dt.date.fromisoformat(since) if since else None
    lake.write_arrow(
        pa.table(
            {
                "run_id": [uuid.uuid4().hex],
                "run_at": pa.array([now], pa.timestamp("us")),
                "mode": [plan.mode],
                "silver_events_version": pa.array([version], pa.int64()),
                "max_event_date": pa.array([plan.max_event_date], pa.date32()),
                "rebuilt_from": pa.array([rebuilt], pa.date32()),
                "config_hash": [features_config_hash(fc)],
                "categories": pa.array([cats], pa.list_(pa.string())),
                "user_feature_names": pa.array(
                    [user_feature_names(windows_days=fc.windows_days, categories=cats)], pa.list_(pa.string())
                ),
                "item_feature_names": pa.array(
                    [item_feature_names(velocity_hours=fc.velocity_hours)], pa.list_(pa.string())
                ),
                "risky_hash": [risky],
            }
        ),
        WATERMARK.name,
    )
    result.tables = tables
    result.part_a = part_a
    result.rows_out = sum(tables.values()) + sum(part_a.values())
    result.seconds = round(time.perf_counter() - started, 2)
    log.info("features: %s run, %s", plan.mode, tables)
    return result
