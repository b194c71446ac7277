"""Named fault-injection points: tests kill a job with SIGKILL exactly there (FLYWHEEL_KILL_AT=<point>).

A point costs one dictionary lookup when the variable is unset. Points sit between the writes of a
job, so the tests can prove every table stays readable and a re-run adds nothing twice.
"""

from __future__ import annotations

import os
import signal

ENV = "FLYWHEEL_KILL_AT"


def kill_point(name: str) -> None:
    """SIGKILL this process when ``FLYWHEEL_KILL_AT`` names this point."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
