"""Erasure for registered models: a copy of each version without the erased people, the old version deleted.

A registered two-tower version keeps, next to its weights, the serving files of :data:`registry.SERVING_FILES`:
``users.parquet`` (the pseudonym of every person it serves), ``queries.parquet`` (their user-tower inputs,
histories of item positions), ``items.parquet`` (the catalogue: post ids and author pseudonyms) and
``meta.json`` (item counts per position). Tagging such a version is not erasure: its files still name the
person. :func:`scrub_models` rewrites every version whose files name an erased pseudonym or list a post of
theirs: the people's rows go from the user files and their id-embedding rows are zeroed; their posts go from
the catalogue, the positions after them close up (item id table, known-item mask, item counts and every
history follow), so the pyfunc's index, built from the catalogue at load time, never holds them. The copy is
registered as a new version (tags copied, plus ``scrubbed_from`` and ``erasure_id``), takes over the old
version's aliases, and the old version is deleted with its artifact files and the local copies that
``flywheel recommend`` downloaded (``<work>/models/<version>``).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from socialflywheel.tracking import Tracking

log = logging.getLogger(__name__)

SCRUBBED_FROM_TAG = "scrubbed_from"
ERASURE_TAG = "erasure_id"


class ScrubError(ValueError):
    """A version's files cannot be rewritten without changing what it serves to the people who stay."""


@dataclass(frozen=True)
class Scrubbed:
    """One registered version rewritten: what went, and what replaced it (counts, never an identifier)."""

    old_version: str
    new_version: str | None
    """The scrubbed copy; None: the version could not be scrubbed and was retired (deleted with its files)."""
    users_dropped: int
    items_dropped: int
    aliases: tuple[str, ...]
    """Aliases moved from the old version to the new one."""
    artifacts_deleted: bool
    """Whether the old version's artifact files were deleted (False: the store refused; a warning says so)."""


@dataclass(frozen=True)
class ScrubPlan:
    """Rows of one version's files that name the erased people (positions, never ids)."""

    user_idx: np.ndarray
    """``user_idx`` of the erased people among the version's users."""
    items_kept: np.ndarray
    """Catalogue positions that stay, ascending (their new positions are 0..len-1)."""
    author_idx: np.ndarray
    """``item_author_idx`` of the erased authors among the catalogue's authors."""
    num_items: int
    """Catalogue size before the scrub."""

    @property
    def touches(self) -> bool:
        """Whether the version names anybody erased."""
        return bool(len(self.user_idx) or len(self.items_kept) < self.num_items or len(self.author_idx))


def serving_files(root: Path) -> dict[str, Path]:
    """The serving files of a downloaded version (keys of ``SERVING_FILES``), found by their names."""
    from socialflywheel.recsys.registry import SERVING_FILES

    found = {p.name: p for p in root.rglob("*") if p.is_file()}
    missing = [rel for rel in SERVING_FILES.values() if Path(rel).name not in found]
    if missing:
        raise ScrubError(f"not a two-tower version: {', '.join(sorted(missing))} missing from its artifacts")
    return {key: found[Path(rel).name] for key, rel in SERVING_FILES.items()}


def plan_scrub(files: dict[str, Path], *, pseudonyms: Sequence[str], posts: Sequence[str]) -> ScrubPlan:
    """Find the rows of the erased people and of their posts in one version's serving files."""
    people = pa.array(sorted(set(pseudonyms)), pa.string())
    gone_posts = pa.array(sorted(set(posts)), pa.string())
    users = pq.read_table(files["users"], columns=["user_idx", "user_id"])
    erased_users = pc.is_in(users.column("user_id"), value_set=people)
    items = pq.read_table(files["items"], columns=["item_idx", "item_author_idx", "post_id", "author_id"])
    by_author = pc.fill_null(pc.is_in(items.column("author_id"), value_set=people), False)
    gone = pc.or_(pc.fill_null(pc.is_in(items.column("post_id"), value_set=gone_posts), False), by_author)
    positions = np.asarray(items.column("item_idx").to_numpy())
    if not np.array_equal(positions, np.arange(len(positions))):
        raise ScrubError("the catalogue's item_idx is not its row order")
    return ScrubPlan(
        user_idx=np.asarray(users.filter(pc.fill_null(erased_users, False)).column("user_idx").to_numpy(), np.int64),
        items_kept=np.flatnonzero(~np.asarray(gone.to_numpy(zero_copy_only=False), dtype=bool)),
        author_idx=np.unique(np.asarray(items.filter(by_author).column("item_author_idx").to_numpy(), np.int64)),
        num_items=len(positions),
    )


