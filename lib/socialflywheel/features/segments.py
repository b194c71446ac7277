"""gold.segments and gold.user_segments: audience segments by k-means over behavioural user features.

Sail has no ``pyspark.ml``, so k-means runs in scikit-learn on the driver over an Arrow sample of at
most ``features.segment_fit_users`` users (standardized features), and every user is then assigned
to the nearest centre inside the engine with ``mapInArrow`` (NumPy per batch), so assignment scales
with the cluster. Features come from gold.user_features when it exists (its numeric columns),
otherwise from :func:`behaviour_features` over silver.events. Each segment's profile (size, mean
features, top categories) is published only when it holds at least ``privacy.min_group_users`` users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialflywheel.features.coverage import read_posts
from socialflywheel.lake.catalog import EVENT_TYPES
from socialflywheel.lake.catalog.stages import SEGMENTS, USER_SEGMENTS

if TYPE_CHECKING:
    import numpy as np
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake


def behaviour_features(events: DataFrame, posts: DataFrame, *, categories: list[str]) -> DataFrame:
    """A compact behavioural vector per user: log counts per event type, dwell, category shares.

    Args:
        events: silver.events.
        posts: silver.posts (category of viewed posts).
        categories: categories to give a share column each (others only count in the total).

    Returns:
        ``user_id`` and double columns ``n_<event_type>``, ``dwell_log_mean``, ``cat_<category>``.
    """
    from pyspark.sql import functions as F

    counts = [F.log1p(F.sum((F.col("event_type") == t).cast("double"))).alias(f"n_{t}") for t in EVENT_TYPES]
    dwell = F.avg(F.when(F.col("event_type") == "view", F.log1p(F.col("dwell_ms").cast("double"))))
    per_user = events.groupBy("user_id").agg(*counts, F.coalesce(dwell, F.lit(0.0)).alias("dwell_log_mean"))
    views = (
        events.filter(F.col("event_type") == "view")
        .select("user_id", "post_id")
        .join(posts.select("post_id", "category"), "post_id")
    )
    total = F.count(F.lit(1))
    shares = [(F.sum((F.col("category") == c).cast("double")) / total).alias(f"cat_{c}") for c in categories]
    cat = views.groupBy("user_id").agg(*shares)
    cat_cols = [f"cat_{c}" for c in categories]
    return per_user.join(cat, "user_id", "left").fillna(0.0, subset=cat_cols)


def feature_columns(features: DataFrame) -> list[str]:
    """The numeric feature columns of a user feature table (every numeric column but keys)."""
    numeric = ("double", "float", "int", "bigint", "smallint", "tinyint", "decimal")
    return [n for n, t in features.dtypes if n != "user_id" and t.split("(")[0] in numeric]


def fit_segment_centres(
    features: DataFrame, *, columns: list[str], k: int, seed: int, max_users: int
) -> dict[str, list[Any]]:
    """Fit k-means centres on a deterministic sample of users (standardized features).

    Args:
        features: ``user_id`` plus numeric feature columns.
        columns: feature columns to cluster on.
        k: number of segments.
        seed: seed of the sample order and of k-means.
        max_users: most users fetched to fit.

    Returns:
        ``{"columns", "mean", "std", "centres"}`` (plain lists: they travel as keyword arguments).
    """
    import numpy as np
    from pyspark.sql import functions as F
    from sklearn.cluster import KMeans

    sample = features.orderBy(F.xxhash64("user_id", F.lit(seed))).limit(max_users).select(*columns).toArrow()
    x = np.column_stack([sample.column(c).to_numpy(zero_copy_only=False) for c in columns]).astype(np.float64)
    x = np.nan_to_num(x)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    n_clusters = max(1, min(k, len(x)))
    model = KMeans(n_clusters=n_clusters, random_state=seed, n_init=4).fit((x - mean) / std)
    # Order segments by their centre so labels do not depend on k-means' internal numbering.
    centres = model.cluster_centers_[np.lexsort(model.cluster_centers_.T[::-1])]
    return {"columns": columns, "mean": mean.tolist(), "std": std.tolist(), "centres": centres.tolist()}


def _nearest(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    d2 = (x * x).sum(axis=1)[:, None] - 2.0 * x @ centres.T + (centres * centres).sum(axis=1)[None, :]
    best = np.argmin(d2, axis=1)
    return best.astype(np.int32), np.sqrt(np.maximum(d2[np.arange(len(x)), best], 0.0))


def assign_segments(
    features: DataFrame,
    *,
    columns: list[str],
    mean: list[float],
    std: list[float],
    centres: list[list[float]],
) -> DataFrame:
    """Assign every user to the nearest centre (NumPy per Arrow batch inside the engine).

    Args:
        features: ``user_id`` plus the feature ``columns``.
        columns: feature columns, in the order the centres use.
        mean: per-column mean used to standardize.
        std: per-column standard deviation used to standardize.
        centres: standardized centres, one list per segment.

    Returns:
        Rows of the gold.user_segments schema.
    """
    from collections.abc import Iterable, Iterator

    import numpy as np
    import pyarrow as pa

    mu, sd, c = np.asarray(mean), np.asarray(std), np.asarray(centres)

    def assign(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            x = np.column_stack([b.column(n).to_numpy(zero_copy_only=False) for n in columns]).astype(np.float64)
            seg, dist = _nearest((np.nan_to_num(x) - mu) / sd, c)
            yield pa.record_batch(
                [b.column("user_id"), pa.array(seg, pa.int32()), pa.array(dist, pa.float64())],
                names=["user_id", "segment", "distance"],
            )

    return features.select("user_id", *columns).mapInArrow(assign, USER_SEGMENTS.ddl)


def segment_profiles(
    user_segments: DataFrame,
    features: DataFrame,
    events: DataFrame,
    posts: DataFrame,
    *,
    columns: list[str],
    min_users: int,
    top_categories: int = 3,
    feature_source: str = "behaviour",
) -> DataFrame:
    """Per segment: size, mean features (unscaled), most viewed categories; k-suppressed.

    Args:
        user_segments: output of :func:`assign_segments`.
        features: the user features the segments were fitted on.
        events: silver.events (views give top categories).
        posts: silver.posts.
        columns: feature columns to average.
        min_users: k; smaller segments are dropped.
        top_categories: categories listed per segment.
        feature_source: where the features came from (``behaviour`` or ``gold.user_features``).

    Returns:
        Rows of the gold.segments schema.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    from socialflywheel.features.suppress import suppress_small_groups

    joined = user_segments.select("user_id", "segment").join(features, "user_id")
    pairs = [x for c in columns for x in (F.lit(c), F.avg(F.col(c).cast("double")))]
    sizes = joined.groupBy("segment").agg(F.count(F.lit(1)).alias("users"), F.create_map(*pairs).alias("features"))
    # The views stream through both joins: the engine builds its hash table from the left side (posts, then the
    # people's segments), never from the views.
    viewed = events.filter(F.col("event_type") == "view").select("user_id", "post_id")
    views = (
        user_segments.select("user_id", "segment")
        .join(posts.select("post_id", "category").join(viewed, "post_id"), "user_id")
        .groupBy("segment", "category")
        .agg(F.count(F.lit(1)).alias("n"))
    )
    rank = Window.partitionBy("segment").orderBy(F.col("n").desc(), F.col("category"))
    top = (
        views.withColumn("_rank", F.row_number().over(rank))
        .filter(F.col("_rank") <= top_categories)
        .groupBy("segment")
        .agg(F.sort_array(F.collect_list(F.struct("_rank", "category"))).alias("_top"))
        .select("segment", F.transform("_top", lambda s: s["category"]).alias("top_categories"))
    )
    out = sizes.join(top, "segment", "left").select(
        F.col("segment").cast("int"),
        F.col("users").cast("long"),
        "features",
        F.coalesce("top_categories", F.array().cast("array<string>")).alias("top_categories"),
        F.lit(feature_source).alias("feature_source"),
    )
    return suppress_small_groups(out, user_count_col="users", k=min_users)


