"""Config: typed, extra keys rejected with one line naming the key, secrets kept out of public output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from socialflywheel.config import ConfigError, config_hash, load_config, public_dict

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
    assert cfg.privacy.dev_hmac_key
    assert cfg.privacy.dev_hmac_key not in repr(public_dict(cfg))
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
