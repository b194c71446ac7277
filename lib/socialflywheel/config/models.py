"""The root configuration model and the sections shared by every stage."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator, model_validator

from socialflywheel.config._base import INT32_MAX, MAX_DAYS, Seed, Strict, Url
from socialflywheel.config.federated import FederatedConfig
from socialflywheel.config.graph import GraphConfig
from socialflywheel.config.masking import Sensitive
from socialflywheel.config.recsys import RecommendConfig, TrainConfig
from socialflywheel.config.simulate import SimulateConfig
from socialflywheel.config.stages import FeaturesConfig, IngestConfig, MaintainConfig, ReportConfig

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SPARK_CONF_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,255}")


class SparkConfig(Strict):
    """Which DataFrame engine runs the jobs."""

    engine: Literal["sail", "connect", "classic", "submit"] = Field(
        "sail",
        description="sail: in-process Sail server (embedded default); connect: a remote Spark Connect URL; "
        "classic: JVM Spark started here; submit: the session spark-submit provides.",
    )
    connect_url: Url | None = Field(
        None,
        pattern=r"^sc://",
        description="sc://host:port (;token=... is masked wherever it is shown), required when engine=connect.",
    )
    master: Url = Field("local[2]", min_length=1, description="Master URL for engine=classic.")
    app_name: str = Field("social-flywheel", min_length=1, description="Spark application name.")
    shuffle_partitions: int = Field(4, ge=1, le=1_000_000, description="spark.sql.shuffle.partitions.")
    sail_workers: int = Field(0, ge=0, le=65_536, description="Sail task threads; 0 lets Sail use every core.")
    sail_memory_gb: float = Field(
        0,
        ge=0,
        le=1_000_000,
        description="Sail's query memory pool in GiB: past it, sorts, aggregates and other operators that can spill "
        "write to temporary files under <work_dir>/_spill instead of growing (Sail's fair pool, experimental there); "
        "0: unbounded (Sail's default).",
    )
    sail_mode: Literal["local", "local-cluster"] = Field(
        "local",
        description="local: one Sail process, threads; local-cluster: Sail's driver and workers talking over RPC "
        "in one process (the execution path of Sail's Kubernetes mode), for testing a scaled-out Sail.",
    )
    packages: list[str] = Field(
        default_factory=list, description="Maven coordinates for classic sessions (Delta, RAPIDS) when reachable."
    )
    conf: Annotated[dict[str, str], Sensitive("keyed")] = Field(
        default_factory=dict,
        description="Extra Spark conf passed through verbatim; values of keys naming a secret, password, token, "
        "credential or key are masked in logs, MLflow and `flywheel doctor`.",
    )

    @field_validator("conf")
    @classmethod
    def _conf_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = next((k for k in value if not _SPARK_CONF_KEY.fullmatch(k)), None)
        if bad is not None:
            raise ValueError("a key is empty or holds characters other than letters, digits, '.', '_' and '-'")
        return value

    @model_validator(mode="after")
    def _connect_needs_url(self) -> SparkConfig:
        if self.engine == "connect" and not self.connect_url:
            raise ValueError("spark.connect_url is required when spark.engine is 'connect'")
        return self


class LakeConfig(Strict):
    """Where the Delta lake lives."""

    root: Url | None = Field(
        None, min_length=1, description="Lake root; a local path or an object-store URI. Default: <work_dir>/lake."
    )
    storage_options: Annotated[dict[str, str], Sensitive("values")] = Field(
        default_factory=dict,
        description="delta-rs storage options (credentials come from the environment; every value is masked).",
    )
    writer_lease: Literal["auto", "off"] = Field(
        "auto",
        description="auto: on an object-store lake, a writing job holds <lake>/_locks/writer.json (S3 conditional "
        "PUT) so two jobs never commit at once (delta-spark's S3 log store assumes one writer); on a local lake it "
        "holds an OS lock (flock) on <lake>/_locks/writer.lock, dropped when its process exits. A second job waits. "
        "off: no lease (a single scheduler guarantees one writer).",
    )


class MlflowConfig(Strict):
    """Experiment tracking."""

    tracking_uri: Url | None = Field(
        None,
        min_length=1,
        description="Default: sqlite:///<work_dir>/mlflow.db. A password in it (https://user:pass@host) is masked "
        "wherever the URI is shown and handed to MLflow through MLFLOW_TRACKING_USERNAME/PASSWORD.",
    )
    artifact_root: Url | None = Field(
        None,
        description="Where a new experiment keeps artifacts. Default: the tracking server's own store when "
        "tracking_uri is an http(s) server (run it with --serve-artifacts), else <work_dir>/mlartifacts.",
        min_length=1,
    )
    experiment: str = Field("social-flywheel", min_length=1, description="MLflow experiment name.")
    registered_model: str = Field("two_tower_retrieval", min_length=1, description="Registered model name.")
    serving_alias: str = Field("serving", min_length=1, description="Alias a model gets when it beats the current one.")


RetentionDays = Annotated[int, Field(ge=1, le=MAX_DAYS)]


class RetentionConfig(Strict):
    """Days kept per class of table before ``flywheel maintain`` deletes older partitions; null keeps forever.

    The classes are the ones maintain applies (``lake.maintain.retention_predicate``); any other key is an error,
    so a misspelled class never silently means "keep forever".
    """

    bronze: RetentionDays | None = Field(400, description="bronze.events, by event_date.")
    quarantine: RetentionDays | None = Field(30, description="bronze.quarantine (raw rejected lines), by ingest_date.")
    snapshots: RetentionDays | None = Field(90, description="Gold tables partitioned by as_of_date.")


class PrivacyConfig(Strict):
    """Pseudonymization key and aggregate suppression."""

    hmac_key_env: Annotated[str, Sensitive("name")] = Field(
        "FLYWHEEL_HMAC_KEY", description="Environment variable holding the HMAC key (its name, never the key)."
    )
    dev_hmac_key: SecretStr | None = Field(
        None,
        description="DEVELOPMENT ONLY key, used when the env variable is unset; must be null outside local.yaml "
        "(a SecretStr: never printed in a repr, a log or a run record).",
    )
    min_group_users: int = Field(
        10, ge=1, le=INT32_MAX, description="k: aggregates over fewer distinct users are suppressed."
    )
    retention_days: RetentionConfig = Field(
        default_factory=RetentionConfig,
        description="Days kept per class of table (bronze, quarantine, snapshots) before maintain drops it.",
    )

    @field_validator("hmac_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.fullmatch(value):
            # Never echo it: a key pasted here by mistake must not reach the error line.
            raise ValueError("expected the name of an environment variable (letters, digits, _), not its value")
        return value

    def hmac_key(self) -> bytes:
        """The pseudonymization key: the environment variable's value, else the development key; raises if neither."""
        dev = self.dev_hmac_key.get_secret_value() if self.dev_hmac_key is not None else None
        key = os.environ.get(self.hmac_key_env) or dev
        if not key:
            raise ValueError(
                f"no pseudonymization key: set the environment variable {self.hmac_key_env} "
                "(only conf/local.yaml carries a development key)"
            )
        return key.encode()


