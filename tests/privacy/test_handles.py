"""The governed handle mapping (#19): loaded pseudonymized, bad lines named and skipped, erased people never loaded
again, erasure deletes a person's handle, and the report names an influencer by handle only when mapped."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.privacy.handles import handles_of, load_handles
from socialflywheel.privacy.pseudonymize import pseudonym
from socialflywheel.tracking import Tracking
from tests.conftest import REPO, copy_lake

FLYWHEEL = REPO / ".venv" / "bin" / "flywheel"


def _csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(["user_id,handle,basis", *lines]) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_named_and_the_rest_load_idempotently(tmp_path: Path) -> None:
    from tests.conftest import make_config

    cfg = make_config(tmp_path / "work")
    lake, key = Lake.from_config(cfg), cfg.privacy.hmac_key()
    good = _csv(tmp_path / "h.csv", "u1,alice,official", "u2,@bob,consent", "u3,not a handle!,consent", "u4,carol,",
                "u5,dave", ",erin,consent")  # fmt: skip
    result = load_handles(lake, good, key=key)
    assert result.lines == 6 and result.loaded == 2 and result.erased == 0
    assert [p.split(":")[1] for p in result.problems] == ["4", "5", "6", "7"]  # file:line of each bad one
    assert all(str(good) in p for p in result.problems)
    mapped = handles_of(lake)
    assert mapped == {pseudonym("u1", key): "@alice", pseudonym("u2", key): "@bob"}
    assert "u1" not in repr(lake.read_arrow("silver.public_handles").to_pylist())  # no raw id stored
    version = lake.version("silver.public_handles")
    assert load_handles(lake, good, key=key).loaded == 2 and handles_of(lake) == mapped
    assert lake.version("silver.public_handles") == (version or 0) + 1  # rewritten, same rows
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,name\nu1,alice\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"wrong.csv:1: the header must be user_id,handle,basis"):
        load_handles(lake, wrong, key=key)
    assert handles_of(lake) == mapped  # nothing of a refused file is loaded


def test_erasure_deletes_a_handle_and_an_erased_person_is_never_loaded_again(
    tiny_lake: tuple[FlywheelConfig, Lake], spark: Any, tmp_path: Path
) -> None:
    from socialflywheel.privacy.erase import run_erase

    cfg, lake = copy_lake(tiny_lake[0], tmp_path / "copy")
    key = cfg.privacy.hmac_key()
    people = sorted(set(lake.read_arrow("bronze.events", columns=["user_id"]).column("user_id").to_pylist()))[:2]
    mapping = _csv(tmp_path / "h.csv", f"{people[0]},first,official", f"{people[1]},second,consent")
    load_handles(lake, mapping, key=key)
    run_erase(spark, lake, cfg.privacy, tracking=Tracking.from_config(cfg), work=cfg.work_path, user_ids=[people[0]])
    assert handles_of(lake) == {pseudonym(people[1], key): "@second"}
    again = load_handles(lake, mapping, key=key)
    assert again.erased == 1 and handles_of(lake) == {pseudonym(people[1], key): "@second"}


def test_the_cli_loads_a_file_and_names_bad_lines(tmp_path: Path) -> None:
    mapping = _csv(tmp_path / "h.csv", "u1,alice,official", "u2,,consent")
    argv = [str(FLYWHEEL), "handles", str(mapping), "--set", f"work_dir={tmp_path / 'work'}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"handles: skipped {mapping}:3:" in out.stderr and "people mapped" in out.stdout