def _latest_user_features(
    spark: SparkSession, lake: Lake, *, windows_days: list[int], categories: list[str]
) -> DataFrame | None:
    """Part B's gold.user_features at each user's latest as-of date, one column per vector position.

    Every person's snapshots run to the table's last as-of date (the grid of :func:`user_features` ends there for
    all), so the latest snapshots are that one day's partition: read alone, with no window over the whole table (at
    10M events the window, computed for the fit, the assignment and the profiles, took 146 s). None when the table
    is not written yet, so segments never wait on it.
    """
    if not lake.exists("gold.user_features"):
        return None
    from pyspark.sql import functions as F

    from socialflywheel.features import user_features as part_b

    wins = windows_days
    names = part_b.user_feature_names(windows_days=wins, categories=categories)
    table = lake.read(spark, "gold.user_features")
    # A join with the one-row last day, not a filter on the scan: Sail's local-cluster mode failed the vector below
    # ("no UDF found for array_length") when it ran over a filtered scan.
    snap = table.agg(F.max("as_of_date").alias("as_of_date")).join(table, "as_of_date")
    vec = snap.select("user_id", part_b.user_feature_vector(windows_days=wins, categories=categories).alias("_v"))
    return vec.select("user_id", *[F.col("_v")[i].alias(n) for i, n in enumerate(names)])


def build_segments(spark: SparkSession, lake: Lake, fc: FeaturesConfig, *, k: int, seed: int) -> int:
    """Fit segments, write gold.user_segments and gold.segments (both overwritten).

    Args:
        spark: the session.
        lake: silver and gold.user_features in, the segment tables out.
        fc: the ``features`` section (segments, the fit sample, the snapshot windows).
        k: the smallest publishable segment (``privacy.min_group_users``).
        seed: the k-means seed.

    Returns:
        Segment profiles written (after suppression).
    """
    events = lake.read(spark, "silver.events")
    posts = read_posts(spark, lake)
    categories = sorted(r[0] for r in posts.select("category").distinct().collect())
    features, source = (
        _latest_user_features(spark, lake, windows_days=fc.windows_days, categories=categories),
        "gold.user_features",
    )
    if features is None:
        features, source = behaviour_features(events, posts, categories=categories), "behaviour"
    columns = feature_columns(features)
    features = features.select("user_id", *[features[c].cast("double").alias(c) for c in columns]).fillna(0.0)
    fit = fit_segment_centres(features, columns=columns, k=fc.segments, seed=seed, max_users=fc.segment_fit_users)
    lake.overwrite(assign_segments(features, **fit), USER_SEGMENTS.name)
    profiles = segment_profiles(
        lake.read(spark, USER_SEGMENTS.name),
        features,
        events,
        posts,
        columns=columns,
        min_users=k,
        feature_source=source,
    )
    lake.overwrite(profiles, SEGMENTS.name)
    return lake.read(spark, SEGMENTS.name).count()
