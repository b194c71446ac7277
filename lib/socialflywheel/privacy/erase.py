"""GDPR erasure: remove people, and everything derived from them, from every table of the lake.

The deletes (:mod:`socialflywheel.privacy.erase_tables`) go through ``MERGE ... USING <view of ids>``: a
``DELETE ... WHERE id = 'literal'`` would write the identifier into the Delta log, where it
survives vacuum. Erasure is logical here; ``flywheel maintain`` past the retention makes it
physical (vacuum of old files, log clean-up after a checkpoint).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.storage import join, remove_tree
from socialflywheel.privacy import suppression
from socialflywheel.privacy.erase_tables import (
    erase_quarantine,
    erase_table,
    erasure_plan,
    ids_view,
)
from socialflywheel.privacy.pseudonymize import pseudonym
from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

    from socialflywheel.config.models import PrivacyConfig
    from socialflywheel.lake.io import Lake
    from socialflywheel.tracking import Tracking

log = logging.getLogger(__name__)


def authored_posts(spark: SparkSession, lake: Lake, pseudonyms: Sequence[str]) -> list[str]:
    """Post ids whose author is one of the people (their posts go, with everything derived from them)."""
    from pyspark.sql import functions as F

    if not lake.exists("silver.posts"):
        return []
    rows = lake.read(spark, "silver.posts").where(F.col("author_id").isin(list(pseudonyms))).select("post_id").collect()
    return sorted({r["post_id"] for r in rows})


PHYSICAL_REMOVAL_NOTE = "physical removal completes when `flywheel maintain` runs past the retention"


@dataclass(kw_only=True)
class EraseResult(JobResult):
    """What an erasure removed: counts only, never an identifier.

    ``rows_in`` is 0; ``rows_out`` is the rows deleted over every table.
    """

    erasure_id: str
    """The erasure's id in audit.erasures."""
    people: int = 0
    """People named in the request (distinct ids)."""
    people_found: int = 0
    """People among them with events in the lake, as actor or target, before the deletes."""
    people_unknown: int = 0
    """People among them with no events in the lake (reported, not an error)."""
    tables: int = 0
    """Tables that lost rows."""
    rows_deleted: dict[str, int] = field(default_factory=dict)
    """Rows deleted per table, sorted by table name (tables that lost none left out)."""
    models_marked: int = 0
    """Registered model versions tagged as trained on erased data."""
    training_caches_dropped: int = 0
    """Earlier training runs' scratch folders (shards, checkpoints) deleted from the work directory."""
    note: str = PHYSICAL_REMOVAL_NOTE
    """What is left to do: the erasure is logical until maintenance vacuums the old files."""


