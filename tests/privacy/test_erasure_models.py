"""#16 item 3: an erased person is gone from the registered models too, not only tagged in them.

Before: erase tagged the registered versions (``trained_on_erased_data``) and left their files as they were, so the
model's user vocabulary and catalogue (in MLflow's artifact store and in the recommend job's local copy) still
named the person and listed their posts after maintain had vacuumed the lake.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import torch

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.lake.maintain import run_maintain
from socialflywheel.privacy.erase import run_erase
from socialflywheel.privacy.pseudonymize import pseudonym
from socialflywheel.recsys.registry import download_serving_files
from socialflywheel.recsys.scrub import ERASURE_TAG, SCRUBBED_FROM_TAG
from socialflywheel.report.job import run_report
from socialflywheel.tracking import Tracking
from tests.conftest import make_config
from tests.jobs import recommend, train
from tests.privacy.scan import find_ids, id_patterns
from tests.recsys.examples_fixture import recsys_lake
from tests.recsys.test_train_job import GOOD, NO_BASELINE_GUARD, SMALL

torch.set_num_threads(1)


def _model_people(tracking: Tracking, version: str, dst: Path) -> tuple[set[str], dict[str, set[str]]]:
    """The pseudonyms a version serves, and its catalogue's posts per author pseudonym."""
    files = download_serving_files(tracking, version, dst)
    users = set(pq.read_table(files["users"], columns=["user_id"]).column("user_id").to_pylist())
    posts: dict[str, set[str]] = {}
    for row in pq.read_table(files["items"], columns=["post_id", "author_id"]).to_pylist():
        posts.setdefault(row["author_id"], set()).add(row["post_id"])
    return users, posts


def _plant_unscrubbable(tracking: Tracking, version: str, dst: Path) -> str:
    """Register a copy of ``version`` whose item ids count as hashed (``max_id_buckets`` below its catalogue).

    Such a version cannot be scrubbed (closing up item positions would move other items' rows): erase must retire
    it. Its files hold the same people as ``version``.
    """
    from mlflow import MlflowClient

    from socialflywheel.recsys.scrub import _register_copy

    files = download_serving_files(tracking, version, dst)
    blob = torch.load(str(files["model"]), map_location="cpu", weights_only=True)
    blob["config"]["max_id_buckets"] = 1
    torch.save(blob, str(files["model"]))
    client = MlflowClient()
    source = client.get_model_version(tracking.registered_model, version)
    return _register_copy(client, tracking, source, dst, files, "")


@pytest.fixture(scope="module")
def erased_model(
    tmp_path_factory: pytest.TempPathFactory, tiny_lake: tuple[FlywheelConfig, Lake], spark: Any
) -> dict[str, Any]:
    """train -> recommend -> erase a served person and an author -> maintain (zero retention) -> recommend -> report.

    The work folder holds everything the jobs write (lake, MLflow store and artifacts, models, report); the lake is
    a copy of the shared recsys lake without the landing files (the source system's copy is not ours to erase).
    """
    _, base = recsys_lake(tmp_path_factory.getbasetemp() / "recsys_tiny", tiny_lake[0], spark)
    work = tmp_path_factory.mktemp("erase_models") / "work"
    shutil.copytree(base.root, work / "lake")
    cfg = make_config(work, *SMALL, *GOOD, *NO_BASELINE_GUARD, "recommend.k=20")
    lake, tracking = Lake.from_config(cfg), Tracking.from_config(cfg)
    trained = train(spark, cfg)
    assert trained.promoted
    before = recommend(spark, cfg, lake)  # leaves a downloaded copy of the version under <work>/models

    key = cfg.privacy.hmac_key()
    served, posts_by_author = _model_people(tracking, trained.model_version, tmp_path_factory.mktemp("before"))
    raw = sorted(lake.read_arrow("truth.users", columns=["user_id"]).column("user_id").to_pylist())
    pseudo_of = {r: pseudonym(r, key) for r in raw}
    person = next(r for r in raw if pseudo_of[r] in served and pseudo_of[r] not in posts_by_author)
    author = next(r for r in raw if pseudo_of[r] in posts_by_author and r != person)
    erased_posts = sorted(posts_by_author[pseudo_of[author]])

    planted = _plant_unscrubbable(tracking, trained.model_version, tmp_path_factory.mktemp("unscrubbable"))
    erased = run_erase(spark, lake, cfg.privacy, tracking=tracking, work=cfg.work_path, user_ids=[person, author])
    cfg.maintain.vacuum_retention_hours = 0
    cfg.maintain.log_retention_hours = 0
    run_maintain(spark, lake, cfg.maintain, retention=cfg.privacy.retention_days)
    after = recommend(spark, cfg, lake)
    report = run_report(
        None, lake, out=work / "report" / "report.html", tracking=tracking, min_group_users=cfg.privacy.min_group_users
    )
    return {
        "cfg": cfg,
        "work": work,
        "tracking": tracking,
        "trained": trained,
        "before": before,
        "erased": erased,
        "after": after,
        "report": report,
        "raw": [person, author],
        "pseudo": [pseudo_of[person], pseudo_of[author]],
        "posts": erased_posts,
        "planted": planted,
    }


