"""Prepared shards: the seeded layout of training rows into blocks and the spill that writes one file per block.

The plan is one position per row (a global seeded shuffle, or consecutive time blocks shuffled inside), so the
shards are a function of the rows and the seed only, never of how the source table was laid out in files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ShardOrder = Literal["time", "random"]


def shard_plan(
    data: dict[str, np.ndarray], rows: np.ndarray, *, blocks: int, seed: int, order: ShardOrder
) -> np.ndarray:
    """Each row's position in the written training data (-1 for rows not in ``rows``).

    ``rows`` (indices into ``data``) are ordered canonically by (ts, user, item, weight), which
    depends only on the rows, not on the files they were read from; rows equal in all four are
    identical in every prepared column, so their relative order does not matter. ``random``: the
    positions are a seeded permutation of the canonical order; ``time``: each of the ``blocks``
    consecutive ranges of the canonical order keeps its range of positions, shuffled inside.
    """
    position = np.full(len(data["ts"]), -1, dtype=np.int64)
    n = len(rows)
    if n == 0:
        return position
    canon = rows[np.lexsort((data["weight"][rows], data["items"][rows], data["users"][rows], data["ts"][rows]))]
    perm = np.random.default_rng([seed, 17]).permutation(n)
    if order == "time":
        ranked = np.lexsort((perm, block_of(np.arange(n), n, blocks)))
        perm = np.empty(n, dtype=np.int64)
        perm[ranked] = np.arange(n)
    position[canon] = perm
    return position


def block_of(position: np.ndarray, n: int, blocks: int) -> np.ndarray:
    """The block of each position when ``n`` positions are cut into ``blocks`` near-equal ranges."""
    return position * blocks // max(n, 1)


class BlockSpill:
    """External sort of training rows by position into block files, with at most ``max_open`` files open.

    Pieces are spilled to at most ``max_open`` files (consecutive blocks share one), then each spill file
    alone is read back, sorted and cut into its blocks, written as ``part-<block>.parquet`` (one row group each).
    """

    _POS = "__position"

    def __init__(self, out: Path, *, rows: int, blocks: int, max_open: int = 128) -> None:
        self.out = out
        self.spill = out / "_spill"
        self.rows, self.blocks = rows, blocks
        self.per_file = max(1, -(-blocks // max_open))
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.parquet"):
            old.unlink()
        if self.spill.exists():
            for old in self.spill.glob("*"):
                old.unlink()
        self.spill.mkdir(exist_ok=True)
        self.writers: dict[int, pq.ParquetWriter] = {}

    def add(self, table: pa.Table, position: np.ndarray) -> None:
        """Append rows (with their positions) to their blocks' spill files."""
        table = table.append_column(self._POS, pa.array(position, pa.int64()))
        file_of = block_of(position, self.rows, self.blocks) // self.per_file
        for f in np.unique(file_of):
            piece = table.filter(pa.array(file_of == f))
            writer = self.writers.get(int(f))
            if writer is None:
                writer = self.writers[int(f)] = pq.ParquetWriter(self.spill / f"{f:05d}.parquet", piece.schema)
            writer.write_table(piece)

    def finish(self) -> int:
        """Write every block as one shard and remove the spill; returns the rows written."""
        written = 0
        for f, writer in sorted(self.writers.items()):
            writer.close()
            path = self.spill / f"{f:05d}.parquet"
            table = pq.read_table(path).sort_by(self._POS)
            blocks = block_of(table.column(self._POS).to_numpy(), self.rows, self.blocks)
            table = table.drop_columns([self._POS])
            for b in np.unique(blocks):
                lo, hi = np.searchsorted(blocks, [b, b + 1])
                part = table.slice(int(lo), int(hi - lo))
                pq.write_table(part, self.out / f"part-{b:05d}.parquet", row_group_size=max(1, part.num_rows))
                written += part.num_rows
            path.unlink()
        self.spill.rmdir()
        return written
