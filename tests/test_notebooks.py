"""The notebooks run top to bottom on the tiny lake (after features and graph) in the venv's own kernel."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from tests.conftest import REPO, copy_lake, make_config
from tests.jobs import TRAIN_SMALL, train

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNEL = "flywheel-venv"
RENDERED = REPO / "build" / "notebooks"  # the executed notebooks as HTML (git-ignored)


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
    # one training run, made by the train job as the pipeline would (the notebooks only read what it tracked)
    train(spark, make_config(cfg.work_path, "simulate.profile=tiny", *TRAIN_SMALL))
    spec = root / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]  # the venv's python, by path
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    first = min(lake.read_arrow("silver.events", columns=["event_date"]).column("event_date").to_pylist())
    return {
        "FLYWHEEL_WORK_DIR": str(cfg.work_path),
        "JUPYTER_PATH": str(root / "jupyter"),
        "cwd": str(root),
        "START": (first + dt.timedelta(days=1)).isoformat(),  # a date range that leaves the first day out
    }


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
    """Each notebook runs through papermill with its parameters injected (never the environment), and its executed
    copy is rendered to HTML for people to read (build/notebooks, git-ignored)."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    monkeypatch.delenv("FLYWHEEL_WORK_DIR", raising=False)  # the parameters alone point it at the lake
    monkeypatch.setenv("JUPYTER_PATH", notebook_env["JUPYTER_PATH"])
    source = nbformat.read(path, as_version=4)
    assert any("parameters" in c.metadata.get("tags", []) for c in source.cells), "a parameter cell is tagged"
    executed = Path(notebook_env["cwd"]) / f"{path.stem}.executed.ipynb"
    params = {"WORK_DIR": notebook_env["FLYWHEEL_WORK_DIR"], "START": notebook_env["START"]}
    started = time.monotonic()
    papermill.execute_notebook(
        str(path),
        str(executed),
        parameters=params,
        kernel_name=KERNEL,
        cwd=notebook_env["cwd"],
        progress_bar=False,
        execution_timeout=240,
    )  # fmt: skip  (raises PapermillExecutionError on the first failing cell)
    elapsed = time.monotonic() - started
    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "every notebook draws at least one plot"
    text = _text(nb)
    assert f"lake: {notebook_env['FLYWHEEL_WORK_DIR']}/lake" in text  # it read the lake it was pointed at
    assert f"days: {notebook_env['START']} to last" in text
    if path.stem.startswith("01"):
        assert "silver.events" in text and "view" in text
        assert "counted on: delta-rs" in text  # a tiny lake is counted on the driver (ENGINE="auto")
    if path.stem.startswith("02"):
        assert "communities under k=" in text and "user_id" in text and "leader_share" in text
    if path.stem.startswith("03"):
        assert "1 finished training run(s)" in text and "two_tower R@50" in text
    html, _ = HTMLExporter().from_notebook_node(nb)
    out = RENDERED / f"{path.stem}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    assert html.count("data:image/png;base64,") >= len(images)
    _RENDERED_NOW[path.stem] = (out, len(images))
    assert elapsed < 120, f"{path.name} took {elapsed:.0f}s on the tiny lake"


def test_the_lake_notebook_counts_on_the_configured_engine(
    notebook_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#19: with ENGINE="spark" notebook 01 counts on the config's Spark engine (its own session in the kernel: Sail
    here, the cluster with a cluster config) and shows the same event mix as the driver-side count."""
    import nbformat
    import papermill

    monkeypatch.delenv("FLYWHEEL_WORK_DIR", raising=False)
    monkeypatch.setenv("JUPYTER_PATH", notebook_env["JUPYTER_PATH"])
    outputs = {}
    for engine in ("spark", "delta-rs"):
        out = tmp_path / f"01-{engine}.ipynb"
        papermill.execute_notebook(
            str(REPO / "notebooks" / "01_explore_lake.ipynb"),
            str(out),
            parameters={"WORK_DIR": notebook_env["FLYWHEEL_WORK_DIR"], "ENGINE": engine},
            kernel_name=KERNEL,
            cwd=notebook_env["cwd"],
            progress_bar=False,
            execution_timeout=240,
        )
        outputs[engine] = nbformat.read(out, as_version=4)
    assert "counted on: spark" in _text(outputs["spark"]) and "counted on: delta-rs" in _text(outputs["delta-rs"])
    mix = [next(c for c in nb.cells if 'mix["share"]' in "".join(c.source)) for nb in outputs.values()]
    tables = [o["data"]["text/plain"] for c in mix for o in c.outputs if "text/plain" in o.get("data", {})]
    assert len(tables) == 2 and tables[0] == tables[1]  # the same event mix, counted on either


_RENDERED_NOW: dict[str, tuple[Path, int]] = {}
"""Notebooks rendered by this session's run of :func:`test_notebook_runs_top_to_bottom`: (HTML, plots)."""


@pytest.mark.browser
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_rendered_notebook_in_headless_chromium(path: Path, tmp_path: Path) -> None:
    """#19: each rendered notebook opens in Chromium with every plot decoded; its screenshot is kept for people to
    look at (build/screenshots/<notebook>.png, git-ignored, beside the report's)."""
    from tests.browser import chromium, screenshot

    if path.stem not in _RENDERED_NOW:
        pytest.skip("renders what test_notebook_runs_top_to_bottom executed in this session; run it too")
    html, plots = _RENDERED_NOW[path.stem]
    # offline: a rendered notebook may name a CDN script; nothing is fetched and the page still renders
    with chromium(tmp_path / "profile", width=1100, offline=True) as context:
        page = context.new_page()
        page.goto(html.as_uri(), wait_until="load")
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        assert len(images) >= plots and all(done and width > 0 for done, width in images), images
        assert page.locator("h1, h2").count() >= 1
        assert screenshot(page, path.stem).stat().st_size > 10_000


def test_the_recommender_notebook_trains_nothing_where_no_run_exists(
    notebook_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#19: notebook 03 trained a model when it found none. Pointed at the same lake (LAKE_URI) from a work dir
    with no MLflow store, it now says so and creates nothing: no store, no run, no model."""
    import nbformat
    import papermill

    monkeypatch.delenv("FLYWHEEL_WORK_DIR", raising=False)
    monkeypatch.setenv("JUPYTER_PATH", notebook_env["JUPYTER_PATH"])
    work = tmp_path / "empty-work"
    params = {"WORK_DIR": str(work), "LAKE_URI": f"{notebook_env['FLYWHEEL_WORK_DIR']}/lake"}
    out = tmp_path / "03.ipynb"
    path = REPO / "notebooks" / "03_recommender_evaluation.ipynb"
    papermill.execute_notebook(
        str(path), str(out), parameters=params, kernel_name=KERNEL, cwd=str(tmp_path), progress_bar=False
    )
    text = _text(nbformat.read(out, as_version=4))
    assert f"lake: {params['LAKE_URI']}" in text
    assert "0 finished training run(s)" in text and "run `flywheel train` (this notebook never trains" in text
    assert not (work / "mlflow.db").exists() and not (work / "mlartifacts").exists()
