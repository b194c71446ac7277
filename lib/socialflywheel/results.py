"""The job contract's output: every job returns a typed result, a subclass of :class:`JobResult`.

The base holds what every run has (rows in and out; the run id and the Delta versions read and written, filled in by
``runs.execute_job``); each job's subclass adds its own figures as typed fields, declared next to the job. The run
record, the CLI summary, the demo, MLflow and the report read these fields, never a dictionary of names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

# A figure a job reports: a number, a flag, a name, or a small table of them (per reason, per table, per type).
Scalar = int | float | str | bool | None
Figure = Scalar | Mapping[str, Scalar] | list[str] | list[Mapping[str, Scalar]]

_RUN_FIELDS = ("run_id", "versions_read", "versions_written")


@dataclass(kw_only=True)
class JobResult:
    """What every job run produces."""

    rows_in: int = 0
    """Rows the job read from its inputs."""
    rows_out: int = 0
    """Rows the job wrote."""
    run_id: str | None = None
    """The run's id in audit.job_runs (set by ``execute_job``)."""
    versions_read: dict[str, int] = field(default_factory=dict)
    """Delta version of every table the job read (set by ``execute_job``)."""
    versions_written: dict[str, int] = field(default_factory=dict)
    """Delta version of every table the job wrote (set by ``execute_job``)."""

    def figures(self) -> dict[str, Figure]:
        """The job's own figures and its row counts, in declaration order (what the CLI and the demo print)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _RUN_FIELDS}

    def to_json(self) -> dict[str, object]:
        """Everything, as JSON-ready values (for a notebook, an Airflow XCom or a log line)."""
        return dataclasses.asdict(self)