def test_no_byte_of_an_erased_person_is_left_in_the_work_folder(erased_model: dict[str, Any]) -> None:
    """Lake, MLflow store and artifact store, the recommend job's models folder, the report: every file is read
    (Parquet decoded) for the raw ids and the pseudonyms.

    Mutation tried: without the scrub in ``mark_models`` this fails on the old version's users.parquet and
    items.parquet in ``mlartifacts`` and in ``models/1/artifacts``.
    """
    assert erased_model["erased"].people_found == 2
    assert erased_model["erased"].training_caches_dropped >= 1  # shards and checkpoints of the training run
    assert not list((erased_model["work"] / "recsys").glob("*/model"))
    patterns = id_patterns(erased_model["raw"], erased_model["pseudo"])
    assert find_ids(erased_model["work"], patterns) == {}


def test_no_byte_of_an_erased_authors_posts_is_left_in_the_work_folder(erased_model: dict[str, Any]) -> None:
    """The same walk for the erased author's post ids: the old version's catalogue listed them, and another
    person's rejected view of one sat in bronze.quarantine."""
    assert erased_model["posts"]
    assert find_ids(erased_model["work"], id_patterns(erased_model["posts"], [])) == {}


def test_recommend_serves_the_scrubbed_copy_from_the_alias(erased_model: dict[str, Any], tmp_path: Path) -> None:
    """The alias moved to a new version tagged with the erasure and the version it replaced; the old one is gone,
    and the recommend job listed rows from the copy, none of them for the people or of the posts."""
    from mlflow import MlflowClient

    tracking: Tracking = erased_model["tracking"]
    old = erased_model["trained"].model_version
    client = MlflowClient()
    holder = client.get_model_version_by_alias(tracking.registered_model, tracking.serving_alias)
    assert holder.tags[SCRUBBED_FROM_TAG] == old and holder.tags[ERASURE_TAG] == erased_model["erased"].erasure_id
    assert "trained_on_erased_data" in holder.tags and "holdout_recall_at_50" in holder.tags
    versions = {v.version for v in client.search_model_versions(f"name='{tracking.registered_model}'")}
    assert versions == {holder.version}  # the version that could not be scrubbed was retired too
    assert erased_model["planted"] not in versions
    after = erased_model["after"]
    assert after.model_version == str(holder.version) != old
    assert after.rows_out > 0 and after.model_users > 0
    served, posts_by_author = _model_people(tracking, str(holder.version), tmp_path)
    assert not served & set(erased_model["pseudo"])
    assert not {p for ps in posts_by_author.values() for p in ps} & set(erased_model["posts"])
    lake = Lake.from_config(erased_model["cfg"])
    recs = lake.read_arrow("gold.recommendations", filters=[("model_version", "=", after.model_version)])
    assert recs.num_rows == after.rows_out
    assert not set(recs.column("post_id").to_pylist()) & set(erased_model["posts"])
    assert erased_model["report"].sections["model-metrics"] == "ok"
