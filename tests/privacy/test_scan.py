"""The erasure oracle itself: it finds every id a Delta table holds, and none that it does not.

Seen in CI (stop 30): after an erasure the Airflow test found the erased ``u000001`` in truth.users' checkpoint,
in no value: arrow-rs truncated the checkpoint's max statistic of ``add.stats`` at 64 bytes, where the JSON read
``…"u000000``, and incremented the last byte. Whether a key lands on byte 64 depends on the stats' key order,
which changes run to run.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.privacy.scan import find_ids, id_patterns

TOKEN = re.compile(rb"(?<![0-9A-Za-z])u000001(?![0-9A-Za-z])")


def _table_with_checkpoint(column: str, ids: list[str]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="scan-"))
    write_deltalake(str(root), pa.table({column: pa.array(ids, pa.string())}))
    DeltaTable(str(root)).create_checkpoint()
    return root


def test_a_truncated_statistic_is_not_an_id_but_the_value_it_was_cut_from_is() -> None:
    # '{"numRecords":1,"minValues":{"' + 24 characters + '":"u000000' is 64 bytes: the cut falls after the id.
    root = _table_with_checkpoint("c" * 24, ["u000000"])
    checkpoint = next(root.glob("_delta_log/*.checkpoint.parquet"))
    assert TOKEN.search(checkpoint.read_bytes())  # the synthetic bound is there, as bytes
    assert find_ids(root, id_patterns(["u000001"], [])) == {}
    found = find_ids(root, id_patterns(["u000000"], []))
    assert checkpoint.relative_to(root).as_posix() in found  # the stats JSON, decoded
    assert any(name.endswith(".parquet") and "_delta_log" not in name for name in found)  # the data file


@settings(max_examples=5, deadline=None)
@given(held=st.sets(st.integers(min_value=0, max_value=99), min_size=1, max_size=12))
def test_every_held_id_is_found_and_no_other(held: set[int]) -> None:
    ids = [f"u{n:06d}" for n in sorted(held)]
    absent = id_patterns([f"u{n:06d}" for n in range(100) if n not in held], [])
    for width in range(12, 37):  # column names around the 64-byte cut, so that an id's end falls on it
        root = _table_with_checkpoint("c" * width, ids)
        found = find_ids(root, id_patterns(ids, []))
        for data_file in root.glob("*.parquet"):
            assert len(set(found.get(data_file.name, []))) == len(ids), width  # every id, in the data file
        assert find_ids(root, absent) == {}, width