def run_erase(
    spark: SparkSession,
    lake: Lake,
    privacy: PrivacyConfig,
    *,
    tracking: Tracking,
    work: Path,
    user_ids: Sequence[str] = (),
    request_id: str | None = None,
) -> EraseResult:
    """Erase people named by raw ids, or by a stored request (``flywheel erase-request``) holding their pseudonyms.

    Args:
        spark: the session that runs the deletes.
        lake: the tables to erase from; the erasure is recorded in audit.erasures.
        privacy: the ``privacy`` section (the pseudonymization key).
        tracking: the model registry whose versions trained on erased people are tagged.
        work: the work folder whose prepared training shards are dropped.
        user_ids: the people's raw ids; blanks and repeats are dropped.
        request_id: instead of ``user_ids``, a pending request of audit.erasure_requests: its pseudonyms are erased
            (the raw ids bronze and quarantine spell are found by pseudonymizing theirs) and the request is closed,
            its pseudonyms emptied.

    Returns:
        Counts per table and the number of people found; no identifiers.

    Raises:
        ValueError: no id was given, both or neither of ids and request, or the request is unknown (a request
            carried out already is a no-op that says so).
    """
    import pyarrow as pa

    from socialflywheel.privacy import requests

    erasure_id = uuid.uuid4().hex
    if bool(request_id) == bool(user_ids):
        raise ValueError("erase takes either --user ids or one --request id")
    requested = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    key = privacy.hmac_key()
    if request_id:
        request = requests.find_request(lake, request_id)
        if request.done:  # a re-run of the same request (an orchestrator's retry or re-run): nothing left to do
            log.info("erase: request %s was carried out by erasure %s", request_id, request.erasure_id)
            return EraseResult(
                erasure_id=str(request.erasure_id),
                people=request.people,
                note=f"request {request_id} was carried out already by erasure {request.erasure_id} at "
                f"{request.completed_at}; nothing to do",
            )
        pseudo = request.pseudonyms
        _check_readable(spark, lake)
        raw = requests.raw_ids_of(spark, lake, pseudo, key=key)
    else:
        raw = sorted({u for u in user_ids if u})  # exactly as given: " alice" is not "alice" (nothing trimmed)
        if not raw:
            raise ValueError("erase needs at least one --user id")
        _check_readable(spark, lake)  # all or nothing: a damaged table stops the erasure before its first delete
        pseudo = [pseudonym(u, key) for u in raw]
    posts = authored_posts(spark, lake, pseudo)
    views = {
        "raw": ids_view(spark, raw or ["\x00no-id"], "raw"),
        "pseudo": ids_view(spark, pseudo, "pseudo"),
        "post": ids_view(spark, posts or ["\x00no-post"], "post"),
    }
    found = _people_found(spark, lake, views)
    deleted: dict[str, int] = {}
    sizes = {"raw": len(raw) or 1, "pseudo": len(pseudo), "post": len(posts) or 1}
    for name in sorted(CATALOG):
        if lake.exists(name) and erasure_plan(CATALOG[name]):
            n = erase_table(spark, lake, name, views, sizes)
            if n:
                deleted[name] = n
    if lake.exists("bronze.quarantine"):
        n = erase_quarantine(spark, lake, [*raw, *posts])  # lines naming them, or posts of theirs
        if n:
            deleted["bronze.quarantine"] = deleted.get("bronze.quarantine", 0) + n
    for view in views.values():
        spark.catalog.dropTempView(view)
    suppression.add(lake, pseudo, key=key, erasure_id=erasure_id)  # re-delivered data never brings them back
    remove_tree(join(lake.root, "_staging"))  # raw bytes of killed batches (nothing runs beside an erase)
    marked = mark_models(
        tracking,
        touched="gold.training_examples" in deleted,
        erasure_tables=sorted(deleted),
        erasure_id=erasure_id,
        pseudonyms=pseudo,
        posts=posts,
        work=work,
    )
    caches = drop_training_caches(work) if found else 0
    lake.write_arrow(
        pa.table(
            {
                "erasure_id": [erasure_id],
                "requested_at": pa.array([requested], pa.timestamp("us")),
                "completed_at": pa.array([dt.datetime.now(dt.UTC).replace(tzinfo=None)], pa.timestamp("us")),
                "people": pa.array([len(pseudo)], pa.int64()),
                "people_found": pa.array([found], pa.int64()),
                "tables": pa.array([sorted(deleted)], pa.list_(pa.string())),
                "rows_deleted": pa.array([sorted(deleted.items())], pa.map_(pa.string(), pa.int64())),
                "models_marked": pa.array([marked], pa.int64()),
            }
        ),
        "audit.erasures",
    )
    if request_id:
        requests.close_request(lake, request_id, erasure_id=erasure_id)
    if found < len(pseudo):
        log.warning(
            "erase: %d of %d people have no events in the lake (reported, not an error)",
            len(pseudo) - found,
            len(pseudo),
        )
    log.info(
        "erase %s: %d rows deleted across %d tables; %d model versions marked",
        erasure_id,
        sum(deleted.values()),
        len(deleted),
        marked,
    )
    return EraseResult(
        erasure_id=erasure_id,
        people=len(pseudo),
        people_found=found,
        people_unknown=len(pseudo) - found,
        tables=len(deleted),
        rows_deleted=dict(sorted(deleted.items())),
        rows_out=sum(deleted.values()),
        models_marked=marked,
        training_caches_dropped=caches,
    )


def _check_readable(spark: SparkSession, lake: Lake) -> None:
    """Every existing table answers a query, or the erasure stops before deleting anything.

    Raises:
        ValueError: a table's log or files cannot be read; names the table and what to do.
    """
    for name in sorted(CATALOG):
        if not lake.exists(name):
            continue
        try:
            spark.sql(f"SELECT 1 FROM delta.`{lake.path(name)}` LIMIT 1").collect()
        except Exception as exc:
            raise ValueError(
                f"erase: {name} cannot be read ({type(exc).__name__}); nothing was erased. Repair the table "
                "(restore it to a readable version) and run the erasure again"
            ) from exc


