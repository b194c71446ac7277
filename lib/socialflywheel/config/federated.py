"""Federated learning and analytics settings (the `federated` job)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from socialflywheel.config._base import Seed, Strict


class FederatedConfig(Strict):
    """What the federated job runs, over which clients, under which privacy parameters."""

    task: Literal["trends"] = Field(
        "trends",
        description="trends: trending-hashtag discovery where each device reports only locally privatized "
        "(epsilon-LDP) hashtag use per day, scored like the central trend job's daily buckets.",
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
        1.0, gt=0, le=64, description="secagg: user-level epsilon of the whole release (all days, all hashtags)."
    )
    delta: float | None = Field(
        None, gt=0, lt=1, description="secagg: delta of the release; null = 1 / (10 x clients)."
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
    timeout_s: float = Field(3600.0, gt=0, le=86_400, description="Longest a federated run may take.")
