"""Table maintenance through delta-rs: history, compaction, vacuum, restore, log clean-up."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from socialflywheel.lake.io import Lake

if TYPE_CHECKING:
    from deltalake import DeltaTable


def _table(lake: Lake, name: str) -> DeltaTable:
    dt_ = lake.delta(name)
    if dt_ is None:
        raise FileNotFoundError(f"table {name} does not exist at {lake.path(name)}")
    return dt_


def history(lake: Lake, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Commits of a table, newest first."""
    return list(_table(lake, name).history(limit))


def compact(lake: Lake, name: str, *, target_size: int | None = None) -> dict[str, Any]:
    """Bin-pack small files into larger ones (a new version; old files stay until vacuum)."""
    return dict(_table(lake, name).optimize.compact(target_size=target_size))


def vacuum(lake: Lake, name: str, *, retention_hours: int = 168, dry_run: bool = False) -> list[str]:
    """Delete files no longer referenced by versions younger than ``retention_hours``."""
    return list(
        _table(lake, name).vacuum(retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=False)
    )


def restore(lake: Lake, name: str, *, version: int) -> dict[str, Any]:
    """Make ``version`` the current state again (a new commit)."""
    return dict(_table(lake, name).restore(version))


def cleanup_log(lake: Lake, name: str, *, log_retention: str | None = None) -> None:
    """Checkpoint, then drop log entries older than the table's log retention.

    Args:
        lake: the lake.
        name: catalog table name.
        log_retention: when given (e.g. ``"interval 0 hours"``), set ``delta.logRetentionDuration`` first,
            so old commits stop holding data (GDPR erasure needs this).
    """
    table = _table(lake, name)
    if log_retention is not None:
        table.alter.set_table_properties({"delta.logRetentionDuration": log_retention}, raise_if_not_exists=False)
    table.create_checkpoint()
    table.cleanup_metadata()
    drop_orphan_checksums(lake, name)


def drop_orphan_checksums(lake: Lake, name: str) -> list[str]:
    """Delete ``NNN.crc`` files of the Delta log whose commit ``NNN.json`` is gone.

    delta-spark writes a checksum file beside every commit, with file statistics (min/max values, so
    identifiers) in it; delta-rs' log clean-up removes old commits but not their checksums. Without this,
    an erased person's id survives in the log of a table delta-spark wrote (seen on the cluster path).
    """
    import pyarrow.fs as pa_fs

    from socialflywheel.lake.storage import locate

    loc = locate(f"{lake.path(name)}/_delta_log")
    listed = loc.fs.get_file_info(pa_fs.FileSelector(loc.path, allow_not_found=True))
    names = {info.base_name for info in listed if info.type == pa_fs.FileType.File}

    def commit_of(crc: str) -> str:  # delta's N.crc belongs to N.json; Hadoop's .X.crc to X
        return crc[1:].removesuffix(".crc") if crc.startswith(".") else f"{crc.removesuffix('.crc')}.json"

    orphans = sorted(n for n in names if n.endswith(".crc") and commit_of(n) not in names)
    for orphan in orphans:
        loc.fs.delete_file(f"{loc.path}/{orphan}")
    return orphans


def describe(lake: Lake, name: str) -> dict[str, Any] | None:
    """Rows, version, bytes and last write time of a table; None when it does not exist."""
    table = lake.delta(name)
    if table is None:
        return None
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=True))
    cols = actions.column_names
    rows = sum(v for v in actions.column("num_records").to_pylist() if v is not None) if "num_records" in cols else 0
    size = sum(actions.column("size_bytes").to_pylist()) if "size_bytes" in cols else 0
    last = table.history(1)[0].get("timestamp")
    when = dt.datetime.fromtimestamp(last / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if last else ""
    return {
        "table": name,
        "rows": rows,
        "version": table.version(),
        "bytes": size,
        "files": actions.num_rows,
        "last_write": when,
    }
