"""Backend selection and the optional cuGraph backend on a machine without RAPIDS."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from socialflywheel.features.risk import risky_accounts
from socialflywheel.graph import select
from socialflywheel.graph.backends.networkit import NetworkitBackend
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
    declared = Table(
        "gold.account_risk", pa.schema({"user_id": pa.string(), "score": pa.float64(), "is_risky": pa.bool_()})
    )
    schema = declared.ddl
    monkeypatch.setitem(CATALOG, "gold.account_risk", declared)
    assert risky_accounts(spark, lake) is None  # declared but not written yet: nobody excluded
    rows = [("a", 0.9, True), ("b", 0.2, False), ("c", 0.51, False)]
    lake.overwrite(spark.createDataFrame(rows, schema), "gold.account_risk")
    by_flag = risky_accounts(spark, lake)
    assert by_flag is not None and sorted(r["user_id"] for r in by_flag.collect()) == ["a"]
    by_score = risky_accounts(spark, lake, threshold=0.5)
    assert by_score is not None and sorted(r["user_id"] for r in by_score.collect()) == ["a", "c"]
