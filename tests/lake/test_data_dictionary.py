"""The data dictionary in the repo is the catalog's, and `flywheel tables --schema` prints it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.catalog.dictionary import markdown


def test_docs_data_dictionary_is_current() -> None:
    current = (REPO / "docs" / "data-dictionary.md").read_text()
    assert current == markdown(), "docs/data-dictionary.md is stale: python -m socialflywheel.lake.catalog.dictionary"


def test_every_table_and_column_is_in_the_dictionary() -> None:
    text = markdown()
    for t in CATALOG.values():
        assert f"### `{t.name}`" in text
        section = text.split(f"### `{t.name}`", 1)[1].split("### ", 1)[0]
        assert [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")] == t.column_names


def test_cli_tables_schema_prints_the_dictionary() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "socialflywheel.cli", "tables", "--schema"],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == markdown()
