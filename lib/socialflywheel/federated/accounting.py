"""Privacy accounting with Google's dp-accounting (RDP): epsilon of a schedule, and the noise for a target epsilon.

A schedule is ``rounds`` releases of the Gaussian mechanism with noise multiplier ``z`` (noise standard deviation
over the L2 sensitivity), each over a sample of the clients drawn at rate ``q``; accounted as Poisson subsampling
(``q = 1``: every client, every round). Imported in the Flower venv, where dp-accounting is installed.
"""

from __future__ import annotations

import math


def epsilon_of(noise_multiplier: float, *, q: float, rounds: int, delta: float) -> float:
    """Epsilon at ``delta`` after ``rounds`` sampled Gaussian releases (infinite with no noise)."""
    import dp_accounting

    if noise_multiplier <= 0:
        return math.inf
    event = dp_accounting.GaussianDpEvent(noise_multiplier)
    if q < 1.0:
        event = dp_accounting.PoissonSampledDpEvent(q, event)
    acc = dp_accounting.rdp.RdpAccountant()
    acc.compose(event, int(rounds))
    return float(acc.get_epsilon(delta))


def noise_multiplier(epsilon: float, *, q: float = 1.0, rounds: int = 1, delta: float) -> float:
    """The smallest noise multiplier (to about 1e-6 relative) whose schedule spends at most ``epsilon`` at ``delta``.

    Found by bisection against :func:`epsilon_of`; ``epsilon = inf`` needs none (0.0).
    """
    if math.isinf(epsilon):
        return 0.0
    lo, hi = 1e-3, 1e3
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if epsilon_of(mid, q=q, rounds=rounds, delta=delta) <= epsilon else (mid, hi)
    return hi