def _remap_histories(histories: pa.ChunkedArray, new_position: np.ndarray) -> pa.Array:
    """Item positions in each history list renumbered; positions of dropped items (``-1``) left out."""
    lists = histories.combine_chunks()
    lengths = np.asarray(pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False), np.int64)
    values = np.asarray(lists.flatten().to_numpy(zero_copy_only=False), np.int64)
    inside = (values >= 0) & (values < len(new_position))
    mapped = np.where(inside, new_position[np.clip(values, 0, max(len(new_position) - 1, 0))], -1)
    keep = mapped >= 0
    row = np.repeat(np.arange(len(lengths)), lengths)
    new_lengths = np.bincount(row[keep], minlength=len(lengths))
    offsets = pa.array(np.concatenate([[0], np.cumsum(new_lengths)]).astype(np.int32))
    value_type = lists.type.value_type
    return pa.ListArray.from_arrays(offsets, pa.array(mapped[keep], value_type), mask=lists.is_null())


def _scrub_model(path: Path, plan: ScrubPlan, *, user_idx: np.ndarray) -> None:
    """Zero the erased people's user and author id rows; drop the erased items' id rows (positions close up)."""
    import torch

    blob = torch.load(str(path), map_location="cpu", weights_only=True)
    config, state = blob["config"], blob["state_dict"]
    buckets = int(config["max_id_buckets"])
    kept = len(plan.items_kept)
    if config["num_items"] > buckets or kept > buckets:
        raise ScrubError("the item id table is hashed: removing items would change every other item's row")
    with torch.no_grad():
        users = state["user_id.weight"]
        users[torch.as_tensor(user_idx % users.shape[0], dtype=torch.long)] = 0.0
        authors = state["author.weight"]
        authors[torch.as_tensor(plan.author_idx % authors.shape[0], dtype=torch.long)] = 0.0
        rows = torch.as_tensor(np.concatenate([[0], plan.items_kept + 1]), dtype=torch.long)
        state["item_id.weight"] = state["item_id.weight"][rows].clone()
        state["id_known"] = state["id_known"][rows].clone()
    config["num_items"] = kept
    torch.save(blob, str(path))


def scrub_files(files: dict[str, Path], plan: ScrubPlan) -> None:
    """Rewrite one version's serving files in place, as :class:`ScrubPlan` says.

    Raises:
        ScrubError: the model's item ids are hashed (a catalogue over ``max_id_buckets``), so positions cannot close up.
    """
    from socialflywheel.recsys.core.model import load_model

    new_position = np.full(plan.num_items, -1, dtype=np.int64)
    new_position[plan.items_kept] = np.arange(len(plan.items_kept))
    erased = pa.array(plan.user_idx, pa.int64())

    users = pq.read_table(files["users"])
    stays = pc.invert(pc.is_in(pc.cast(users.column("user_idx"), pa.int64()), value_set=erased))
    pq.write_table(users.filter(stays), files["users"])

    queries = pq.read_table(files["queries"])
    queries = queries.filter(pc.invert(pc.is_in(pc.cast(queries.column("user_idx"), pa.int64()), value_set=erased)))
    at = queries.schema.get_field_index("user_history")
    queries = queries.set_column(at, "user_history", _remap_histories(queries.column("user_history"), new_position))
    pq.write_table(queries, files["queries"])

    items = pq.read_table(files["items"]).take(pa.array(plan.items_kept, pa.int64()))
    at = items.schema.get_field_index("item_idx")
    items = items.set_column(at, items.schema.field(at), pa.array(np.arange(items.num_rows), pa.int64()))
    pq.write_table(items, files["items"])

    meta = json.loads(files["meta"].read_text())
    counts = meta.get("item_counts") or []
    meta["num_items"] = len(plan.items_kept)
    meta["item_counts"] = [counts[i] for i in plan.items_kept] if len(counts) == plan.num_items else []
    files["meta"].write_text(json.dumps(meta))

    _scrub_model(files["model"], plan, user_idx=plan.user_idx)
    load_model(files["model"])  # the rewritten weights still make a model


def _register_copy(
    client: MlflowClient, tracking: Tracking, old: ModelVersion, root: Path, files: dict[str, Path], erasure_id: str
) -> str:
    """Log the scrubbed files as a pyfunc in a ``scrub`` run and register it; returns the new version."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import Model

    from socialflywheel.recsys.registry import PIP_REQUIREMENTS, TwoTowerRetrieval
    from socialflywheel.tracking import git_commit, quiet_mlflow

    experiment = client.get_run(old.run_id).info.experiment_id if old.run_id else None
    if experiment is None:
        found = client.get_experiment_by_name(tracking.experiment)
        experiment = found.experiment_id if found is not None else None
    signature = next((Model.load(p).signature for p in root.rglob("MLmodel")), None)
    tags = {
        "job": "scrub",
        "git_commit": git_commit(),
        "config_hash": tracking.config_hash,
        SCRUBBED_FROM_TAG: str(old.version),
        ERASURE_TAG: erasure_id,
    }
    with mlflow.start_run(experiment_id=experiment, run_name=f"scrub-v{old.version}", tags=tags), quiet_mlflow():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=TwoTowerRetrieval(),
            artifacts={key: str(path) for key, path in files.items()},
            signature=signature,
            registered_model_name=old.name,
            pip_requirements=PIP_REQUIREMENTS,
        )
    version = str(info.registered_model_version)
    for key, value in {**old.tags, SCRUBBED_FROM_TAG: str(old.version), ERASURE_TAG: erasure_id}.items():
        client.set_model_version_tag(old.name, version, key, value)
    return version


def _delete_version(client: MlflowClient, old: ModelVersion, work: Path | None) -> bool:
    """Delete a version, its artifact files and the local copies of them; False when the store kept its files."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    location = client.get_model_version_download_uri(old.name, old.version)
    client.delete_model_version(old.name, old.version)
    if work is not None:
        shutil.rmtree(work / "models" / str(old.version), ignore_errors=True)
    deleted = True
    try:
        repo: Any = get_artifact_repository(location)  # delete_artifacts is unannotated in MLflow
        repo.delete_artifacts()
    except Exception as exc:  # a store without deletes (or without permission): the files stay there
        log.warning(
            "erase: the artifact store kept model v%s's files (%s): delete %s by hand",
            old.version,
            type(exc).__name__,
            location,
        )
        deleted = False
    if getattr(old, "model_id", None):
        try:
            client.delete_logged_model(str(old.model_id))
        except Exception as exc:  # an older server without logged models: the version is gone all the same
            log.debug("logged model of v%s not deleted (%s)", old.version, type(exc).__name__)
    return deleted


