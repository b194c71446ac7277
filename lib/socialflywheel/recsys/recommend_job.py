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
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialflywheel.faults import kill_point
from socialflywheel.lake.catalog import ENGAGEMENT_TYPES
from socialflywheel.recsys._arrow import encode, seconds, vocabulary
from socialflywheel.recsys.fairness import build_fairness, log_fairness_to_mlflow
from socialflywheel.recsys.tables import HASHTAG_TRENDS_NAME, RECOMMENDATIONS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config import FlywheelConfig
    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

DAY = 86_400


def _hashtag_strength(lake: Lake, *, now: int, days: float) -> dict[str, float]:
    """Strength per hashtag of trends still active within ``days`` of ``now`` (empty without the table)."""
    if not lake.exists(HASHTAG_TRENDS_NAME):
        return {}
    trends = lake.read_arrow(HASHTAG_TRENDS_NAME, columns=["hashtag", "end_ts", "strength"])
    active = seconds(trends.column("end_ts")) >= now - int(days * DAY)
    out: dict[str, float] = {}
    tags = np.asarray(trends.column("hashtag").to_pylist(), dtype=object)[active]
    strengths = np.asarray(pc.fill_null(trends.column("strength"), 0.0).to_numpy(), dtype=np.float64)[active]
    for tag, strength in zip(tags, strengths, strict=True):
        out[str(tag)] = out.get(str(tag), 0.0) + float(strength)
    return out


def _signals(lake: Lake, items: pa.Table, item_counts: np.ndarray, *, fresh_days: float) -> dict[str, Any]:
    """Seen pairs, authors, category shares, trend and popularity scores, read from silver (Arrow columns)."""
    post_ids = items.column("post_id")
    n = len(post_ids)
    events = lake.read_arrow("silver.events", columns=["user_id", "post_id", "event_type", "ts"])
    events = events.filter(pc.and_(pc.is_valid(events.column("user_id")), pc.is_valid(events.column("post_id"))))
    posts = lake.read_arrow("silver.posts", columns=["post_id", "author_id", "hashtags"])
    users = lake.read_arrow("silver.users", columns=["user_id"]).column("user_id")
    all_users = vocabulary([users.combine_chunks(), events.column("user_id").combine_chunks()])
    ev_user = encode(events.column("user_id"), all_users)
    ev_item = encode(events.column("post_id"), post_ids)
    ts = seconds(events.column("ts"))
    now = int(ts.max()) if len(ts) else 0
    own_user = encode(posts.column("author_id"), all_users)
    own_item = encode(posts.column("post_id"), post_ids)
    rows = np.concatenate([ev_user, own_user])
    cols = np.concatenate([ev_item, own_item])
    ok = (rows >= 0) & (cols >= 0)
    seen = np.unique(rows[ok] * n + cols[ok])
    engaged = np.isin(np.asarray(events.column("event_type").to_pylist(), dtype=object), ENGAGEMENT_TYPES) & (
        ev_item >= 0
    )
    recent = engaged & (ts >= now - DAY)
    trending = np.log1p(np.bincount(ev_item[recent], minlength=n)).astype(np.float64)
    strength = _hashtag_strength(lake, now=now, days=fresh_days)
    if strength:
        tag_lists = posts.column("hashtags").to_pylist()
        for item, tags in zip(own_item, tag_lists, strict=True):
            if item >= 0 and tags:
                trending[item] += sum(strength.get(t, 0.0) for t in tags)
    popular = np.asarray(item_counts, dtype=np.float64) + np.bincount(ev_item[engaged], minlength=n)
    category = np.asarray(items.column("item_category").to_numpy(), dtype=np.int64)
    num_cat = int(category.max(initial=0)) + 1
    pref = np.zeros((len(all_users), num_cat))
    sel = engaged & (ev_user >= 0)
    np.add.at(pref, (ev_user[sel], category[ev_item[sel]]), 1.0)
    pref /= np.maximum(pref.sum(axis=1, keepdims=True), 1.0)
    return {"users": all_users, "seen": seen, "now": now, "trending": trending, "popular": popular, "pref": pref}


def _serving_prior(lake: Lake, model: Any, meta: Any, items_path: Any, post_ids: pa.Array, *, at: int) -> np.ndarray:
    """The two-tower's time prior per catalogue item as of ``at`` (``temperature * prior``; ``-inf``: not created).

    Point in time, as in training and evaluation: each item's age and its positives (label 1 in
    gold.training_examples, the trainer's own definition) strictly before ``at``'s hour. Zeros when the
    model has no prior or the catalogue has no creation times.
    """
    from socialflywheel.recsys.core.clock import ItemClock, created_times
    from socialflywheel.recsys.core.embed import AsOf
    from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME

    created = created_times(items_path, meta.num_items)
    if created is None or model.time_prior is None:
        return np.zeros(meta.num_items, dtype=np.float32)
    ex = lake.read_arrow(TRAINING_EXAMPLES_NAME, columns=["post_id", "ts", "label"], filters=[("label", "=", 1)])
    items, ts = encode(ex.column("post_id"), post_ids), seconds(ex.column("ts"))
    keep = (items >= 0) & (ts < at)
    bias = AsOf(at=at, clock=ItemClock(created, items[keep], ts[keep])).bias(model)
    assert bias is not None  # a clock was given
    return bias


