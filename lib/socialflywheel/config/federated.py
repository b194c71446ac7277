"""Federated learning and analytics settings (the `federated` job)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from socialflywheel.config._base import Seed, Strict


class FederatedTrainingConfig(Strict):
    """Federated two-tower training (``task: twotower``): rounds, sampling, devices' local SGD, aggregation, DP."""

    rounds: int = Field(20, ge=1, le=10_000, description="Federated rounds.")
    fraction: float = Field(
        0.05, gt=0, le=1, description="Share of the devices sampled each round (the DP sampling rate)."
    )
    local_epochs: int = Field(5, ge=1, le=100, description="Passes a device makes over its own examples a round.")
    lr: float = Field(0.2, gt=0, le=10, description="Devices' SGD step size.")
    aggregation: Literal["fedavg", "median", "trimmed", "krum"] = Field(
        "fedavg",
        description="Flower's FedAvg, or a robust aggregation against poisoned updates: FedMedian, FedTrimmedAvg "
        "(20% trimmed each side) or Krum.",
    )
    dp: Literal["none", "fixed", "adaptive"] = Field(
        "none",
        description="User-level central DP by Flower's server-side clipping (fixed norm, or adaptive to the "
        "median update norm) and Gaussian noise calibrated to `epsilon`/`delta` by dp-accounting's RDP "
        "accountant over the rounds at the sampling rate.",
    )
    clipping_norm: float = Field(1.0, gt=0, le=1e6, description="dp: the L2 bound (adaptive: its start).")
    compression: Literal["none", "int8", "topk"] = Field(
        "none", description="Devices' updates as 8-bit integers or top-k entries, with error feedback."
    )


class FederatedConfig(Strict):
    """What the federated job runs, over which clients, under which privacy parameters."""

    task: Literal["trends", "twotower"] = Field(
        "trends",
        description="trends: trending-hashtag discovery where each device reports only locally privatized "
        "(epsilon-LDP) or securely aggregated hashtag use per day, scored like the central trend job's daily "
        "buckets; twotower: the two-tower retrieval model trained on people's devices (`train`), scored on the "
        "time-based holdout.",
    )
    clients: Literal["device"] = Field(
        "device",
        description="device: a client per person who posted, holding their own events. (Regional silos, one client "
        "per country, are partitioned by socialflywheel.federated.partition for the training tasks; a trend report "
        "counts people, so the trend task runs on devices.)",
    )
    privacy: Literal["local_dp", "secagg"] = Field(
        "local_dp",
        description="local_dp: each client's daily report is epsilon_per_day-LDP before it leaves the device; "
        "secagg: clients add shares of Gaussian noise and the server learns only the sum through Flower's SecAgg+ "
        "(user-level (epsilon, delta) central DP over the whole range).",
    )
    epsilon: float = Field(
        1.0,
        gt=0,
        le=64,
        description="secagg: user-level epsilon of the whole release (all days, all hashtags); twotower with "
        "train.dp: user-level epsilon of the whole training run.",
    )
    delta: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="delta of the release; null = 1 / (10 x clients) (secagg) or 1 / clients (twotower).",
    )
    epsilon_per_day: float = Field(
        8.0,
        gt=0,
        le=64,
        description="local_dp: epsilon of one client's one daily report; a client's reports over D days are "
        "D * epsilon_per_day-LDP by basic composition (recorded as epsilon_total).",
    )
    cap: int = Field(
        2, ge=1, le=1000, description="Hashtags per client per day that count (a client with more is sampled down)."
    )
    seed: Seed = Field(0, description="Seeds the client numbering and the clients' randomness in simulation.")
    cpus: int = Field(0, ge=0, le=65_536, description="Cores Flower's simulation runtime (Ray) may use; 0 = all.")
    train: FederatedTrainingConfig = Field(default_factory=FederatedTrainingConfig)
    timeout_s: float = Field(3600.0, gt=0, le=86_400, description="Longest a federated run may take.")
