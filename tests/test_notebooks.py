"""The notebooks run top to bottom on the tiny lake (after features and graph) in the venv's own kernel."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from tests.conftest import REPO, copy_lake

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNEL = "flywheel-venv"


@pytest.fixture(scope="module")
def notebook_env(
    tmp_path_factory: pytest.TempPathFactory, tiny_lake: tuple[FlywheelConfig, Lake], spark: Any
) -> dict[str, str]:
    """A private copy of the tiny lake with features and graph, and a kernel spec for this interpreter."""
    from socialflywheel.features.job import run_features
    from socialflywheel.graph.job import run_graph

    root = tmp_path_factory.mktemp("notebooks")
    cfg, lake = copy_lake(tiny_lake[0], root / "work")
    run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
    run_graph(spark, Lake.from_config(cfg), cfg.graph)
    spec = root / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]  # the venv's python, by path
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return {"FLYWHEEL_WORK_DIR": str(cfg.work_path), "JUPYTER_PATH": str(root / "jupyter"), "cwd": str(root)}


def _text(nb: Any) -> str:
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            out.append(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


def test_notebooks_exist() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01_explore_lake.ipynb", "02_graph_insights.ipynb", "03_recommender_evaluation.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, notebook_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("FLYWHEEL_WORK_DIR", notebook_env["FLYWHEEL_WORK_DIR"])
    monkeypatch.setenv("JUPYTER_PATH", notebook_env["JUPYTER_PATH"])
    nb = nbformat.read(path, as_version=4)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), "a parameter cell is tagged"
    started = time.monotonic()
    client = NotebookClient(
        nb, timeout=240, kernel_name=KERNEL, allow_errors=False, resources={"metadata": {"path": notebook_env["cwd"]}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.monotonic() - started
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "every notebook draws at least one plot"
    text = _text(nb)
    assert f"lake: {notebook_env['FLYWHEEL_WORK_DIR']}/lake" in text  # it read the lake it was pointed at
    if path.stem.startswith("01"):
        assert "silver.events" in text and "view" in text
    if path.stem.startswith("02"):
        assert "communities under k=" in text and "user_id" in text and "leader_share" in text
    if path.stem.startswith("03"):
        # the copied lake has no MLflow store: the notebook trains its tiny model, then compares it
        assert "0 finished training run(s)" in text and "\ntrained (not registered)" in text
        assert "two_tower R@50" in text
        # #16 item 4: a notebook never registers (so it never changes what serves)
        from mlflow.tracking import MlflowClient

        store = f"sqlite:///{notebook_env['FLYWHEEL_WORK_DIR']}/mlflow.db"
        assert MlflowClient(tracking_uri=store, registry_uri=store).search_registered_models() == []
    assert elapsed < 120, f"{path.name} took {elapsed:.0f}s on the tiny lake"
