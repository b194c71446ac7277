"""Backend selection and the optional cuGraph backend on a machine without RAPIDS."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.graph import select
from socialflywheel.graph.backends.networkit import NetworkitBackend
from socialflywheel.graph.job import risky_accounts
from socialflywheel.lake.catalog import CATALOG, Table
from socialflywheel.lake.io import Lake
from tests.conftest import make_config


def test_cugraph_module_imports_without_rapids() -> None:
    module = importlib.import_module("socialflywheel.graph.backends.cugraph")
    assert module.CugraphBackend.name == "cugraph"


def test_auto_falls_back_to_networkit_and_logs_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(select, "cugraph_importable", lambda: (False, "cugraph is not installed"))
    with caplog.at_level(logging.INFO, logger="socialflywheel.graph.select"):
        backend = select.select_backend("auto", threads=1)
    assert isinstance(backend, NetworkitBackend)
    assert "networkit" in caplog.text and "cugraph is not installed" in caplog.text


def test_auto_without_gpu_falls_back(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(select, "cugraph_importable", lambda: (True, "cugraph imports"))
    monkeypatch.setattr(select, "gpu_visible", lambda: (False, "cupy sees 0 CUDA device(s)"))
    with caplog.at_level(logging.INFO, logger="socialflywheel.graph.select"):
        assert isinstance(select.select_backend("auto", threads=1), NetworkitBackend)
    assert "0 CUDA device" in caplog.text


def test_explicit_cugraph_fails_loudly_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(select, "cugraph_importable", lambda: (False, "cugraph is not installed"))
    with pytest.raises(RuntimeError, match="cugraph is not installed"):
        select.select_backend("cugraph")


def test_risky_accounts_read_from_gold_account_risk(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake.from_config(make_config(tmp_path / "work"))
    assert risky_accounts(spark, lake, threshold=0.5) is None  # no table declared: nobody excluded
    monkeypatch.setitem(
        CATALOG, "gold.account_risk", Table("gold.account_risk", "user_id string, risk_score double")
    )
    assert risky_accounts(spark, lake, threshold=0.5) is None  # declared but not written yet
    rows = [("a", 0.9), ("b", 0.2), ("c", 0.51)]
    lake.overwrite(spark.createDataFrame(rows, "user_id string, risk_score double"), "gold.account_risk")
    risky = risky_accounts(spark, lake, threshold=0.5)
    assert risky is not None and sorted(r["user_id"] for r in risky.collect()) == ["a", "c"]
