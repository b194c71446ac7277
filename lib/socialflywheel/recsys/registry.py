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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.tracking import Tracking, quiet_mlflow

SCORE_TAG = "holdout_recall_at_50"
PROMOTION_TAG = "promotion"
FINGERPRINT_TAG = "dataset_fingerprint"
RESCORED_TAG = "champion_rescored_recall_at_50"
"""On a version compared with a champion of another holdout: the champion's Recall@50 on this version's holdout."""
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
    """A registered version and what the promotion decided, with the reason in one sentence."""

    name: str
    version: str
    promoted: bool
    score: float
    champion_version: str | None
    champion_score: float | None
    same_holdout: bool
    reason: str = ""
    champion_rescored: float | None = None
    """The champion's Recall@50 re-measured on this run's holdout (when the holdouts differed)."""
    mine_rescored: float | None = None
    """This version's Recall@50 measured the same way (the re-scored comparison is like for like)."""


def log_and_register(
    tracking: Tracking, *, run_dir: str | Path, score: float, model_path: str | Path | None = None
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
    with quiet_mlflow():  # its "Successfully registered" lines: the train job's own line says what was registered
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=TwoTowerRetrieval(),
            artifacts=artifacts,
            signature=infer_signature(sample_in, sample_out, params={"k": 10}),
            registered_model_name=tracking.registered_model,
            pip_requirements=PIP_REQUIREMENTS,
        )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    name = tracking.registered_model
    client.set_model_version_tag(name, version, SCORE_TAG, f"{score:.6f}")
    client.set_model_version_tag(name, version, FINGERPRINT_TAG, dataset_fingerprint(root / "data"))
    return name, version


def promote_if_better(
    tracking: Tracking,
    *,
    version: str,
    best_baseline: float,
    margin: float = 0.0,
    rescore: Callable[[str], float] | None = None,
) -> Registration:
    """Give ``version`` the serving alias only when it beats the best baseline and the champion on one holdout.

    Guards, in order: the version's holdout Recall@50 must beat the best baseline's (plus ``margin``; the
    ``train.promotion_margin``) on the same split (a first
    model that loses to most-popular never serves); with a champion of the same holdout (the datasets'
    fingerprints agree) the recorded scores are compared; with a champion of another holdout both versions are
    re-scored on this run's holdout by ``rescore`` (the same serving path and metric for both) and compared, or,
    without ``rescore``, the champion stays. The decision and its reason are tagged on the version.
    """
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    name, alias = tracking.registered_model, tracking.serving_alias
    mine = client.get_model_version(name, version)
    score = float(mine.tags[SCORE_TAG])
    try:
        holder = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        holder = None
    if holder is not None and str(holder.version) == str(mine.version):
        holder = None
    champion = float(holder.tags.get(SCORE_TAG, "-inf")) if holder is not None else None
    same = holder is None or holder.tags.get(FINGERPRINT_TAG) == mine.tags.get(FINGERPRINT_TAG)
    reg = Registration(name, version, False, score, str(holder.version) if holder else None, champion, same)
    if score <= best_baseline + margin:
        plus = f" + margin {margin:.4f}" if margin else ""
        reg.reason = f"holdout Recall@50 {score:.4f} does not beat the best baseline's {best_baseline:.4f}{plus}"
    elif holder is None:
        reg.promoted = True
        reg.reason = f"no champion; holdout Recall@50 {score:.4f} beats the best baseline's {best_baseline:.4f}"
    elif same:
        reg.promoted = score > float(champion or 0.0)
        verb = "beats" if reg.promoted else "does not beat"
        reg.reason = f"holdout Recall@50 {score:.4f} {verb} champion v{holder.version}'s {champion:.4f} (same holdout)"
    elif rescore is None:
        reg.reason = f"champion v{holder.version} was scored on another holdout and cannot be re-scored here"
    else:
        reg.mine_rescored, reg.champion_rescored = rescore(version), rescore(str(holder.version))
        client.set_model_version_tag(name, version, RESCORED_TAG, f"{reg.champion_rescored:.6f}")
        reg.promoted = reg.mine_rescored > reg.champion_rescored
        verb = "beats" if reg.promoted else "does not beat"
        reg.reason = (
            f"re-scored on this run's holdout, Recall@50 {reg.mine_rescored:.4f} {verb} champion "
            f"v{holder.version}'s {reg.champion_rescored:.4f}"
        )
    if reg.promoted:
        client.set_registered_model_alias(name, alias, version)
    client.set_model_version_tag(name, version, PROMOTION_TAG, reg.reason)
    return reg


def rescore_on_holdout(tracking: Tracking, version: str, data_root: str | Path, *, k: int = 50) -> float:
    """A registered version's Recall@``k`` on a prepared dataset's test targets, through its pyfunc.

    The served lists (the version's own catalogue and user inputs) are compared with the test targets by ids,
    seen pairs of the dataset left out, so versions trained on different data are measured alike. People the
    version does not know count as zero recall.
    """
    import mlflow.pyfunc

    root = Path(data_root)
    users = pq.read_table(root / "users.parquet", columns=["user_idx", "user_id"]).to_pandas()
    posts = pq.read_table(root / "items.parquet", columns=["post_id"]).column("post_id").to_pylist()
    uid = dict(zip(users["user_idx"], users["user_id"], strict=True))

    def pairs(name: str) -> set[tuple[str, str]]:
        t = pq.read_table(root / "test" / name, columns=["user_idx", "item_idx"])
        return {(uid[u], posts[i]) for u, i in zip(t.column(0).to_pylist(), t.column(1).to_pylist(), strict=True)}

    targets, seen = pairs("targets.parquet"), pairs("seen.parquet")
    wanted: dict[str, set[str]] = {}
    for u, p in targets:
        wanted.setdefault(u, set()).add(p)
    if not wanted:
        return 0.0
    model = mlflow.pyfunc.load_model(f"models:/{tracking.registered_model}/{version}")
    seen_per_user = Counter(u for u, _ in seen)  # one pass (a count per user was quadratic in users x pairs)
    pool = k + max(seen_per_user[u] for u in wanted)
    listed = model.predict(pd.DataFrame({"user_id": sorted(wanted)}), params={"k": pool})
    top: dict[str, list[str]] = {}
    for u, p in zip(listed["user_id"].tolist(), listed["post_id"].tolist(), strict=True):
        if (u, p) not in seen and len(top.setdefault(u, [])) < k:
            top[u].append(p)
    recalls = [len(set(top.get(u, [])) & ps) / len(ps) for u, ps in wanted.items()]  # as core.metrics
    return float(np.mean(recalls))


def serving_version(tracking: Tracking) -> str:
    """The version holding the serving alias, else the latest registered version."""
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    name = tracking.registered_model
    try:
        return str(client.get_model_version_by_alias(name, tracking.serving_alias).version)
    except MlflowException:
        versions = client.search_model_versions(f"name = '{name}'")
        if not versions:
            raise LookupError(f"no registered versions of {name}: run `flywheel train` first") from None
        return str(max(int(v.version) for v in versions))


def download_serving_files(tracking: Tracking, version: str, dst: str | Path) -> dict[str, Path]:
    """Download a version's artifacts and return the local path of each serving file (keys of SERVING_FILES)."""
    import mlflow.artifacts

    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{tracking.registered_model}/{version}", dst_path=str(dst)
        )
    )
    found = {p.name: p for p in local.rglob("*") if p.is_file()}
    return {key: found[Path(rel).name] for key, rel in SERVING_FILES.items()}