class FlywheelConfig(Strict):
    """The whole configuration of a Social Flywheel deployment."""

    work_dir: str = Field("work", min_length=1, description="Folder for everything the embedded default writes.")
    seed: Seed = Field(7, description="Seed for every randomized step unless a stage sets its own.")
    run_date: dt.date | None = Field(
        None,
        description="Logical date of a scheduled run (YYYY-MM-DD), passed by the Airflow DAGs: ingest takes landing "
        "partitions up to it, and features, graph, train, recommend and report see the lake as of that day and write "
        "no partition after it (a backfill of a day rebuilds what its daily run wrote); empty: undated runs.",
    )
    spark: SparkConfig = Field(default_factory=SparkConfig)
    lake: LakeConfig = Field(default_factory=LakeConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    simulate: SimulateConfig = Field(default_factory=SimulateConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    graph: GraphConfig = Field(default_factory=GraphConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    recommend: RecommendConfig = Field(default_factory=RecommendConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    maintain: MaintainConfig = Field(default_factory=MaintainConfig)
    federated: FederatedConfig = Field(default_factory=FederatedConfig)

    _source: str | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The file this config was loaded from (None when built in code)."""
        return self._source

    @source.setter
    def source(self, value: str | None) -> None:
        self._source = value

    # Resolved locations -------------------------------------------------------------------
    @property
    def work_path(self) -> Path:
        """``work_dir`` as an absolute path."""
        return Path(self.work_dir).expanduser().resolve()

    @property
    def lake_root(self) -> str:
        """The lake's root: an object-store URI as given, a local path made absolute, else ``<work>/lake``."""
        if self.lake.root:
            if "://" in self.lake.root:
                return self.lake.root
            return str(Path(self.lake.root).expanduser().resolve())
        return str(self.work_path / "lake")

    @property
    def landing_dir(self) -> Path:
        """The local landing folder (``<work>/landing`` by default); raises for an object-store URI."""
        if self.ingest.landing_dir and "://" in self.ingest.landing_dir:
            raise ValueError(
                f"ingest.landing_dir is an object-store URI ({self.ingest.landing_dir}): this step needs a local "
                "folder (simulate and adapt write local files; copy them to the store afterwards)"
            )
        return (
            Path(self.ingest.landing_dir).expanduser().resolve()
            if self.ingest.landing_dir
            else self.work_path / "landing"
        )

    @property
    def landing_uri(self) -> str:
        """The landing location as engines take it: a local absolute path or an object-store URI."""
        if self.ingest.landing_dir and "://" in self.ingest.landing_dir:
            return self.ingest.landing_dir.rstrip("/")
        return str(self.landing_dir)

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI; a SQLite file under the work folder by default."""
        return self.mlflow.tracking_uri or f"sqlite:///{self.work_path / 'mlflow.db'}"

    @property
    def artifact_root(self) -> str | None:
        """Where new experiments keep artifacts; None leaves it to a tracking server."""
        if self.mlflow.artifact_root:
            return self.mlflow.artifact_root
        if (self.mlflow.tracking_uri or "").startswith(("http://", "https://")):
            return None  # the server's --artifacts-destination, never the client's disk
        return str(self.work_path / "mlartifacts")

    @classmethod
    def section_fields(cls, dotted: str) -> list[str]:
        """Field names allowed under a dotted section path ('' for the root)."""
        model: Any = cls
        for part in [p for p in dotted.split(".") if p]:
            field = model.model_fields.get(part)
            if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, BaseModel):
                return []
            model = field.annotation
        return list(model.model_fields)
