"""Time on the simulated platform: the period, daily and weekly activity cycles, seeded streams."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000

# Relative activity by hour of day (UTC): quiet nights, a lunch bump, an evening peak.
_HOURLY = np.array(
    [
        0.35,
        0.25,
        0.18,
        0.15,
        0.15,
        0.22,
        0.40,
        0.65,
        0.85,
        0.90,
        0.95,
        1.00,
        1.10,
        1.00,
        0.95,
        0.95,
        1.00,
        1.10,
        1.30,
        1.50,
        1.60,
        1.45,
        1.05,
        0.65,
    ]
)
# Relative activity by weekday (Monday first): weekends are busier.
_WEEKLY = np.array([0.92, 0.90, 0.92, 0.95, 1.02, 1.18, 1.15])


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent random stream for (seed, key...), so chunks and stages never share draws."""
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, *key]))


@dataclass(frozen=True)
class Period:
    """The simulated period: ``days`` days from ``start_ms`` (UTC epoch milliseconds)."""

    start_ms: int
    days: int

    @classmethod
    def from_date(cls, start_date: dt.date, days: int) -> Period:
        """The period of ``days`` days starting at midnight UTC of ``start_date``."""
        start = dt.datetime.combine(start_date, dt.time(), tzinfo=dt.UTC)
        return cls(int(start.timestamp() * 1000), days)

    @property
    def end_ms(self) -> int:
        """End of the period (exclusive), UTC epoch milliseconds."""
        return self.start_ms + self.days * MS_PER_DAY

    @property
    def hours(self) -> int:
        """Number of hours in the period."""
        return self.days * 24

    def hour_weights(self) -> np.ndarray:
        """Activity weight of every hour of the period (daily x weekly cycle), summing to 1."""
        hours = np.arange(self.hours)
        first_weekday = (self.start_ms // MS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday
        weekday = (first_weekday + hours // 24) % 7
        w = _HOURLY[hours % 24] * _WEEKLY[weekday]
        weights: np.ndarray = w / w.sum()
        return weights

    def sample(self, rng: np.random.Generator, n: int, *, lo_ms: np.ndarray | None = None) -> np.ndarray:
        """``n`` timestamps (ms) following the activity cycles; with ``lo_ms``, each at or after its bound."""
        w = self.hour_weights()
        if lo_ms is None:
            hour = rng.choice(self.hours, size=n, p=w)
            return self.start_ms + hour * MS_PER_HOUR + rng.integers(0, MS_PER_HOUR, size=n)
        cdf = np.cumsum(w)
        lo_hour = np.clip((lo_ms - self.start_ms) // MS_PER_HOUR, 0, self.hours - 1)
        base = np.where(lo_hour > 0, cdf[np.maximum(lo_hour - 1, 0)], 0.0)
        u = base + rng.random(n) * (1.0 - base)
        hour = np.minimum(np.searchsorted(cdf, u, side="right"), self.hours - 1)
        ts = self.start_ms + hour * MS_PER_HOUR + rng.integers(0, MS_PER_HOUR, size=n)
        bounded: np.ndarray = np.maximum(ts, lo_ms + 1000)
        return bounded
