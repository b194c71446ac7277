"""Arrow/NumPy helpers for the prepare step: streaming a Delta table file by file, vocabularies, list columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

_UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


@dataclass(frozen=True)
class SourceBatch:
    """One record batch of one data file of a Delta table."""

    file_no: int
    batch: pa.RecordBatch


@dataclass(frozen=True)
class TableFiles:
    """The data files of one version of a Delta table, as paths inside the filesystem that serves them."""

    filesystem: pa_fs.FileSystem
    paths: list[str]


def table_files(lake: Lake, name: str) -> tuple[TableFiles, int]:
    """The data files of a Delta table's current version and that version (recorded as read).

    The files are read through the lake's own filesystem (the local disk, or the object store with the
    environment's endpoint and credentials), so a lake on ``s3://`` prepares the same way as a local one.

    Args:
        lake: The lake.
        name: Catalog name of the table.

    Returns:
        ``(files, version)``.

    Raises:
        FileNotFoundError: when the table does not exist.
    """
    found = lake.data_files(name)
    if found is None:
        raise FileNotFoundError(f"{name} does not exist under {lake.root}: run the job that writes it first")
    filesystem, paths, version = found
    return TableFiles(filesystem, paths), version


def iter_batches(files: TableFiles, columns: Sequence[str], *, batch_rows: int) -> Iterator[SourceBatch]:
    """Stream the given columns of Parquet files, one record batch at a time (never the whole table).

    Partition columns are not stored in Delta data files, so ``columns`` must name stored ones.
    """
    for file_no, path in enumerate(files.paths):
        with files.filesystem.open_input_file(path) as source:
            pf = pq.ParquetFile(source)
            for batch in pf.iter_batches(batch_size=batch_rows, columns=list(columns)):
                yield SourceBatch(file_no, batch)


def seconds(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A timestamp column as int64 seconds since the epoch (UTC)."""
    unit = arr.type.unit if pa.types.is_timestamp(arr.type) else "s"
    raw = pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(raw, dtype=np.int64) // _UNIT_PER_SECOND[unit]


def vocabulary(values: Sequence[pa.Array]) -> pa.Array:
    """Sorted distinct non-null strings of several arrays: the dense id order (index = id)."""
    if not values:
        return pa.array([], pa.string())
    merged = pa.chunked_array([v.cast(pa.string()) for v in values], type=pa.string())
    uniq = pc.unique(merged.drop_null())
    return pc.take(uniq, pc.sort_indices(uniq))


def encode(values: pa.Array | pa.ChunkedArray, vocab: pa.Array, *, missing: int = -1) -> np.ndarray:
    """Dense int64 ids of ``values`` in ``vocab`` (``missing`` where absent or null)."""
    idx = pc.index_in(values, value_set=vocab)
    return np.asarray(pc.fill_null(idx, missing).to_numpy(zero_copy_only=False), dtype=np.int64)


def list_array(values: np.ndarray, lengths: np.ndarray, value_type: pa.DataType) -> pa.Array:
    """A list column from flat values and per-row lengths."""
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=value_type))


def matrix_column(matrix: np.ndarray) -> pa.Array:
    """A ``list<float32>`` column from a dense ``[rows, dim]`` matrix."""
    rows, dim = matrix.shape
    lengths = np.full(rows, dim, dtype=np.int64)
    return list_array(matrix.reshape(-1).astype(np.float32), lengths, pa.float32())


def dense_lists(arr: pa.Array | pa.ChunkedArray, dim: int) -> np.ndarray:
    """A list<double> column as a ``[rows, dim]`` float32 matrix (nulls and short lists zero-padded)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    out = np.zeros((n, dim), dtype=np.float32)
    if n == 0 or dim == 0:
        return out
    lengths = np.asarray(pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = np.asarray(pc.fill_null(arr.flatten(), 0.0).to_numpy(zero_copy_only=False), dtype=np.float32)
    cols = np.arange(len(values)) - np.repeat(offsets[:-1], lengths)
    rows = np.repeat(np.arange(n), lengths)
    keep = cols < dim
    out[rows[keep], cols[keep]] = values[keep]
    return out


def windows(items: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """``list<int64>`` column of ``items[starts[i]:ends[i]]`` per row (empty when ``ends <= starts``)."""
    lengths = np.maximum(ends - starts, 0).astype(np.int64)
    total = int(lengths.sum())
    offs = np.concatenate([[0], np.cumsum(lengths)])
    idx = np.arange(total) - np.repeat(offs[:-1], lengths) + np.repeat(starts, lengths)
    return list_array(items[idx].astype(np.int64), lengths, pa.int64())


class LatestRows:
    """Per-id latest feature vector among rows strictly before a cutoff (one, or one per id), updated batch by batch."""

    def __init__(self, *, size: int, dim: int, cutoff: int | np.ndarray) -> None:
        self.cutoff = cutoff
        self.ts = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
        self.values = np.zeros((size, dim), dtype=np.float32)

    def update(self, ids: np.ndarray, ts: np.ndarray, values: np.ndarray) -> None:
        """Offer rows ``(id, ts, vector)``; an id keeps the vector of its latest row before the cutoff."""
        ids = np.asarray(ids)
        known = ids >= 0
        cut = self.cutoff[np.maximum(ids, 0)] if isinstance(self.cutoff, np.ndarray) else self.cutoff
        keep = (ts < cut) & known
        if not keep.any():
            return
        ids, ts, values = ids[keep], ts[keep], values[keep]
        order = np.lexsort((ts, ids))
        ids, ts, values = ids[order], ts[order], values[order]
        last = np.r_[ids[1:] != ids[:-1], True]
        ids, ts, values = ids[last], ts[last], values[last]
        newer = ts >= self.ts[ids]
        self.ts[ids[newer]] = ts[newer]
        self.values[ids[newer]] = values[newer]