def _people_found(spark: SparkSession, lake: Lake, views: dict[str, str]) -> int:
    """How many of the requested people appear in events (as actor or target), before deleting."""
    for name, view in (("bronze.events", views["raw"]), ("silver.events", views["pseudo"])):
        if lake.exists(name):
            path = lake.path(name)
            query = (
                f"SELECT count(DISTINCT s.id) AS n FROM {view} s WHERE s.id IN "
                f"(SELECT user_id FROM delta.`{path}` UNION SELECT target_user_id FROM delta.`{path}`)"
            )
            return int(spark.sql(query).collect()[0]["n"])
    return 0


def drop_training_caches(work: Path) -> int:
    """Delete every earlier training run's scratch under ``<work>/recsys``: prepared shards, checkpoints, refit weights.

    The shards hold pseudonyms, the checkpoints the people's embedding rows; the next ``flywheel train`` makes its
    own. What serves is the registered versions, scrubbed by mark_models.
    """
    import shutil

    root = work / "recsys"
    dropped = 0
    for run in sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []:
        shutil.rmtree(run, ignore_errors=True)
        dropped += 1
    return dropped


def mark_models(
    tracking: Tracking,
    *,
    touched: bool,
    erasure_tables: list[str],
    erasure_id: str = "",
    pseudonyms: Sequence[str] = (),
    posts: Sequence[str] = (),
    work: Path | None = None,
) -> int:
    """Tag registered model versions trained on erased data; replace those whose files name the people.

    Tagging alone leaves the people in a version's files (its user vocabulary and catalogue): every version that
    names one of ``pseudonyms`` or lists one of ``posts`` is replaced by a scrubbed copy that takes its aliases,
    and is deleted with its artifact files (:mod:`socialflywheel.recsys.scrub`).

    Args:
        tracking: the model registry.
        touched: whether gold.training_examples lost rows (every version is then tagged).
        erasure_tables: the tables that lost rows.
        erasure_id: the erasure's id, tagged on the scrubbed copies.
        pseudonyms: the erased people's pseudonyms.
        posts: the post ids they authored.
        work: the work folder, whose downloaded copies of deleted versions go too.

    Returns:
        How many versions were tagged.
    """
    import os

    from socialflywheel.tracking import brief_requests, client_tracking_uri

    del erasure_tables
    uri = client_tracking_uri(tracking.uri)
    if not touched and not pseudonyms and not posts:
        return 0
    if uri.startswith("sqlite:///") and not os.path.exists(uri.removeprefix("sqlite:///")):
        return 0  # no registry yet: nothing was ever registered (and none is created here)
    try:
        import mlflow
        from mlflow.tracking import MlflowClient

        mlflow.set_tracking_uri(uri)
        client = MlflowClient()
        with brief_requests():  # a registry that is down: a warning in seconds, not minutes of retries
            versions = client.search_model_versions(f"name='{tracking.registered_model}'")
    except Exception as exc:  # no registry yet, or none reachable
        log.warning(
            "erase: the model registry could not be asked for models trained on the erased people (%s); none "
            "was marked: run the same erasure again when the registry is reachable",
            type(exc).__name__,
        )
        return 0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    marked = 0
    if touched:
        for version in versions:
            client.set_model_version_tag(version.name, version.version, "trained_on_erased_data", stamp)
            version.tags["trained_on_erased_data"] = stamp  # the scrubbed copies carry it on
        marked = len(versions)
    try:
        from socialflywheel.recsys.scrub import scrub_models

        with brief_requests():
            scrub_models(
                client, tracking, versions, pseudonyms=pseudonyms, posts=posts, erasure_id=erasure_id, work=work
            )
    except Exception as exc:  # the registry went away half way: what was scrubbed stays scrubbed
        log.warning(
            "erase: registered models could not all be scrubbed of the erased people (%s): run the same erasure "
            "again when the registry is reachable",
            type(exc).__name__,
        )
    return marked
