"""A table lookup never depends on what the process imported before (found on the cluster: a fresh
`graph` process did not see gold.account_risk and kept risky accounts that the in-process run dropped)."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import textwrap

import pytest

from socialflywheel.jobs_registry import JOBS
from socialflywheel.lake.catalog import CATALOG


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _job_modules(job: str) -> list[str]:
    """The modules a job's binder imports (its library function's module and what it needs)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(JOBS[job].run)))
    return sorted({n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module})


@pytest.mark.parametrize("job", sorted(JOBS))
def test_every_table_is_found_after_importing_only_one_job(job: str) -> None:
    names = sorted(CATALOG)
    modules = _job_modules(job)
    assert any(m.startswith("socialflywheel.") for m in modules), modules
    code = (
        f"import importlib, json; [importlib.import_module(m) for m in {modules!r}]\n"
        "from socialflywheel.lake.catalog import table, is_declared\n"
        f"names = {names!r}\n"
        "print(json.dumps([n for n in names if not (is_declared(n) and table(n).name == n)]))"
    )
    assert json.loads(_fresh(code)) == []


def test_unknown_table_still_fails_with_the_catalog_listed() -> None:
    from socialflywheel.lake.catalog import table

    with pytest.raises(KeyError, match=r"unknown table 'gold\.nope'; the catalog has: .*silver\.events"):
        table("gold.nope")
