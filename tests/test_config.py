"""Config: typed, extra keys rejected with one line naming the key, secrets kept out of public output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.config import ConfigError, FlywheelConfig, config_hash, load_config, public_dict

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("conf", ["local.yaml", "cluster-cpu.yaml", "cluster-gpu.yaml"])
def test_shipped_configs_validate(conf: str) -> None:
    cfg = load_config(REPO / "conf" / conf)
    assert cfg.spark.engine in ("sail", "submit")


def test_unknown_key_names_key_and_allowed() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(overrides=["spark.engin=classic"])
    msg = str(err.value)
    assert "\n" not in msg
    assert "spark.engin" in msg and "engine" in msg and "allowed" in msg


def test_wrong_type_names_key() -> None:
    with pytest.raises(ConfigError, match=r"simulate\.users: .*integer"):
        load_config(overrides=["simulate.profile=custom", "simulate.users=lots"])
    with pytest.raises(ConfigError, match=r"simulate.users=20000 conflicts with profile 'default'"):
        load_config(overrides=["simulate.users=20000"])
    with pytest.raises(ConfigError, match=r"spark\.engine: .*'sail'"):
        load_config(overrides=["spark.engine=flink"])


def test_bad_yaml_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("spark:\n  engine: sail\n  nonsense: 3\n")
    with pytest.raises(ConfigError, match=r"spark\.nonsense"):
        load_config(bad)


def test_overrides_are_typed() -> None:
    cfg = load_config(
        overrides=["simulate.profile=custom", "simulate.users=123", "graph.backend=networkit", "spark.conf={'a': 'b'}"]
    )
    assert cfg.simulate.users == 123 and cfg.graph.backend == "networkit" and cfg.spark.conf == {"a": "b"}


def test_connect_engine_requires_url() -> None:
    with pytest.raises(ConfigError, match="connect_url"):
        load_config(overrides=["spark.engine=connect"])


def test_secrets_not_in_public_dict_and_hash_ignores_them() -> None:
    cfg = load_config()
    assert cfg.privacy.dev_hmac_key is not None
    key = cfg.privacy.dev_hmac_key.get_secret_value()
    assert key and cfg.privacy.hmac_key() == key.encode()
    for shown in (repr(public_dict(cfg)), repr(cfg), str(cfg), cfg.model_dump_json()):
        assert key not in shown
    other = load_config(overrides=["privacy.dev_hmac_key=another-dev-key"])
    assert config_hash(cfg) == config_hash(other)
    assert config_hash(cfg) != config_hash(load_config(overrides=["seed=8"]))


def test_cluster_configs_refuse_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLYWHEEL_HMAC_KEY", raising=False)
    cfg = load_config(REPO / "conf" / "cluster-cpu.yaml")
    with pytest.raises(ValueError, match="FLYWHEEL_HMAC_KEY"):
        cfg.privacy.hmac_key()
    monkeypatch.setenv("FLYWHEEL_HMAC_KEY", "from-the-environment")
    assert cfg.privacy.hmac_key() == b"from-the-environment"


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs/ingest.py", "--set", "spark.engin=x"],
        ["-m", "socialflywheel.cli", "conform", "--set", "spark.shuffle_partitions=0"],
    ],
)
def test_bad_config_exits_nonzero_with_one_line(argv: list[str]) -> None:
    out = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("config error: ")
    assert ("spark.engin" in lines[0]) or ("spark.shuffle_partitions" in lines[0])


@pytest.mark.parametrize("bad", ["hours", "Hour", "week", ""])
def test_a_mistyped_trend_bucket_is_refused_not_read_as_day(bad: str) -> None:
    """Before, any string other than "hour" silently meant daily trends only."""
    with pytest.raises(ConfigError, match="trend_bucket"):
        load_config(overrides=[f"features.trend_bucket={bad}"])


KEYS = ["run_date", "seed", "work_dir", "simulate.start_date", "simulate.days", "features.trend_bucket",
        "train.nproc", "train.launcher", "train.lr", "spark.engine", "lake.writer_lease", "privacy.min_group_users",
        "no_such.key", "train.no_such_key", "seed.nested"]  # fmt: skip


ODD_VALUES = ["2026-13-10", "2026-02-30", "1e999", "[1, 2", "{a: 1}", "null", "~", "-1", "0", "yes",
              "2026-10-10T25:00:00Z", "!!python/object:os.system"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(KEYS), value=st.text(max_size=20) | st.sampled_from(ODD_VALUES))
def test_any_override_gives_a_config_or_one_config_error(key: str, value: str) -> None:
    """Every ``--set key=value`` either loads or fails with a ConfigError naming the problem (found: a YAML
    date that does not exist, 2026-13-10, escaped as a bare ValueError)."""
    try:
        load_config(overrides=[f"{key}={value}"])
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message.strip() and (key.split(".")[0] in message or "--set" in message), message


def test_an_impossible_date_in_a_config_file_is_one_config_error(tmp_path: Path) -> None:
    conf = tmp_path / "bad.yaml"
    conf.write_text("run_date: 2026-13-10\n")
    with pytest.raises(ConfigError, match=r"bad.yaml"):
        load_config(conf)


# --- credentials in config (issue #16 item 6) --------------------------------------------------------------------

SECRET = "s3cr3tVALUE42"

# Every kind of place a credential can sit in the config: masked by the field's type, not by a list of names.
SECRET_SLOTS = [
    "spark.conf={spark.hadoop.fs.s3a.secret.key: %s}",
    "spark.conf={spark.hadoop.fs.s3a.access.key: %s, spark.plugins: x}",
    "spark.conf={spark.hadoop.fs.s3a.session.token: %s}",
    "spark.conf={spark.ssl.keyPassword: %s}",
    "spark.conf={spark.hadoop.fs.azure.account.key.acct.blob.core.windows.net: %s}",
    "spark.conf={spark.authenticate.secret: %s}",
    "lake.storage_options={AWS_SECRET_ACCESS_KEY: %s}",
    "lake.storage_options={azure_storage_sas_token: %s}",
    "spark.connect_url=sc://spark.internal:15002/;token=%s",
    "spark.connect_url=sc://spark.internal:15002/;user_id=me;token=%s;use_ssl=true",
    "mlflow.tracking_uri=https://alice:%s@mlflow.internal:5000",
    "mlflow.tracking_uri=https://%s@mlflow.internal",
    "mlflow.tracking_uri=postgresql://u:p@db.internal/mlflow?password=%s",
    "mlflow.artifact_root=s3://AKIA:%s@bucket/artifacts",
    "lake.root=s3a://AKIA:%s@bucket/lake",
    "lake.root=abfss://c@acct.dfs.core.windows.net/lake?sv=2024-01-01&sig=%s",
    "ingest.landing_dir=s3a://AKIA:%s@bucket/landing",
    "train.shared_dir=s3a://AKIA:%s@bucket/scratch",
    "graph.dask_scheduler=tls://u:%s@scheduler:8786",
    "privacy.dev_hmac_key=%s",
]


def _shown_everywhere(cfg: FlywheelConfig) -> str:
    """Everything the code base prints or tracks of a config: its logged view, MLflow params, repr, doctor."""
    import io

    from rich.console import Console

    from socialflywheel.doctor import report
    from socialflywheel.tracking import _flatten

    doctor = io.StringIO()
    Console(file=doctor, width=400).print(report(cfg))
    params = _flatten(public_dict(cfg), "cfg.")
    return "\n".join([json.dumps(public_dict(cfg)), repr(params), repr(cfg), str(cfg), doctor.getvalue()])


@pytest.mark.parametrize("slot", SECRET_SLOTS)
def test_a_credential_in_any_config_slot_is_masked_in_every_output(slot: str) -> None:
    """Before: a spark.conf secret went to MLflow params verbatim; connect_url tokens and tracking_uri passwords were
    printed by `flywheel doctor`."""
    cfg = load_config(overrides=["spark.engine=connect", "spark.connect_url=sc://h:15002", slot % SECRET])
    shown = _shown_everywhere(cfg)
    assert SECRET not in shown
    assert "***" in json.dumps(public_dict(cfg))  # the slot is there, masked (not dropped)


@settings(max_examples=150, deadline=None)
@given(
    slot=st.sampled_from(SECRET_SLOTS),
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~", min_size=12),
)
def test_no_generated_credential_survives_the_logged_view(slot: str, secret: str) -> None:
    secret = f"k{secret}"  # YAML reads the value as text (000000000000 would be an int)
    cfg = load_config(overrides=[slot % secret])
    assert secret not in json.dumps(public_dict(cfg)) and secret not in repr(cfg)


def test_non_secret_values_are_kept() -> None:
    cfg = load_config(
        overrides=[
            "spark.conf={spark.plugins: com.nvidia.spark.SQLPlugin, spark.sql.session.timeZone: UTC}",
            "mlflow.tracking_uri=http://mlflow.internal:5000",
            "spark.engine=connect",
            "spark.connect_url=sc://spark.internal:15002/;user_id=me",
        ]
    )
    data = public_dict(cfg)
    assert data["spark"]["conf"] == {"spark.plugins": "com.nvidia.spark.SQLPlugin", "spark.sql.session.timeZone": "UTC"}
    assert data["mlflow"]["tracking_uri"] == "http://mlflow.internal:5000"
    assert data["spark"]["connect_url"] == "sc://spark.internal:15002/;user_id=me"


@pytest.mark.parametrize(
    "override",
    [
        "privacy.dev_hmac_key=[%s]",
        "privacy.dev_hmac_key={k: %s}",
        "spark.conf={spark.hadoop.fs.s3a.secret.key: [%s]}",
        "spark.conf={spark.hadoop.fs.s3a.secret.key: %s, '': x}",
        "lake.storage_options={anything: [%s]}",
        "spark.connect_url=[sc://h:15002/;token=%s]",
        "spark.connect_url=https://u:%s@h",
        "mlflow.tracking_uri=[https://u:%s@h]",
        "privacy.hmac_key_env=%s-pasted!",
        "work_dir=[https://u:%s@h]",
        "simulate.profile=[https://u:%s@h]",
    ],
)
def test_a_config_error_never_echoes_a_credential(override: str) -> None:
    """Before: `privacy.dev_hmac_key=[key]` failed with "(got ['key'])": the error line echoed the secret."""
    with pytest.raises(ConfigError) as err:
        load_config(overrides=[override % SECRET])
    assert SECRET not in str(err.value) and "\n" not in str(err.value)


def test_mlflow_gets_the_tracking_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow prints its tracking URI in run links and failed-request errors: the URI it is given holds no password."""
    from socialflywheel.tracking import client_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    cfg = load_config(overrides=[f"mlflow.tracking_uri=https://alice:{SECRET}@mlflow.internal:5000/prefix"])
    assert client_tracking_uri(cfg.tracking_uri) == "https://mlflow.internal:5000/prefix"
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "alice" and os.environ["MLFLOW_TRACKING_PASSWORD"] == SECRET
    plain = load_config(overrides=["mlflow.tracking_uri=sqlite:////tmp/x/mlflow.db"])
    assert client_tracking_uri(plain.tracking_uri) == "sqlite:////tmp/x/mlflow.db"


