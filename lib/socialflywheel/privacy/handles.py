"""The governed handle mapping: which people the report may name by their public handle (silver.public_handles).

``flywheel handles FILE`` loads a CSV of ``user_id,handle,basis`` (a raw id as the platform spells it, the public
handle, and the basis for showing it: ``official``, ``consent``, ...). Ids are pseudonymized with the lake's key on
arrival, so the table joins with the lake's pseudonyms and holds no raw id. A line that cannot be loaded is named
(file, line, what is wrong, what to do) and skipped; the others load. A person on the erasure suppression list is
never loaded again. Loading the same file twice changes nothing; a later file's row for a person replaces theirs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from socialflywheel.lake.catalog import table
from socialflywheel.privacy import suppression
from socialflywheel.privacy.pseudonymize import pseudonym

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

TABLE = "silver.public_handles"
COLUMNS = ("user_id", "handle", "basis")
HANDLE = re.compile(r"^@?[A-Za-z0-9_.\-]{1,64}$")


@dataclass
class HandlesResult:
    """What a load did: lines read, rows now mapped, people refused as erased, and each skipped line's reason."""

    lines: int = 0
    loaded: int = 0
    erased: int = 0
    problems: list[str] = field(default_factory=list)


def _parse(path: Path) -> tuple[list[tuple[int, str, str, str]], list[str], int]:
    """``(line, user_id, handle, basis)`` of each good line, one message per bad line, and the lines read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"handles: cannot read {path} ({type(exc).__name__}): give a UTF-8 CSV file") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip() for c in rows[0]] != list(COLUMNS):
        raise ValueError(f"handles: {path}:1: the header must be {','.join(COLUMNS)}; nothing was loaded")
    good, problems = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(COLUMNS):
            problems.append(f"{path}:{number}: {len(row)} fields, expected 3 ({','.join(COLUMNS)}); fix or remove it")
            continue
        user, handle, basis = row[0], row[1].strip(), row[2].strip()
        if not user:
            problems.append(f"{path}:{number}: empty user_id; give the platform's raw id")
        elif not HANDLE.match(handle):
            problems.append(f"{path}:{number}: handle {handle[:40]!r} is not 1-64 letters, digits, _ . - (an @ first)")
        elif not basis:
            problems.append(f"{path}:{number}: empty basis; say why the handle may be shown (official, consent, ...)")
        else:
            good.append((number, user, handle if handle.startswith("@") else f"@{handle}", basis))
    return good, problems, len(rows) - 1


def load_handles(lake: Lake, path: Path, *, key: bytes) -> HandlesResult:
    """Load a handles CSV into silver.public_handles (see the module docstring); returns what it did.

    Raises:
        ValueError: the file cannot be read or has the wrong header (nothing is loaded).
    """
    good, problems, lines = _parse(path)
    listed = suppression.tokens(lake)
    now = dt.datetime.now(dt.UTC)
    current = {r["user_id"]: r for r in lake.read_arrow(TABLE).to_pylist()} if lake.exists(TABLE) else {}
    result = HandlesResult(lines=lines, problems=problems)
    for _, user, handle, basis in good:
        pseudo = pseudonym(user, key)
        if suppression.token(pseudo, key) in listed:
            result.erased += 1
            continue
        old = current.get(pseudo)
        if old is None or (old["handle"], old["basis"]) != (handle, basis):
            current[pseudo] = {"user_id": pseudo, "handle": handle, "basis": basis, "granted_at": now}
    rows = sorted(current.values(), key=lambda r: r["user_id"])
    lake.write_arrow(pa.Table.from_pylist(rows, schema=table(TABLE).schema), TABLE, mode="overwrite")
    result.loaded = len(rows)
    return result


def handles_of(lake: Lake) -> dict[str, str]:
    """Pseudonym -> public handle of everyone the governed mapping names (empty when there is no mapping)."""
    if not lake.exists(TABLE):
        return {}
    rows = lake.read_arrow(TABLE, columns=["user_id", "handle"]).to_pylist()
    return {r["user_id"]: r["handle"] for r in rows}
