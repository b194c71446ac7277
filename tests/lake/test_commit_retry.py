"""The commit-retry policy: which failures are a lost commit race, and what is repeated."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from deltalake.exceptions import CommitFailedError
from pyspark.errors.exceptions.connect import AnalysisException, SparkRuntimeException

from socialflywheel.lake.io import CommitConflictError, is_commit_conflict, with_commit_retry


def _sail_conflict() -> SparkRuntimeException:
    """What Sail raised in three threads MERGE-ing into one table (pysail 0.7.2): no condition, this message."""
    return SparkRuntimeException(message="Failed to commit transaction: 0")


@pytest.mark.parametrize(
    ("exc", "conflict"),
    [
        (CommitFailedError("Transaction failed: version 3 already exists"), True),
        (_sail_conflict(), True),
        # A log read racing another process's commit (two writers, tests/test_faults.py): repeated like a conflict.
        (SparkRuntimeException(message="Missing commit file: expected version 0, found 8"), True),
        # Not a race: repeating these could not help, and must not hide the error.
        (ValueError("schema conflict between batch and table"), False),
        (RuntimeError("Failed to commit transaction: 0"), False),  # the text alone, from outside Spark
        (AnalysisException(message="[DELTA_SCHEMA_CHANGED] concurrent schema conflict"), False),
        (CommitConflictError("x"), False),
    ],
)
def test_conflicts_are_classified_by_type_not_by_words(exc: BaseException, conflict: bool) -> None:
    """Mutation tried: the old marker list ("conflict" anywhere in the text) retried the ValueError and the
    AnalysisException rows; this test failed on them."""
    assert is_commit_conflict(exc) is conflict


def _flaky(failures: list[BaseException]) -> tuple[Callable[[], None], list[int]]:
    calls: list[int] = []

    def write() -> None:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]

    return write, calls


def test_a_lost_race_is_repeated_until_it_lands() -> None:
    write, calls = _flaky([CommitFailedError("lost"), _sail_conflict()])
    with_commit_retry(write, table="silver.follows", base_delay=0.001)
    assert len(calls) == 3


def test_another_error_is_raised_at_once() -> None:
    write, calls = _flaky([ValueError("bad data")])
    with pytest.raises(ValueError, match="bad data"):
        with_commit_retry(write, table="silver.follows", base_delay=0.001)
    assert len(calls) == 1


def test_a_race_lost_every_time_names_the_table_and_keeps_the_cause() -> None:
    write, calls = _flaky([CommitFailedError(f"lost {i}") for i in range(10)])
    with pytest.raises(CommitConflictError, match=r"silver\.follows: .* after 4 attempts") as info:
        with_commit_retry(write, table="silver.follows", attempts=4, base_delay=0.001)
    assert len(calls) == 4
    assert isinstance(info.value.__cause__, CommitFailedError)
    assert str(info.value.__cause__) == "lost 3"