def _choice_fields(model: type, prefix: str = "") -> list[tuple[str, list[str]]]:
    """Every field of the config tree whose value is one of fixed words, with its words (dotted paths)."""
    from typing import get_origin

    from pydantic import BaseModel

    from socialflywheel.config._base import _literal_words

    out = []
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _choice_fields(ann, f"{prefix}{name}.")
        elif get_origin(ann) is not list and (words := _literal_words(ann)):
            out.append((f"{prefix}{name}", words))
    return out


def test_every_choice_round_trips_through_set_and_yaml(tmp_path: Path) -> None:
    """Class test: ``--set lake.writer_lease=off`` was refused because YAML reads ``off`` as False.

    Every word of every choice field, given on the command line and in a YAML file, loads as itself.
    """
    import yaml

    fields = _choice_fields(FlywheelConfig)
    assert ("lake.writer_lease", ["auto", "off"]) in fields
    needs = {("spark.engine", "connect"): ["spark.connect_url=sc://spark:15002"]}  # a choice's required companion
    for path, words in fields:
        for word in words:
            cfg = load_config(overrides=[f"{path}={word}", *needs.get((path, word), [])])
            node: Any = cfg
            for part in path.split("."):
                node = getattr(node, part)
            assert node == word, (path, word)
            section, _, key = path.rpartition(".")
            plain = section and "." not in section and (path, word) not in needs
            text = f"{section}:\n  {key}: {word}\n" if plain else None
            if text is not None:
                (tmp_path / "c.yaml").write_text(text)
                assert yaml.safe_load(text) is not None
                from_file = load_config(tmp_path / "c.yaml")
                assert getattr(getattr(from_file, section), key) == word, (path, word)
