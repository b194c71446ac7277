"""Read every byte under a folder, decoding Parquet (compressed pages hide plain bytes), looking for ids."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq


def id_patterns(raw_ids: list[str], pseudonyms: list[str]) -> list[re.Pattern[bytes]]:
    """Raw ids as whole tokens (``u000001`` must not match inside ``eu0000012``) and pseudonyms."""
    pats = [re.compile(rb"(?<![0-9A-Za-z])" + re.escape(r.encode()) + rb"(?![0-9A-Za-z])") for r in raw_ids]
    return pats + [re.compile(re.escape(p.encode())) for p in pseudonyms]


def file_texts(path: Path) -> list[bytes]:
    """The file's bytes, and for Parquet also every decoded value (data files and checkpoints)."""
    blobs = [path.read_bytes()]
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        blobs.append(repr(table.to_pylist()).encode("utf-8", "backslashreplace"))
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
