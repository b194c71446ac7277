"""Local differential privacy for set-valued reports: padding-and-sampling + optimized unary encoding.

A device holds a *set* of items (here: the hashtags its owner used in one day) and answers with one report for
the whole set, so the unit of one report's privacy is everything the person did in it, not one post. The report
is built on the device:

1. **Padding and sampling** (Wang et al., "Locally Differentially Private Protocols for Frequency Estimation",
   USENIX Security 2017, and "PrivSet"-style padding): the set is truncated to ``cap`` items (a uniform sample
   when larger) and padded with dummy items ``domain .. domain + cap - 1`` up to ``cap``; one of the ``cap``
   slots is drawn uniformly. Every real item is drawn with probability exactly ``1 / cap``.
2. **Optimized unary encoding** (OUE, same paper): the drawn item is one-hot over ``domain + cap`` bits; its own
   bit is kept with probability ``p = 1/2``, every other bit is set with probability ``q = 1 / (e^eps + 1)``.
   For any two inputs and any output the probability ratio is at most ``e^eps`` (the test enumerates it), and
   sampling can only lower the privacy loss, so a report is ``eps``-LDP for the person's whole set. Reports of
   the same person compose: ``k`` reports (one a day for ``k`` days) are ``k * eps``-LDP by basic composition.

The server only ever sums reports; ``estimate`` turns the sum of ``n`` reports into counts of people per item,
``cap * (sum - n q) / (p - q)``, unbiased for people holding at most ``cap`` items (one holding ``k > cap`` counts
``cap / k`` towards each of hers: the price of bounding what one person can contribute), with variance ``cap^2 n q
(1 - q) / (p - q)^2`` per item plus a sampling term that grows with the item's count. Only numpy is imported: this
runs on the devices (Flower's ClientApps) and on the server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SetOUE:
    """The mechanism's public parameters (the server sends them; every device uses the same).

    Attributes:
        domain: Number of real items (item ids ``0 .. domain - 1``).
        cap: Items per person that count (the padding length); a person with more is sampled down.
        epsilon: Local privacy parameter of one person's one report.
    """

    domain: int
    cap: int
    epsilon: float

    def __post_init__(self) -> None:
        """Refuse parameters that make no mechanism (an empty domain or cap, a non-finite epsilon)."""
        if self.domain < 1 or self.cap < 1:
            raise ValueError(f"domain and cap must be >= 1, got domain={self.domain} cap={self.cap}")
        if not self.epsilon > 0 or math.isinf(self.epsilon):
            raise ValueError(f"epsilon must be a finite positive number, got {self.epsilon}")

    @property
    def bits(self) -> int:
        """Length of one report: the real items and the ``cap`` dummy slots."""
        return self.domain + self.cap

    @property
    def p(self) -> float:
        """Probability that the drawn item's own bit is 1."""
        return 0.5

    @property
    def q(self) -> float:
        """Probability that any other bit is 1."""
        return 1.0 / (math.exp(self.epsilon) + 1.0)

    def draw(self, items: np.ndarray, rng: np.random.Generator) -> int:
        """The one slot a person's report encodes: a real item with probability ``1 / cap`` each, else a dummy."""
        items = np.unique(np.asarray(items, dtype=np.int64))
        if len(items) and (items.min() < 0 or items.max() >= self.domain):
            raise ValueError(f"item ids must lie in 0..{self.domain - 1}")
        if len(items) > self.cap:
            items = rng.choice(items, size=self.cap, replace=False)
        slot = int(rng.integers(self.cap))
        return int(items[slot]) if slot < len(items) else self.domain + slot

    def privatize(self, items: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One person's report: ``bits`` randomized bits, packed (``np.packbits``, ``ceil(bits / 8)`` bytes)."""
        bits = rng.random(self.bits) < self.q
        bits[self.draw(items, rng)] = rng.random() < self.p
        return np.packbits(bits)

    def unpack(self, report: np.ndarray) -> np.ndarray:
        """A packed report's bits as ``uint8`` (0/1), checked for length."""
        report = np.asarray(report, dtype=np.uint8)
        if report.shape != ((self.bits + 7) // 8,):
            raise ValueError(f"a report holds {(self.bits + 7) // 8} bytes, got shape {report.shape}")
        return np.unpackbits(report, count=self.bits)

    def estimate(self, bit_sums: np.ndarray, reports: int) -> np.ndarray:
        """Unbiased counts of people per real item from the summed bits of ``reports`` reports."""
        sums = np.asarray(bit_sums, dtype=np.float64)[: self.domain]
        return self.cap * (sums - reports * self.q) / (self.p - self.q)

    def variance(self, reports: int, counts: np.ndarray | float = 0.0) -> np.ndarray | float:
        """Variance of :meth:`estimate` per item, given the true counts (0 for the noise floor alone).

        A person holding the item sets its bit with probability ``p / cap + q (1 - 1 / cap)``; one who does not,
        with probability ``q``; the estimate is those Bernoulli sums scaled by ``cap / (p - q)``.
        """
        c = np.asarray(counts, dtype=np.float64)
        hit = self.p / self.cap + self.q * (1 - 1 / self.cap)
        var = c * hit * (1 - hit) + (reports - c) * self.q * (1 - self.q)
        out = (self.cap / (self.p - self.q)) ** 2 * var
        return float(out) if out.ndim == 0 else out
