"""The simulator: a social platform with planted ground truth, written as landing event dumps."""

from socialflywheel.simulate.engine import SimulateResult, run_simulate

__all__ = ["SimulateResult", "run_simulate"]
