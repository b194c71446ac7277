"""Recommender training and batch recommendation settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from socialflywheel.config._base import Strict


class TrainConfig(Strict):
    """Two-tower training."""

    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks cuda when visible.")
    nproc: int = Field(1, ge=1, description="DDP processes on this host (torchrun).")
    epochs: int = Field(8, ge=1, description="Maximum epochs.")
    batch_size: int = Field(1024, ge=8, description="Global batch size.")
    embedding_dim: int = Field(64, ge=4, description="Output embedding size.")
    lr: float = Field(3e-3, gt=0, description="Adam learning rate.")
    temperature: float = Field(0.05, gt=0, description="Softmax temperature.")
    random_negatives: int = Field(0, ge=0, description="Extra uniformly sampled negatives per batch.")
    patience: int = Field(2, ge=0, description="Epochs without validation recall gain before stopping.")
    seed: int = Field(1, description="Training seed.")


class RecommendConfig(Strict):
    """Batch top-K recommendations."""

    k: int = Field(50, ge=1, description="Recommendations per user.")
    index: Literal["auto", "flat", "ivf", "hnsw"] = Field("auto", description="auto: exact below 100k items.")
    fresh_days: int = Field(2, ge=0, description="Posts this new are admitted to the corpus.")
