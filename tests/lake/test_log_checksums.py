"""Log clean-up removes the checksum files of commits it drops (delta-spark's N.crc holds min/max statistics,
so identifiers: found by the cluster erasure test), and never one whose commit is still there."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from socialflywheel.lake.io import Lake
from socialflywheel.lake.maintenance import cleanup_log, drop_orphan_checksums


def _table(tmp_path: Path, versions: int) -> tuple[Lake, Path]:
    lake = Lake(str(tmp_path / "lake"))
    path = Path(lake.path("truth.trends"))
    for i in range(versions):
        data = pa.table(
            {
                "hashtag": [f"#tag{i}"],
                "start_ts": pa.array([0], pa.timestamp("us", tz="UTC")),
                "end_ts": pa.array([0], pa.timestamp("us", tz="UTC")),
                "strength": [1.0],
            }
        )
        write_deltalake(str(path), data, mode="overwrite")
    return lake, path / "_delta_log"


def test_checksums_of_dropped_commits_go_and_the_others_stay(tmp_path: Path) -> None:
    lake, log = _table(tmp_path, 3)
    written: dict[str, str] = {}  # checksum file -> the commit it belongs to
    for v in range(3):  # what delta-spark leaves beside each commit, and Hadoop's own checksum of it
        commit = f"{v:020d}.json"
        written[f"{v:020d}.crc"] = written[f".{commit}.crc"] = commit
    for name in written:
        (log / name).write_text('{"stats": "u000001"}')
    cleanup_log(lake, "truth.trends", log_retention="interval 0 hours")
    commits = {p.name for p in log.glob("*.json")}
    assert f"{0:020d}.json" not in commits  # the clean-up dropped old commits...
    kept = {p.name for p in log.iterdir() if p.name.endswith(".crc")}
    assert kept == {n for n, c in written.items() if c in commits}  # ...and exactly their checksums
    latest = max(commits)
    (log / f"{latest.removesuffix('.json')}.crc").write_text("{}")
    (log / f".{latest}.crc").write_bytes(b"crc")
    assert drop_orphan_checksums(lake, "truth.trends") == []  # a commit that is there keeps its checksums
