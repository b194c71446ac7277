"""Read every byte under a folder, decoding Parquet (compressed pages hide plain bytes), looking for ids."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq


def id_patterns(raw_ids: list[str], pseudonyms: list[str]) -> list[re.Pattern[bytes]]:
    """Raw ids as whole tokens (``u000001`` must not match inside ``eu0000012``) and pseudonyms."""
    pats = [re.compile(rb"(?<![0-9A-Za-z])" + re.escape(r.encode()) + rb"(?![0-9A-Za-z])") for r in raw_ids]
    return pats + [re.compile(re.escape(p.encode())) for p in pseudonyms]


def _strings(value: object, out: set[bytes]) -> None:
    if isinstance(value, str):
        out.add(value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, bytes):
        out.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _strings(v, out)


def synthetic_bounds(path: Path, rows: list[dict[str, object]]) -> set[bytes]:
    """The min and max statistics of a Parquet file's column chunks that are no value of the file, as bytes.

    A writer may truncate a long bound and, for the max, increment its last byte to keep it an upper bound
    (arrow-rs, which writes delta-rs checkpoints, truncates at 64 bytes): a stats JSON ending ``"u000000`` at
    byte 64 becomes the max ``…"u000001``, an id that is in no value. Every byte of a bound but that last one is
    a prefix of a real value, which :func:`file_texts` scans decoded, so nothing real is hidden by masking them.
    """
    values: set[bytes] = set()
    _strings(rows, values)
    meta = pq.ParquetFile(path).metadata
    bounds: set[bytes] = set()
    for rg in range(meta.num_row_groups):
        for col in range(meta.num_columns):
            stats = meta.row_group(rg).column(col).statistics
            if stats is None or not stats.has_min_max:
                continue
            for bound in (stats.min, stats.max):
                if isinstance(bound, bytes | str):
                    bounds.add(bound if isinstance(bound, bytes) else bound.encode("utf-8", "surrogatepass"))
    return bounds - values


def file_texts(path: Path) -> list[bytes]:
    """The file's bytes, and for Parquet also every decoded value (data files and checkpoints).

    A Parquet file's raw bytes are read with its synthetic statistics bounds masked (see
    :func:`synthetic_bounds`); the values they are cut from are read decoded.
    """
    blobs = [path.read_bytes()]
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        rows = table.to_pylist()
        for bound in sorted(synthetic_bounds(path, rows), key=len, reverse=True):
            blobs[0] = blobs[0].replace(bound, b"\0" * len(bound))
        blobs.append(repr(rows).encode("utf-8", "backslashreplace"))
        blobs.extend(v for col in table.columns if col.type in ("binary", "large_binary") for v in col.to_pylist() if v)
    return blobs


def find_ids(root: Path, patterns: list[re.Pattern[bytes]]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        for blob in file_texts(path):
            for pat in patterns:
                if pat.search(blob):
                    hits.setdefault(str(path.relative_to(root)), []).append(pat.pattern.decode("latin-1")[-40:])
    return hits
