"""A contract change: one field missing or mistyped in most rows of a landing file fails the batch as a whole.

Row by row such lines would all go to quarantine; a file where most rows lack a field is a producer's schema
change, which a person should see before anything is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

ROW_LEVEL_TYPE_REASONS = ("missing_field", "wrong_type")


class SchemaChangeError(ValueError):
    """A landing file breaks the contract as a whole (a field gone or retyped), not row by row."""


@dataclass(frozen=True)
class StatusCount:
    """Parsed rows of one landing file with one status (None: valid) and one detail prefix."""

    source_file: str
    """The landing file, relative to the landing root."""
    status: str | None
    """The row-level rejection reason, None for a valid row."""
    detail: str | None
    """The detail up to its first ``:`` (names the field at fault)."""
    n: int
    """How many rows."""


def check_breaking(stats: list[StatusCount], *, share: float, batch_id: str) -> None:
    """Fail the batch when one field is missing or mistyped in most rows of a file (a contract change).

    Raises:
        SchemaChangeError: a file of at least 20 rows has more than ``share`` of them missing or mistyping one field.
    """
    per_file: Counter[str] = Counter()
    for row in stats:
        per_file[row.source_file] += row.n
    for row in stats:
        total = per_file[row.source_file]
        if row.status in ROW_LEVEL_TYPE_REASONS and total >= 20 and row.n / total > share:
            name = (row.detail or "").split(" ")[0].split(":")[0]
            raise SchemaChangeError(
                f"breaking schema change in {row.source_file}: field '{name}' is {row.status.replace('_', ' ')} "
                f"in {row.n} of {total} rows; batch {batch_id} failed, nothing was written "
                "(map renamed fields with ingest.field_mapping)"
            )
