"""Split boundaries (global or per user, with the leak checks) and the point-in-time history index."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialflywheel.recsys._arrow import windows
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME

SPLITS = ("train", "val", "test")
END_OF_TIME = np.iinfo(np.int64).max
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


def split_bounds(ts: np.ndarray, split: np.ndarray) -> tuple[int, int, int]:
    """Validation start, test start and end; raises :class:`SplitLeakError` when splits overlap in time."""
    spans = {}
    for code, name in enumerate(SPLITS):
        sel = ts[split == code]
        if not len(sel):
            raise ValueError(
                f"{TRAINING_EXAMPLES_NAME} has no '{name}' rows: the examples span fewer days than training needs "
                "(more than features.validation_days + features.test_days); train once more days have landed, or "
                "shorten those windows"
            )
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
