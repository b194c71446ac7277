"""``flywheel recommend``: top-K posts per user from the serving two-tower model -> gold.recommendations.

The serving version (the ``mlflow.serving_alias`` holder, else the latest) is downloaded from the
registry; its item tower embeds the catalogue and a faiss index (exact below
``recommend.exact_below`` items) holds the candidate corpus: posts with training interactions, fresh
posts (created within ``recommend.fresh_days`` of the newest event) and the top trending ones
(engagements over the last day plus the strength of active hashtag trends from gold.hashtag_trends
when that table exists). Every post a user interacted with in silver.events, and the user's own
posts, are removed from their list. People of silver.users that the model has no history for get the
fallback: trending and popular posts in the categories they engaged with. Model lists rank exactly as
the evaluation does: the time prior (each post's age and recent positives as of just after the
newest event) is folded into the vectors as one more dimension (user ``1``, item ``temperature *
prior``), so the inner-product index scores ``u . v + prior``. The slice of
gold.recommendations for the model version is replaced; embeddings and the index are saved under
``<work_dir>/models/<version>/``; simple exposure metrics go to an MLflow run.

This module is the wiring: it reads the inputs, then each step lives with its concern --
:mod:`.serving` (signals, model users, time prior), :mod:`.index` (corpus, index, model and fallback
top-K), :mod:`.recommend_write` (rows and the slice write), :mod:`.recommend_metrics` (exposure) and
:mod:`.fairness` (the fairness report).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialflywheel import progress
from socialflywheel.recsys._arrow import iter_batches, table_files
from socialflywheel.recsys.fairness import build_fairness, log_fairness_to_mlflow
from socialflywheel.recsys.recommend_metrics import exposure_metrics
from socialflywheel.recsys.recommend_write import recommendation_rows, recommendations_table, write_recommendations
from socialflywheel.recsys.serving import (
    ServingSignals,
    fallback_users,
    model_users,
    positives_before,
    serving_prior,
    serving_signals,
    uses_time_prior,
)
from socialflywheel.recsys.tables import HASHTAG_TRENDS_NAME, TRAINING_EXAMPLES_NAME
from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config.recsys import RecommendConfig
    from socialflywheel.lake.io import Lake
    from socialflywheel.recsys.core.data import DatasetMeta
    from socialflywheel.recsys.core.model import TwoTower
    from socialflywheel.tracking import Tracking

log = logging.getLogger(__name__)


# Rows per batch when silver.events is streamed for the serving signals (the driver holds one batch at a time).
EVENT_BATCH_ROWS = 262_144


@dataclass(frozen=True)
class ServedModel:
    """The downloaded serving version: its files, dataset metadata, model and catalogue (item_idx order)."""

    files: dict[str, Path]
    meta: DatasetMeta
    model: TwoTower
    items: pa.Table

    @property
    def post_ids(self) -> pa.Array:
        """The catalogue's post ids."""
        return self.items.column("post_id").combine_chunks()

    def item_column(self, name: str) -> np.ndarray:
        """One catalogue column as a NumPy array."""
        return np.asarray(self.items.column(name).to_numpy())


def _load_served(tracking: Tracking, version: str, directory: Path) -> ServedModel:
    from socialflywheel.recsys.core.data import DatasetMeta
    from socialflywheel.recsys.core.model import load_model
    from socialflywheel.recsys.registry import download_serving_files

    files = download_serving_files(tracking, version, directory)
    meta, model = DatasetMeta.load(files["meta"]), load_model(files["model"])
    return ServedModel(files=files, meta=meta, model=model, items=pq.read_table(files["items"]))


def _read_signals(lake: Lake, served: ServedModel, *, fresh_days: float) -> ServingSignals:
    trends = None
    if lake.exists(HASHTAG_TRENDS_NAME):
        trends = lake.read_arrow(HASHTAG_TRENDS_NAME, columns=["hashtag", "end_ts", "strength"])
    files, _ = table_files(lake, "silver.events")

    def events(columns: list[str]) -> Iterator[pa.RecordBatch]:  # streamed file by file, never whole
        return (part.batch for part in iter_batches(files, columns, batch_rows=EVENT_BATCH_ROWS))

    return serving_signals(
        events=events,
        posts=lake.read_arrow("silver.posts", columns=["post_id", "author_id", "hashtags"]),
        users=lake.read_arrow("silver.users", columns=["user_id"]),
        items=served.items,
        item_counts=np.asarray(served.meta.item_counts),
        trends=trends,
        fresh_days=fresh_days,
    )


