"""Recommender training and batch recommendation settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from socialflywheel.config._base import INT32_MAX, MAX_DAYS, Seed, Strict, Url


class TrainConfig(Strict):
    """Two-tower training (``socialflywheel.recsys.core.train_loop.train``)."""

    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks cuda when visible.")
    nproc: int = Field(1, ge=1, le=4096, description="DDP processes on this host (torchrun).")
    launcher: Literal["torchrun", "distributor"] = Field(
        "torchrun",
        description="torchrun: processes on this host; distributor: Spark's TorchDistributor on a classic cluster.",
    )
    shared_dir: Url | None = Field(
        None,
        min_length=1,
        description="launcher=distributor: a folder every executor reaches (s3:// or s3a://, or a shared mount) "
        "where the driver puts the prepared shards and the models travel; removed after the run. null: the "
        "driver's work_dir paths are used as they are (only where executors share the driver's disk).",
    )
    epochs: int = Field(8, ge=1, le=100_000, description="Maximum epochs.")
    batch_size: int = Field(1024, ge=8, le=2**26, description="Global batch size (split evenly over the processes).")
    embedding_dim: int = Field(64, ge=4, le=65_536, description="Output embedding size.")
    hidden_dim: int = Field(128, ge=4, le=65_536, description="Width of each tower's MLP.")
    lr: float = Field(3e-3, gt=0, le=100, description="Adam learning rate.")
    temperature: float = Field(0.05, gt=0, le=1e6, description="Softmax temperature.")
    random_negatives: int = Field(0, ge=0, le=2**26, description="Extra uniformly sampled negatives per batch.")
    id_dropout: float = Field(
        0.9,
        ge=0.0,
        lt=1.0,
        description="Share of examples trained without the item id embedding; > 0 also drops it for items unseen "
        "in training (fresh posts), so they are ranked from category, author, hashtags and features.",
    )
    time_prior: bool = Field(
        True,
        description="Add a learned logit from each candidate's age and recent positives as of the query time "
        "(time-split data sets whose catalogue has creation times).",
    )
    sparse_ids: bool = Field(
        True,
        description="Id tables (user, post, author, hashtag) get row-sparse gradients and a lazy Adam that updates "
        "the rows a step read, so a step costs what the batch touched, not the tables' size (with DDP over CUDA "
        "processes, NCCL has no sparse all-reduce and they stay dense); false: dense Adam over every parameter.",
    )
    examples_per_epoch: int | None = Field(
        None,
        ge=1,
        le=2**62,
        description="Training examples per epoch (rounded up to whole batches): each epoch trains on another seeded "
        "subsample of the shards, for worlds whose full epochs take too long; the run records how many it saw. "
        "null: every example, every epoch.",
    )
    val_max_users: int | None = Field(
        20_000,
        ge=1,
        le=2**62,
        description="Validation (model selection, early stopping, the baselines' tuning) scores at most this many of "
        "the validation period's users, a fixed sample (recall@50 near 0.05 is then known to about +-0.003); the "
        "test holdout always scores every user. At 10M events scoring all 58k validation users against 300k posts "
        "took 241 s after an epoch of 150 s. null: all.",
    )
    refit_epochs: int = Field(
        1,
        ge=0,
        le=100_000,
        description="After selection on validation, epochs of warm-started training over train + val positives "
        "before the test evaluation and registration (the baselines are refit on train + val too; 0: no refit).",
    )
    promotion_margin: float = Field(
        0.0,
        ge=-1.0,
        le=1.0,
        description="Holdout Recall@50 a model must add over the best baseline's (most-popular, iALS) before it may "
        "take the serving alias; a negative margin turns that guard off (only for testing the champion comparison).",
    )
    every_days: int = Field(
        1,
        ge=1,
        le=366,
        description="Training cadence of dated runs (run_date set, as the daily DAG does): a run trains only when no "
        "finished training run for the every_days days up to its date exists, else it is skipped with the reason "
        "(1: every day; 7: weekly). Undated runs always train.",
    )
    patience: int = Field(
        2, ge=0, le=100_000, description="Epochs without validation recall gain before stopping (0: never)."
    )
    seed: Seed = Field(1, description="Training seed.")
    amp: Literal["auto", "off", "bf16"] = Field(
        "auto", description="Mixed precision: auto is bf16 autocast on GPUs that support it and fp32 on CPU."
    )
    checkpoint_every_steps: int = Field(
        0, ge=0, le=INT32_MAX, description="Mid-epoch checkpoint period in steps (0: none by steps)."
    )
    checkpoint_every_s: float = Field(
        120.0,
        ge=0,
        le=1e9,
        description="Mid-epoch checkpoint period in seconds of training (0: none by time); either period writes one, "
        "and every epoch end does. By time, since writing a large world's id tables and their optimizer state takes "
        "seconds: 200 steps between checkpoints spent 11% of training at 10M events.",
    )
    shuffle_buffer: int = Field(16384, ge=1, le=2**30, description="Training rows shuffled together in each process.")
    num_threads: int | None = Field(
        None, ge=1, le=65_536, description="CPU threads per process; null: cores divided by processes."
    )
    history_len: int = Field(20, ge=1, le=100_000, description="Recent items kept in each example's user history.")
    hashtag_len: int = Field(4, ge=1, le=10_000, description="Hashtags kept per item.")
    shard_rows: int = Field(
        4096,
        ge=128,
        le=2**30,
        description="Rows per block of the prepared training data (one shard file of one row group).",
    )
    shard_order: Literal["random", "time"] = Field(
        "random",
        description="random: one global seeded shuffle cut into blocks; time: consecutive time blocks shuffled "
        "inside (2.4x faster with the time prior, since a batch spans fewer hours, but Recall@50 0.009 lower on the "
        "default simulation). Either way the shards are a function of the rows and the seed only.",
    )
    split_by: Literal["time", "user_time"] = Field(
        "time",
        description="time: gold.training_examples splits are global periods (checked); user_time: each user's rows "
        "are time-ordered train/val/test (the per-user split of rating data sets).",
    )
    ials_factors: list[Annotated[int, Field(ge=1, le=65_536)]] = Field(
        default_factory=lambda: [32, 64], min_length=1, description="iALS baseline grid: latent factors (tuned on val)."
    )
    ials_regularization: list[Annotated[float, Field(ge=0, le=1e9)]] = Field(
        default_factory=lambda: [0.01, 0.1], min_length=1, description="iALS baseline grid: L2 regularization."
    )
    ials_alpha: list[Annotated[float, Field(gt=0, le=1e9)]] = Field(
        default_factory=lambda: [1.0, 10.0], min_length=1, description="iALS baseline grid: confidence scale."
    )


class RecommendConfig(Strict):
    """Batch top-K recommendations."""

    k: int = Field(50, ge=1, le=100_000, description="Recommendations per user.")
    index: Literal["auto", "flat", "ivf", "hnsw"] = Field("auto", description="auto: exact below exact_below items.")
    exact_below: int = Field(
        100_000, ge=1, le=INT32_MAX, description="Catalogue size up to which auto uses the exact index."
    )
    ivf_nlist: int | None = Field(None, ge=1, le=2**30, description="IVF cells; null: 4 * sqrt(items).")
    ivf_nprobe: int = Field(16, ge=1, le=2**30, description="IVF cells visited per query.")
    hnsw_m: int = Field(32, ge=4, le=4096, description="HNSW neighbours per node.")
    hnsw_ef_search: int = Field(128, ge=8, le=2**20, description="HNSW search breadth.")
    fresh_days: int = Field(2, ge=0, le=MAX_DAYS, description="Posts this new are admitted to the corpus.")
    trending_top: int = Field(1000, ge=0, le=INT32_MAX, description="Top trending posts admitted to the corpus.")
    min_item_interactions: int = Field(
        1, ge=0, le=INT32_MAX, description="Training interactions that admit an established post."
    )
    fallback_trend_weight: float = Field(
        0.5, ge=0, le=1, description="Share of trend (vs popularity) in the fallback for users the model has not seen."
    )
