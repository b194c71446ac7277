"""Split boundaries (global or per user, with the leak checks) and the point-in-time history index."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.recsys._arrow import iter_batches, seconds, table_files, windows
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

SPLITS = ("train", "val", "test")
END_OF_TIME = np.iinfo(np.int64).max
DAY = 86_400
_TS_SHIFT = 1 << 32


class SplitLeakError(ValueError):
    """The source's splits overlap in time (a train row at or after the validation start, ...)."""


class Positives:
    """Positives sorted by (user, ts, item): the point-in-time history index."""

    def __init__(self, users: np.ndarray, items: np.ndarray, ts: np.ndarray, num_users: int) -> None:
        order = np.lexsort((items, ts, users))
        self.users, self.items, self.ts = users[order], items[order], ts[order]
        self.t0 = int(ts.min()) if len(ts) else 0
        self.keys = self.users * _TS_SHIFT + (self.ts - self.t0)
        self.user_start = np.searchsorted(self.users, np.arange(num_users))

    def history(self, users: np.ndarray, ts: np.ndarray, length: int) -> pa.Array:
        """Each (user, ts)'s last ``length`` positive items strictly before ``ts``, oldest first."""
        cut = np.clip(ts - self.t0, -1, _TS_SHIFT - 1)
        ends = np.searchsorted(self.keys, users * _TS_SHIFT + cut, side="left")
        starts = np.maximum(self.user_start[users], ends - length)
        return windows(self.items, starts, ends)


def too_few_days(days: dict[str, set[int]]) -> str | None:
    """The one-line error when a split holds no day, naming the days there are and the config keys to lower.

    Args:
        days: Per split name, the days (since the epoch, UTC) of its rows.
    """
    if all(days[name] for name in SPLITS):
        return None
    every = set().union(*days.values())
    if not every:
        return f"{TRAINING_EXAMPLES_NAME} has no rows: run features first"
    first, last = min(every), max(every)
    n = last - first + 1
    k = max(1, (n - 1) // 4)
    lower = f"--set features.test_days={k} --set features.validation_days={k}"
    fix = f"lower them ({lower})" if n >= 3 else f"land {3 - n} more day(s) and lower them ({lower})"
    on = " .. ".join(str(dt.date(1970, 1, 1) + dt.timedelta(days=d)) for d in (first, last))
    return (
        f"{TRAINING_EXAMPLES_NAME} spans {n} days of events ({on}): {len(days['train'])} train, {len(days['val'])} "
        f"validation and {len(days['test'])} test days; training needs a day of each, so at least "
        f"features.test_days + features.validation_days + 1 days: {fix}, rerun features, then train"
    )


def check_split_days(lake: Lake, *, batch_rows: int = 1 << 20) -> None:
    """Raise the :func:`too_few_days` error before any heavy work (reads the ``ts`` and ``split`` columns only)."""
    files, _ = table_files(lake, TRAINING_EXAMPLES_NAME)
    days: dict[str, set[int]] = {name: set() for name in SPLITS}
    for sb in iter_batches(files, ["ts", "split"], batch_rows=batch_rows):
        day = seconds(sb.batch.column("ts")) // DAY
        for name in SPLITS:
            mask = pc.fill_null(pc.equal(sb.batch.column("split"), name), False).to_numpy(zero_copy_only=False)
            days[name].update(np.unique(day[mask]).tolist())
    if (error := too_few_days(days)) is not None:
        raise ValueError(error)


def split_bounds(ts: np.ndarray, split: np.ndarray) -> tuple[int, int, int]:
    """Validation start, test start and end; raises :class:`SplitLeakError` when splits overlap in time."""
    spans = {}
    for code, name in enumerate(SPLITS):
        sel = ts[split == code]
        if not len(sel):
            days = {n: set(np.unique(ts[split == c] // DAY).tolist()) for c, n in enumerate(SPLITS)}
            raise ValueError(too_few_days(days))
        spans[name] = (int(sel.min()), int(sel.max()))
    if not spans["train"][1] < spans["val"][0] <= spans["val"][1] < spans["test"][0]:
        raise SplitLeakError(f"splits overlap in time (min, max seconds): {spans}")
    return spans["val"][0], spans["test"][0], spans["test"][1]


def user_split_bounds(
    users: np.ndarray, ts: np.ndarray, split: np.ndarray, num_users: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-user validation and test starts (each user's own time-ordered split); checks each user's order."""
    lo = np.full((3, num_users), END_OF_TIME, dtype=np.int64)
    hi = np.full((3, num_users), np.iinfo(np.int64).min, dtype=np.int64)
    for code in range(3):
        sel = split == code
        np.minimum.at(lo[code], users[sel], ts[sel])
        np.maximum.at(hi[code], users[sel], ts[sel])
    bad = (hi[0] >= np.minimum(lo[1], lo[2])) | (hi[1] >= lo[2])
    if bad.any():
        raise SplitLeakError(f"{int(bad.sum())} users have train/val/test rows out of time order")
    test_start = lo[2]
    val_start = np.minimum(lo[1], test_start)
    return val_start, test_start, int(ts.max())