def _read_prior(lake: Lake, served: ServedModel, *, at: int) -> np.ndarray:
    """The time prior as of ``at``; gold.training_examples is read only when the model has a prior."""
    from socialflywheel.recsys.core.clock import created_times

    n = served.meta.num_items
    created = created_times(served.files["items"], n)
    positives = None
    if uses_time_prior(served.model, created):
        ex = lake.read_arrow(TRAINING_EXAMPLES_NAME, columns=["post_id", "ts", "label"], filters=[("label", "=", 1)])
        positives = positives_before(ex, served.post_ids, at=at)
    return serving_prior(served.model, created=created, positives=positives, at=at, num_items=n)


def _corpus(served: ServedModel, sig: ServingSignals, prior: np.ndarray, rc: RecommendConfig) -> np.ndarray:
    """Engaged-with, fresh and trending posts, less those not created yet at the query time or gone from silver."""
    from socialflywheel.recsys.index import candidate_corpus

    corpus = candidate_corpus(
        item_counts=np.asarray(served.meta.item_counts),
        created_ts=served.item_column("item_created_ts"),
        trending=sig.trending,
        now=sig.now,
        fresh_days=rc.fresh_days,
        min_count=rc.min_item_interactions,
        top_trending=rc.trending_top,
    )
    # A post not created yet has a -inf prior; a post gone from silver.posts (erased) is never listed again.
    alive: np.ndarray = corpus[np.isfinite(prior[corpus]) & sig.live[corpus]]
    return alive