def _seen_for(seen: np.ndarray, rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Seen pairs of the given global user rows, as (position in ``rows``, item), sorted by position."""
    users, items = seen // n, seen % n
    pos = np.full(int(users.max(initial=0)) + 1 if len(users) else 1, -1, dtype=np.int64)
    inside = rows < len(pos)
    pos[rows[inside]] = np.flatnonzero(inside)
    mine = pos[users] if len(users) else np.zeros(0, np.int64)
    keep = mine >= 0
    order = np.argsort(mine[keep], kind="stable")
    return mine[keep][order], items[keep][order]


def _rows(user_ids: pa.Array, top: np.ndarray, scores: np.ndarray, post_ids: pa.Array, source: str) -> pa.Table:
    k = top.shape[1]
    keep = top >= 0
    ranks = np.cumsum(keep, axis=1)  # holes (fewer unseen items than K) never leave rank gaps
    users = np.repeat(np.arange(len(user_ids)), k).reshape(top.shape)
    return pa.table(
        {
            "user_id": pc.take(user_ids, pa.array(users[keep])),
            "post_id": pc.take(post_ids, pa.array(top[keep])),
            "rank": pa.array(ranks[keep].astype(np.int32)),
            "score": pa.array(scores[keep].astype(np.float64)),
            "source": pa.array([source] * int(keep.sum()), pa.string()),
        }
    )


def run_recommend(
    spark: SparkSession, cfg: FlywheelConfig, lake: Lake, *, version: str | None = None
) -> dict[str, Any]:
    """Write top-``recommend.k`` posts per user of silver.users for the serving model version.

    Args:
        spark: The session (writes gold.recommendations).
        cfg: Resolved configuration (``recommend``, ``mlflow``).
        lake: The lake.
        version: Registered model version (default: the serving alias holder, else the latest).

    Returns:
        A summary: model version, users, model and fallback users, corpus size, index kind, exposure
        metrics, rows in (users) and out (recommendations).
    """
    from socialflywheel.recsys.core.data import DatasetMeta, user_arrays
    from socialflywheel.recsys.core.embed import embed, load_items
    from socialflywheel.recsys.core.metrics import gini
    from socialflywheel.recsys.core.model import load_model
    from socialflywheel.recsys.index import (
        build_index,
        candidate_corpus,
        fallback_scores,
        fold_prior,
        save_index,
        search_topk,
    )
    from socialflywheel.recsys.registry import download_serving_files, serving_version
    from socialflywheel.tracking import setup, tracked_run

    rc = cfg.recommend
    setup(cfg)
    version = version or serving_version(cfg)
    home = cfg.work_path / "models" / version
    files = download_serving_files(cfg, version, home / "artifacts")
    meta = DatasetMeta.load(files["meta"])
    model = load_model(files["model"])
    items_table = pq.read_table(files["items"])
    n = meta.num_items
    sig = _signals(lake, items_table, np.asarray(meta.item_counts), fresh_days=rc.fresh_days)
    corpus = candidate_corpus(
        item_counts=np.asarray(meta.item_counts), created_ts=items_table.column("item_created_ts").to_numpy(),
        trending=sig["trending"], now=sig["now"], fresh_days=rc.fresh_days, min_count=rc.min_item_interactions,
        top_trending=rc.trending_top,
    )  # fmt: skip
    post_ids = items_table.column("post_id").combine_chunks()
    # Serving ranks as evaluated: tower dot product plus the time prior as of just after the newest event.
    prior = _serving_prior(lake, model, meta, files["items"], post_ids, at=sig["now"] + 1)
    corpus = corpus[np.isfinite(prior[corpus])]
    vocab = pq.read_table(files["users"])
    all_users: pa.Array = sig["users"]
    known = np.asarray(vocab.column("positives").to_numpy()) > 0
    model_rows = np.flatnonzero(known)  # rows of the model's vocabulary with a history
    model_global = encode(pc.take(vocab.column("user_id"), pa.array(model_rows)), all_users)
    # People no longer in silver (erased since training) get nothing.
    model_rows, model_global = model_rows[model_global >= 0], model_global[model_global >= 0]
    queries = user_arrays(pq.read_table(files["queries"]), meta)
    user_vec, corpus_vec = fold_prior(
        embed(model, {key: v[model_rows] for key, v in queries.items()}, tower="user"),
        embed(model, load_items(files["items"], meta), tower="item")[corpus],
        prior[corpus],
    )
    index = build_index(
        corpus_vec, item_ids=corpus, kind=rc.index, exact_below=rc.exact_below, nlist=rc.ivf_nlist,
        nprobe=rc.ivf_nprobe, hnsw_m=rc.hnsw_m, ef_search=rc.hnsw_ef_search, seed=cfg.seed,
    )  # fmt: skip
    s_rows, s_items = _seen_for(sig["seen"], model_global, n)
    top, scores = search_topk(index, user_vec, k=rc.k, seen_rows=s_rows, seen_items=s_items)
    parts = [_rows(pc.take(vocab.column("user_id"), pa.array(model_rows)), top, scores, post_ids, "model")]
    fb_global = np.setdiff1d(np.arange(len(all_users)), model_global)
    in_corpus = np.zeros(n, dtype=bool)
    in_corpus[corpus] = True
    fb_top = np.full((len(fb_global), rc.k), -1, dtype=np.int64)
    fb_scores = np.zeros((len(fb_global), rc.k), dtype=np.float32)
    category = np.asarray(items_table.column("item_category").to_numpy(), dtype=np.int64)
    f_rows, f_items = _seen_for(sig["seen"], fb_global, n)
    for a in range(0, len(fb_global), 512):
        b = min(a + 512, len(fb_global))
        sc = fallback_scores(
            category_pref=sig["pref"][fb_global[a:b]], item_category=category, trending=sig["trending"],
            popular=sig["popular"], trend_weight=rc.fallback_trend_weight,
        )  # fmt: skip
        sc[:, ~in_corpus] = -np.inf
        lo, hi = np.searchsorted(f_rows, [a, b])
        sc[f_rows[lo:hi] - a, f_items[lo:hi]] = -np.inf
        kk = min(rc.k, n)
        part = np.argsort(-sc, axis=1, kind="stable")[:, :kk]
        vals = np.take_along_axis(sc, part, axis=1)
        fb_top[a:b, :kk] = np.where(np.isfinite(vals), part, -1)
        fb_scores[a:b, :kk] = np.where(np.isfinite(vals), vals, 0.0)
    parts.append(_rows(pc.take(all_users, pa.array(fb_global)), fb_top, fb_scores, post_ids, "fallback"))
    recs = pa.concat_tables(parts)
    generated = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    recs = recs.append_column("model_version", pa.array([version] * recs.num_rows, pa.string()))
    recs = recs.append_column("generated_at", pa.array([generated] * recs.num_rows, pa.timestamp("us")))
    kill_point("recommend.before_write")
    lake.overwrite(
        spark.createDataFrame(recs.select(RECOMMENDATIONS.column_names)), RECOMMENDATIONS.name,
        replace_where=f"model_version = '{version}'",
    )  # fmt: skip
    kill_point("recommend.after_write")
    save_index(home / "index", index, corpus_vec)
    np.save(home / "index" / "user_embeddings.npy", user_vec)
    np.save(home / "index" / "item_prior.npy", prior)  # the last dimension of the item vectors, as of ``now + 1``
    exposure = np.bincount(encode(recs.column("post_id"), post_ids), minlength=n)
    metrics = {
        "users": float(len(all_users)),
        "model_users": float(len(model_rows)),
        "fallback_users": float(len(fb_global)),
        "corpus_size": float(len(corpus)),
        "catalogue_coverage": float(np.count_nonzero(exposure) / max(n, 1)),
        "exposure_gini": gini(exposure),
        "fresh_share": float(np.mean(items_table.column("item_created_ts").to_numpy()[
            encode(recs.column("post_id"), post_ids)] >= sig["now"] - rc.fresh_days * DAY)) if recs.num_rows else 0.0,
    }  # fmt: skip
    with tracked_run(cfg, lake, run_name=f"recommend-v{version}", job="recommend") as run:
        import mlflow

        mlflow.log_params({"model_version": version, "index_kind": index.kind, "k": rc.k})
        mlflow.log_metrics(metrics)
        # Exposure by creator tier and popularity decile, Gini and coverage: kept in
        # gold.recommendation_fairness for the report and logged with this run.
        fairness = build_fairness(spark, cfg, lake, model_version=version)
        log_fairness_to_mlflow(fairness)
        run_id = run.info.run_id
    return {
        "model_version": version,
        "mlflow_run_id": run_id,
        "index": index.kind,
        **{k: (int(v) if k.endswith(("users", "size")) else round(v, 4)) for k, v in metrics.items()},
        "saved": str(home),
        "rows_in": len(all_users),
        "rows_out": recs.num_rows,
    }
