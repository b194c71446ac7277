"""The MLflow registry side of training: a pyfunc retrieval model, its registration and the serving alias.

The registered model is a pyfunc whose artifacts are the two-tower weights and what serving needs
next to them (the dataset meta, the user vocabulary and the serving-time user and item inputs). Its
``predict`` takes a DataFrame of ``user_id`` and returns ``user_id, post_id, rank, score`` (unknown
users get no rows). The serving alias moves to a new version only when its holdout Recall@50 beats
the alias holder's: both are read from the versions' tags, measured on the same holdout whenever the
datasets' fingerprints (hash of the user and post vocabularies and split starts) agree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from socialflywheel.config import FlywheelConfig
from socialflywheel.recsys.core.data import DatasetMeta

SCORE_TAG = "holdout_recall_at_50"
FINGERPRINT_TAG = "dataset_fingerprint"
SERVING_FILES = {
    "model": "model/model.pt",
    "meta": "data/meta.json",
    "users": "data/users.parquet",
    "queries": "data/serving/queries.parquet",
    "items": "data/serving/items.parquet",
}
PIP_REQUIREMENTS = ["socialflywheel", "torch", "faiss-cpu", "pyarrow", "numpy", "pandas"]


def dataset_fingerprint(data_root: str | Path) -> str:
    """A short hash of a prepared dataset's vocabularies and split starts (same holdout <=> same hash)."""
    root = Path(data_root)
    h = hashlib.sha256()
    for name, column in (("users.parquet", "user_id"), ("items.parquet", "post_id")):
        h.update("\n".join(pq.read_table(root / name, columns=[column]).column(column).to_pylist()).encode())
    extra = DatasetMeta.load(root).extra
    h.update(json.dumps([extra.get("val_start_ts"), extra.get("test_start_ts")]).encode())
    return h.hexdigest()[:16]


class TwoTowerRetrieval(PythonModel):
    """Top-K posts for known users: user tower over serving inputs, exact inner product over the catalogue."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load the weights and serving inputs, embed every item once."""
        from socialflywheel.recsys.core.data import user_arrays
        from socialflywheel.recsys.core.embed import embed, load_items
        from socialflywheel.recsys.core.model import load_model
        from socialflywheel.recsys.index import build_index

        art = context.artifacts
        self.meta = DatasetMeta.load(art["meta"])
        self.model = load_model(art["model"])
        items = load_items(art["items"], self.meta)
        self.post_ids = np.asarray(pq.read_table(art["items"], columns=["post_id"]).column("post_id").to_pylist())
        users = pq.read_table(art["users"], columns=["user_idx", "user_id"])
        self.user_row = {u: i for i, u in enumerate(users.column("user_id").to_pylist())}
        self.queries = user_arrays(pq.read_table(art["queries"]), self.meta)
        self.index = build_index(embed(self.model, items, tower="item"), kind="flat")

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """``user_id`` rows in, the top ``params['k']`` (default 10) posts per known user out."""
        from socialflywheel.recsys.core.embed import embed
        from socialflywheel.recsys.index import search_topk

        k = int((params or {}).get("k", 10))
        ids = [u for u in model_input["user_id"].astype(str).tolist() if u in self.user_row]
        if not ids:
            return pd.DataFrame({"user_id": [], "post_id": [], "rank": [], "score": []})
        rows = np.array([self.user_row[u] for u in ids])
        vec = embed(self.model, {key: v[rows] for key, v in self.queries.items()}, tower="user")
        top, scores = search_topk(self.index, vec, k=k)
        keep = top >= 0
        return pd.DataFrame(
            {
                "user_id": np.repeat(ids, k)[keep.reshape(-1)],
                "post_id": self.post_ids[top[keep]],
                "rank": np.tile(np.arange(1, k + 1), len(ids))[keep.reshape(-1)],
                "score": scores[keep].astype(np.float64),
            }
        )


@dataclass
class Registration:
    """A registered version and what the promotion decided."""

    name: str
    version: str
    promoted: bool
    score: float
    champion_version: str | None
    champion_score: float | None
    same_holdout: bool


def log_and_register(
    cfg: FlywheelConfig, *, run_dir: str | Path, score: float, model_path: str | Path | None = None
) -> tuple[str, str]:
    """Log the pyfunc model into the active run and register it; returns ``(model name, version)``.

    ``model_path`` is the evaluated ``model.pt`` (default: the run's ``model/model.pt``; the refit's
    when the selected model was refit on train + val).
    """
    from mlflow.models import infer_signature

    root = Path(run_dir)
    artifacts = {key: str(root / rel) for key, rel in SERVING_FILES.items()}
    if model_path is not None:
        artifacts["model"] = str(model_path)
    sample_in = pd.DataFrame({"user_id": ["u"]})
    sample_out = pd.DataFrame({"user_id": ["u"], "post_id": ["p"], "rank": [1], "score": [0.5]})
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=TwoTowerRetrieval(),
        artifacts=artifacts,
        signature=infer_signature(sample_in, sample_out, params={"k": 10}),
        registered_model_name=cfg.mlflow.registered_model,
        pip_requirements=PIP_REQUIREMENTS,
    )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    name = cfg.mlflow.registered_model
    client.set_model_version_tag(name, version, SCORE_TAG, f"{score:.6f}")
    client.set_model_version_tag(name, version, FINGERPRINT_TAG, dataset_fingerprint(root / "data"))
    return name, version


def promote_if_better(cfg: FlywheelConfig, *, version: str) -> Registration:
    """Give ``version`` the serving alias when nobody holds it or when it beats the holder's holdout Recall@50."""
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    name, alias = cfg.mlflow.registered_model, cfg.mlflow.serving_alias
    mine = client.get_model_version(name, version)
    score = float(mine.tags[SCORE_TAG])
    try:
        holder = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        holder = None
    if holder is None or str(holder.version) == str(mine.version):
        client.set_registered_model_alias(name, alias, version)
        return Registration(name, version, True, score, None, None, True)
    champion = float(holder.tags.get(SCORE_TAG, "-inf"))
    same = holder.tags.get(FINGERPRINT_TAG) == mine.tags.get(FINGERPRINT_TAG)
    promoted = score > champion
    if promoted:
        client.set_registered_model_alias(name, alias, version)
    return Registration(name, version, promoted, score, str(holder.version), champion, same)


def serving_version(cfg: FlywheelConfig) -> str:
    """The version holding the serving alias, else the latest registered version."""
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    name = cfg.mlflow.registered_model
    try:
        return str(client.get_model_version_by_alias(name, cfg.mlflow.serving_alias).version)
    except MlflowException:
        versions = client.search_model_versions(f"name = '{name}'")
        if not versions:
            raise LookupError(f"no registered versions of {name}: run `flywheel train` first") from None
        return str(max(int(v.version) for v in versions))


def download_serving_files(cfg: FlywheelConfig, version: str, dst: str | Path) -> dict[str, Path]:
    """Download a version's artifacts and return the local path of each serving file (keys of SERVING_FILES)."""
    import mlflow.artifacts

    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{cfg.mlflow.registered_model}/{version}", dst_path=str(dst)
        )
    )
    found = {p.name: p for p in local.rglob("*") if p.is_file()}
    return {key: found[Path(rel).name] for key, rel in SERVING_FILES.items()}