def _embed(served: ServedModel, user_rows: np.ndarray, corpus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """User-tower vectors of the model's vocabulary rows and item-tower vectors of the corpus."""
    from socialflywheel.recsys.core.data import user_arrays
    from socialflywheel.recsys.core.embed import embed, load_items

    queries = user_arrays(pq.read_table(served.files["queries"]), served.meta)
    users = embed(served.model, {key: v[user_rows] for key, v in queries.items()}, tower="user")
    items = embed(served.model, load_items(served.files["items"], served.meta), tower="item")[corpus]
    return users, items


def _track(
    spark: SparkSession,
    lake: Lake,
    tracking: Tracking,
    *,
    k: int,
    version: str,
    index_kind: str,
    metrics: dict[str, float],
) -> str:
    """One MLflow run: parameters, exposure metrics and the fairness report (kept in gold.recommendation_fairness)."""
    from socialflywheel.tracking import tracked_run

    with tracked_run(tracking, lake, run_name=f"recommend-v{version}", job="recommend") as run:
        import mlflow

        mlflow.log_params({"model_version": version, "index_kind": index_kind, "k": k})
        mlflow.log_metrics(metrics)
        log_fairness_to_mlflow(build_fairness(lake, model_version=version))
        return str(run.info.run_id)


@dataclass(kw_only=True)
class RecommendResult(JobResult):
    """A recommend run: who got lists from the model and who from the fallback, and how exposure spread."""

    model_version: str
    mlflow_run_id: str
    index: str
    """The faiss index kind used (flat, ivf or hnsw)."""
    users: int
    model_users: int
    """People the model has seen: lists from the towers and the time prior."""
    fallback_users: int
    """Everyone else: trending and popular posts in their categories."""
    corpus_size: int
    catalogue_coverage: float
    """Share of catalogue posts listed at least once."""
    exposure_gini: float
    fresh_share: float
    """Share of listed rows whose post is younger than ``recommend.fresh_days``."""
    saved: str
    """Where the index and the embeddings were saved."""


def run_recommend(
    spark: SparkSession,
    lake: Lake,
    rc: RecommendConfig,
    *,
    tracking: Tracking,
    work: Path,
    seed: int,
    version: str | None = None,
) -> RecommendResult:
    """Write top-``recommend.k`` posts per user of silver.users for the serving model version.

    Args:
        spark: The session (writes gold.recommendations).
        lake: The lake.
        rc: The ``recommend`` section (k, the index, the corpus and the fallback).
        tracking: Where the serving model is registered and the run is logged (the resolved ``mlflow`` section).
        work: The work folder; the index and embeddings are saved under ``<work>/models/<version>``.
        seed: Seed of the approximate index's training.
        version: Registered model version (default: the serving alias holder, else the latest).

    Returns:
        The model version, users, model and fallback users, corpus size, index kind, exposure
        metrics, rows in (users) and out (recommendations).
    """
    from socialflywheel.recsys.index import build_index, fallback_topk, fold_prior, save_index, search_topk
    from socialflywheel.recsys.registry import serving_version
    from socialflywheel.tracking import setup

    setup(tracking)
    version = version or serving_version(tracking)
    home = work / "models" / version
    served = _load_served(tracking, version, home / "artifacts")
    post_ids = served.post_ids
    sig = _read_signals(lake, served, fresh_days=rc.fresh_days)
    prior = _read_prior(lake, served, at=sig.now + 1)  # as of just after the newest event
    corpus = _corpus(served, sig, prior, rc)

    # People with a training history: the model's lists (tower dot product plus the time prior).
    vocab = pq.read_table(served.files["users"])
    model_rows, model_global = model_users(vocab, sig.users)
    user_vec, corpus_vec = fold_prior(*_embed(served, model_rows, corpus), prior[corpus])
    index = build_index(
        corpus_vec, item_ids=corpus, kind=rc.index, exact_below=rc.exact_below, nlist=rc.ivf_nlist,
        nprobe=rc.ivf_nprobe, hnsw_m=rc.hnsw_m, ef_search=rc.hnsw_ef_search, seed=seed,
    )  # fmt: skip
    with progress.task("recommend", total=len(sig.users), unit="users") as bar:
        bar.describe(f"recommend: model lists ({index.kind} index)")
        seen_rows, seen_items = sig.seen_pairs(model_global)
        top, scores = search_topk(index, user_vec, k=rc.k, seen_rows=seen_rows, seen_items=seen_items, bar=bar)
        model_lists = recommendation_rows(
            pc.take(vocab.column("user_id"), pa.array(model_rows)), top, scores, post_ids, source="model"
        )

        # Everyone else: trending and popular corpus posts in the categories they engaged with.
        fb_global = fallback_users(len(sig.users), model_global)
        bar.describe("recommend: fallback lists")
        seen_rows, seen_items = sig.seen_pairs(fb_global)
        fb_top, fb_scores = fallback_topk(
            category_pref=sig.pref[fb_global], item_category=served.item_column("item_category").astype(np.int64),
            trending=sig.trending, popular=sig.popular, trend_weight=rc.fallback_trend_weight, k=rc.k,
            candidates=corpus, seen_rows=seen_rows, seen_items=seen_items, bar=bar,
        )  # fmt: skip
    fallback_lists = recommendation_rows(
        pc.take(sig.users, pa.array(fb_global)), fb_top, fb_scores, post_ids, source="fallback"
    )

    recs = recommendations_table([model_lists, fallback_lists], version=version)
    write_recommendations(spark, lake, recs, version=version)
    save_index(home / "index", index, corpus_vec)
    np.save(home / "index" / "user_embeddings.npy", user_vec)
    np.save(home / "index" / "item_prior.npy", prior)  # the last dimension of the item vectors, as of ``now + 1``

    metrics = {
        "users": float(len(sig.users)),
        "model_users": float(len(model_rows)),
        "fallback_users": float(len(fb_global)),
        "corpus_size": float(len(corpus)),
        **exposure_metrics(
            recs.column("post_id"), post_ids=post_ids, created_ts=served.item_column("item_created_ts"),
            now=sig.now, fresh_days=rc.fresh_days,
        ),
    }  # fmt: skip
    run_id = _track(spark, lake, tracking, k=rc.k, version=version, index_kind=index.kind, metrics=metrics)
    return RecommendResult(
        model_version=version,
        mlflow_run_id=run_id,
        index=index.kind,
        users=len(sig.users),
        model_users=len(model_rows),
        fallback_users=len(fb_global),
        corpus_size=len(corpus),
        catalogue_coverage=round(metrics["catalogue_coverage"], 4),
        exposure_gini=round(metrics["exposure_gini"], 4),
        fresh_share=round(metrics["fresh_share"], 4),
        saved=str(home),
        rows_in=len(sig.users),
        rows_out=recs.num_rows,
    )