def scrub_version(
    client: MlflowClient,
    tracking: Tracking,
    old: ModelVersion,
    *,
    pseudonyms: Sequence[str],
    posts: Sequence[str],
    erasure_id: str,
    work: Path | None = None,
) -> Scrubbed | None:
    """Replace one version by a copy without the people and their posts (None: it names none of them).

    Args:
        client: A client of the registry (tracking URI already set).
        tracking: The resolved ``mlflow`` section (experiment, config hash).
        old: The registered version.
        pseudonyms: The erased people's pseudonyms.
        posts: Post ids the erased people authored.
        erasure_id: The erasure's id (tagged on the copy).
        work: The work folder whose ``models/<version>`` copies go with the old version.

    Raises:
        ScrubError: the version's files cannot be rewritten (the old version is then left as it was).
    """
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="scrub-") as tmp:
        root = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{old.name}/{old.version}", dst_path=tmp))
        files = serving_files(root)
        plan = plan_scrub(files, pseudonyms=pseudonyms, posts=posts)
        if not plan.touches:
            return None
        scrub_files(files, plan)
        new_version = _register_copy(client, tracking, old, root, files, erasure_id)
    aliases = tuple(sorted(client.get_model_version(old.name, old.version).aliases or ()))  # search leaves them out
    for alias in aliases:
        client.set_registered_model_alias(old.name, alias, new_version)
    deleted = _delete_version(client, old, work)
    log.info(
        "erase: model v%s scrubbed into v%s (%d people, %d posts dropped; aliases moved: %s)",
        old.version,
        new_version,
        len(plan.user_idx),
        plan.num_items - len(plan.items_kept),
        ", ".join(aliases) or "none",
    )
    return Scrubbed(
        old_version=str(old.version),
        new_version=new_version,
        users_dropped=len(plan.user_idx),
        items_dropped=plan.num_items - len(plan.items_kept),
        aliases=aliases,
        artifacts_deleted=deleted,
    )


def retire_version(client: MlflowClient, old: ModelVersion, work: Path | None, *, reason: str) -> Scrubbed:
    """Delete a version that holds erased people and cannot be scrubbed, with its files and aliases."""
    aliases = tuple(sorted(client.get_model_version(old.name, old.version).aliases or ()))
    deleted = _delete_version(client, old, work)
    log.warning(
        "erase: model v%s holds erased people and cannot be scrubbed (%s): retired with its files%s",
        old.version,
        reason,
        f"; it served as {', '.join(aliases)}: train again to serve" if aliases else "",
    )
    return Scrubbed(
        old_version=str(old.version),
        new_version=None,
        users_dropped=0,
        items_dropped=0,
        aliases=aliases,
        artifacts_deleted=deleted,
    )


def scrub_models(
    client: MlflowClient,
    tracking: Tracking,
    versions: Sequence[ModelVersion],
    *,
    pseudonyms: Sequence[str],
    posts: Sequence[str],
    erasure_id: str,
    work: Path | None = None,
) -> list[Scrubbed]:
    """Scrub every given version that names an erased person or lists a post of theirs (see :func:`scrub_version`).

    A version that cannot be scrubbed (a hashed item table: closing up positions would change other items' rows)
    is retired instead: deleted with its files, its aliases with it, and a warning naming it (never the people)
    says to train again if it served. The others go on.
    """
    if not pseudonyms and not posts:
        return []
    done: list[Scrubbed] = []
    for old in sorted(versions, key=lambda v: int(v.version)):
        try:
            scrubbed = scrub_version(
                client, tracking, old, pseudonyms=pseudonyms, posts=posts, erasure_id=erasure_id, work=work
            )
        except ScrubError as exc:
            done.append(retire_version(client, old, work, reason=str(exc)))
            continue
        if scrubbed is not None:
            done.append(scrubbed)
    return done
