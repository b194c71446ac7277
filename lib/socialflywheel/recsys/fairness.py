"""Recommendation fairness: exposure by creator tier and popularity decile, Gini of exposure, coverage.

Definitions (all computed over one model version's slice of gold.recommendations):

* **exposure** of a recommendation at ``rank`` (1-based) is ``1 / log2(rank + 1)``: rank 1 counts 1,
  rank 3 counts 0.5 (the DCG position discount); **impressions** count every listed row as 1.
* **catalogue**: every post of silver.posts, plus any recommended post missing there.
* **creator tier** of a post is its author's tier by follower count (in-degree in silver.follows;
  authors nobody follows have 0): with ``median`` and ``p90`` the 50th and 90th percentiles
  (linear interpolation) of the follower counts of all catalogue authors, a creator is
  ``emerging`` when followers < median, ``established`` when median <= followers < p90 and ``top``
  when followers >= p90. With many ties (e.g. a median of 0) a tier can be empty; it is then
  reported with zero items. Posts whose author is unknown fall in ``unknown``.
* **item popularity** is the number of interaction events (view, like, share, comment, click) a post
  received in silver.events. **Popularity decile** ``d`` (1 = least, 10 = most popular) is
  ``1 + floor(10 * below / n)`` with ``below`` the number of catalogue items strictly less popular
  and ``n`` the catalogue size: tied items share a decile (so many never-seen posts all sit in
  decile 1 and some deciles may be empty).
* **exposure share** of a group is its exposure over all exposure; **impression share** the same
  with plain counts; **catalogue share** the group's share of catalogue items (the share an
  exposure-blind recommender would give it).
* **Gini of exposure** is over every catalogue item, never-recommended ones included as zeros
  (0 = every item gets the same exposure, 1 = one item gets it all); **catalogue coverage** is the
  share of catalogue items recommended to at least one user.

The result is kept in gold.recommendation_fairness (one row per model version, dimension and group,
plus an ``overall``/``all`` row; the version-level Gini and coverage repeat on every row) and the
same figures are logged to the recommend job's MLflow run under ``fairness.*``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialflywheel.lake.catalog import ENGAGEMENT_TYPES
from socialflywheel.lake.catalog.stages import RECOMMENDATION_FAIRNESS
from socialflywheel.recsys.core.metrics import gini

if TYPE_CHECKING:
    import pyarrow as pa

    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

TIERS = ("emerging", "established", "top")
UNKNOWN_TIER = "unknown"
INTERACTIONS = ("view", *ENGAGEMENT_TYPES)
DIMENSIONS = ("overall", "creator_tier", "popularity_decile")
_EXPECTED_GROUPS: dict[str, tuple[str, ...]] = {
    "overall": ("all",),
    "creator_tier": TIERS,
    "popularity_decile": tuple(str(d) for d in range(1, 11)),
}


@dataclass(frozen=True)
class FairnessResult:
    """Per-group rows (gold.recommendation_fairness columns but the version ones) and flat metrics."""

    groups: pd.DataFrame
    metrics: dict[str, float]


def _frame(data: pa.Table | pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    cols = list(columns)
    if isinstance(data, pd.DataFrame):
        return data.loc[:, cols].copy()
    frame: pd.DataFrame = data.select(cols).to_pandas()
    return frame


def position_weight(rank: np.ndarray | pd.Series | Iterable[int]) -> np.ndarray:
    """Position discount ``1 / log2(rank + 1)`` of 1-based ranks (rank 1 -> 1.0, rank 3 -> 0.5).

    Args:
        rank: 1-based ranks.

    Returns:
        The weights as float64.
    """
    r = np.asarray(list(rank) if not isinstance(rank, np.ndarray | pd.Series) else rank, dtype=np.float64)
    if np.any(r < 1):
        raise ValueError("ranks are 1-based")
    return 1.0 / np.log2(r + 1.0)


def creator_tiers(follows: pa.Table | pd.DataFrame, creators: Iterable[str]) -> pd.DataFrame:
    """Follower count and tier of every creator (see the module docstring for the thresholds).

    Args:
        follows: Follow edges with ``followee_id`` (silver.follows).
        creators: The creators to classify (authors of catalogue posts); unfollowed ones get 0.

    Returns:
        Columns ``author_id``, ``followers``, ``tier``, one row per distinct creator.
    """
    edges = _frame(follows, ["followee_id"])
    indeg = edges.groupby("followee_id").size()
    authors = pd.Index(pd.unique(pd.Series(list(creators), dtype=object).dropna()), name="author_id")
    followers = indeg.reindex(authors, fill_value=0).astype(np.int64)
    out = pd.DataFrame({"author_id": authors, "followers": followers.to_numpy()})
    if out.empty:
        out["tier"] = pd.Series(dtype=object)
        return out
    median, p90 = np.quantile(out["followers"].to_numpy(dtype=np.float64), [0.5, 0.9])
    f = out["followers"].to_numpy()
    out["tier"] = np.where(f >= p90, "top", np.where(f >= median, "established", "emerging"))
    return out


def item_popularity(events: pa.Table | pd.DataFrame, catalogue: Iterable[str]) -> pd.Series:
    """Interaction events per catalogue item (zero for items nobody interacted with).

    Args:
        events: Events with ``post_id`` and ``event_type`` (silver.events); only INTERACTIONS count.
        catalogue: Every catalogue post id.

    Returns:
        Counts indexed by post id, in catalogue order.
    """
    ev = _frame(events, ["post_id", "event_type"])
    ev = ev[ev["event_type"].isin(INTERACTIONS) & ev["post_id"].notna()]
    counts = ev.groupby("post_id").size()
    index = pd.Index(list(catalogue), name="post_id")
    return counts.reindex(index, fill_value=0).astype(np.int64)


def popularity_deciles(popularity: pd.Series) -> pd.Series:
    """Decile 1..10 of each item by popularity: ``1 + floor(10 * strictly_less_popular / n)``; ties share one.

    Args:
        popularity: Popularity per item (index: post id).

    Returns:
        Integer deciles with the same index.
    """
    n = len(popularity)
    if n == 0:
        return pd.Series([], index=popularity.index, dtype=np.int64)
    below = popularity.rank(method="min").to_numpy() - 1.0
    return pd.Series((1 + np.floor(10.0 * below / n)).astype(np.int64), index=popularity.index)


def compute_fairness(
    recommendations: pa.Table | pd.DataFrame,
    posts: pa.Table | pd.DataFrame,
    tiers: pd.DataFrame,
    popularity: pd.Series,
) -> FairnessResult:
    """Exposure and impression shares per creator tier and popularity decile, Gini and coverage.

    Args:
        recommendations: Rows with ``user_id``, ``post_id``, ``rank`` (1-based) of one model version.
        posts: The catalogue: ``post_id``, ``author_id`` (silver.posts).
        tiers: ``author_id`` -> ``tier`` (from ``creator_tiers``).
        popularity: Interactions per post (from ``item_popularity``); missing posts count 0.

    Returns:
        The per-group rows and a flat metric dict (``fairness.*`` names, MLflow-ready).
    """
    recs = _frame(recommendations, ["user_id", "post_id", "rank"])
    cat = _frame(posts, ["post_id", "author_id"]).drop_duplicates("post_id")
    extra = pd.Index(pd.unique(recs["post_id"])).difference(pd.Index(cat["post_id"]))
    if len(extra):
        cat = pd.concat([cat, pd.DataFrame({"post_id": extra, "author_id": None})], ignore_index=True)
    tier_of = dict(zip(tiers["author_id"], tiers["tier"], strict=True))
    cat["creator_tier"] = [tier_of.get(a, UNKNOWN_TIER) for a in cat["author_id"]]
    pop = popularity.reindex(pd.Index(cat["post_id"]), fill_value=0)
    cat["popularity_decile"] = popularity_deciles(pop).astype(str).to_numpy()
    cat["overall"] = "all"

    recs["exposure"] = position_weight(recs["rank"].to_numpy()) if len(recs) else np.zeros(0)
    per_item = recs.groupby("post_id").agg(impressions=("rank", "size"), exposure=("exposure", "sum"))
    cat = cat.merge(per_item, left_on="post_id", right_index=True, how="left")
    cat[["impressions", "exposure"]] = cat[["impressions", "exposure"]].fillna(0.0)
    item_dims = cat.set_index("post_id")[list(DIMENSIONS)]
    recs = recs.join(item_dims, on="post_id")

    n_items = len(cat)
    total_exp = float(cat["exposure"].sum())
    total_imp = float(cat["impressions"].sum())
    gini_exp = gini(cat["exposure"].to_numpy())
    gini_imp = gini(cat["impressions"].to_numpy())
    coverage = float((cat["impressions"] > 0).sum() / n_items) if n_items else 0.0

    rows = []
    for dim in DIMENSIONS:
        groups = list(_EXPECTED_GROUPS[dim])  # listed even when empty, so a missing tier shows as 0
        present = sorted(set(cat[dim]) - set(groups), key=str)
        for key in [*groups, *present]:
            items = cat[cat[dim] == key]
            got = recs[recs[dim] == key]
            exp, imp = float(items["exposure"].sum()), float(items["impressions"].sum())
            rows.append(
                {
                    "dimension": dim,
                    "group_key": key,
                    "items": len(items),
                    "recommended_items": int((items["impressions"] > 0).sum()),
                    "creators": int(items["author_id"].dropna().nunique()),
                    "users": int(got["user_id"].nunique()),
                    "impressions": int(imp),
                    "exposure": exp,
                    "impression_share": imp / total_imp if total_imp else 0.0,
                    "exposure_share": exp / total_exp if total_exp else 0.0,
                    "catalogue_share": len(items) / n_items if n_items else 0.0,
                }
            )
    groups_df = pd.DataFrame(rows)
    groups_df["gini_exposure"] = gini_exp
    groups_df["gini_impressions"] = gini_imp
    groups_df["catalogue_coverage"] = coverage

    metrics: dict[str, float] = {
        "fairness.gini_exposure": gini_exp,
        "fairness.gini_impressions": gini_imp,
        "fairness.catalogue_coverage": coverage,
        "fairness.catalogue_items": float(n_items),
        "fairness.recommended_items": float((cat["impressions"] > 0).sum()),
    }
    for row in rows:
        if row["dimension"] == "overall":
            continue
        name = f"{row['dimension']}.{row['group_key']}"
        metrics[f"fairness.exposure_share.{name}"] = float(row["exposure_share"])
        metrics[f"fairness.impression_share.{name}"] = float(row["impression_share"])
    return FairnessResult(groups=groups_df, metrics=metrics)


def _latest_version(lake: Lake) -> str | None:
    recs = lake.read_arrow("gold.recommendations", columns=["model_version", "generated_at"])
    if recs.num_rows == 0:
        return None
    df = recs.to_pandas().groupby("model_version")["generated_at"].max()
    return str(df.sort_values(kind="stable").index[-1])


def build_fairness(lake: Lake, *, model_version: str | None = None) -> dict[str, Any]:
    """Measure one model version's recommendations and replace its rows of gold.recommendation_fairness.

    Reads gold.recommendations (one version's partition), silver.posts, silver.follows and the
    interaction events of silver.events through delta-rs; no Spark is needed.

    Args:
        lake: The lake.
        model_version: The slice to measure (default: the most recently generated one).

    Returns:
        The ``fairness.*`` metrics plus ``model_version``, ``generated_at``, ``rows_in``
        (recommendations read) and ``rows_out`` (fairness rows written); ``rows_out`` is 0 and no
        metric is present when there are no recommendations yet.
    """
    import pyarrow as pa

    version = model_version or _latest_version(lake)
    if version is None:
        log.info("fairness: gold.recommendations is empty; nothing to measure")
        return {"model_version": None, "rows_in": 0, "rows_out": 0}
    recs = lake.read_arrow(
        "gold.recommendations",
        columns=["user_id", "post_id", "rank", "generated_at"],
        filters=[("model_version", "=", version)],
    )
    if recs.num_rows == 0:
        raise ValueError(f"gold.recommendations has no rows for model version {version!r}")
    posts = lake.read_arrow("silver.posts", columns=["post_id", "author_id"])
    follows = lake.read_arrow("silver.follows", columns=["followee_id"])
    events = lake.read_arrow(
        "silver.events", columns=["post_id", "event_type"], filters=[("event_type", "in", list(INTERACTIONS))]
    )
    post_df = posts.to_pandas()
    tiers = creator_tiers(follows, post_df["author_id"])
    catalogue = pd.unique(pd.concat([post_df["post_id"], recs.column("post_id").to_pandas()], ignore_index=True))
    popularity = item_popularity(events, catalogue)
    result = compute_fairness(recs, post_df, tiers, popularity)

    stamp = pd.Timestamp(recs.column("generated_at").to_pandas().max())
    if stamp.tzinfo is not None:  # Spark writes UTC instants; naive UTC here, cast to the catalog's UTC type below
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    generated = stamp.to_pydatetime()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = result.groups.copy()
    rows.insert(0, "model_version", version)
    rows.insert(1, "generated_at", generated)
    rows["computed_at"] = now
    out = pa.Table.from_pandas(rows[RECOMMENDATION_FAIRNESS.column_names], preserve_index=False)
    out = out.cast(RECOMMENDATION_FAIRNESS.schema)
    if lake.exists(RECOMMENDATION_FAIRNESS.name):
        old = lake.read_arrow(RECOMMENDATION_FAIRNESS.name, filters=[("model_version", "!=", version)])
        out = pa.concat_tables([old.cast(out.schema), out]) if old.num_rows else out
    lake.write_arrow(out, RECOMMENDATION_FAIRNESS.name, mode="overwrite")
    log.info(
        "fairness: model %s, gini %.3f, coverage %.3f",
        version,
        result.metrics["fairness.gini_exposure"],
        result.metrics["fairness.catalogue_coverage"],
    )
    return {
        "model_version": version,
        "generated_at": generated.isoformat(),
        **result.metrics,
        "rows_in": recs.num_rows,
        "rows_out": len(rows),
    }


def log_fairness_to_mlflow(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Log the ``fairness.*`` numbers of ``metrics`` to the active MLflow run (call inside the recommend run).

    Args:
        metrics: The dict ``build_fairness`` returns (other keys are ignored).

    Returns:
        The metrics logged.
    """
    import mlflow

    numeric = {
        k: float(v)
        for k, v in metrics.items()
        if k.startswith("fairness.") and isinstance(v, int | float) and math.isfinite(float(v))
    }
    if numeric:
        mlflow.log_metrics(numeric)
    if metrics.get("model_version"):
        mlflow.set_tag("fairness.model_version", str(metrics["model_version"]))
    return numeric
