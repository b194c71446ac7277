r"""The spark-submit line of a job: jars from ``make jars``, the packed executor environment, the object store.

What a user types on a cluster is what the tests run:

    spark-submit --master spark://HOST:7077 --properties-file infra/spark/spark-defaults-cpu.conf \
      --jars jars/delta-spark_2.13-4.0.1.jar,... --archives build/executor-env.tar.gz#environment \
      --conf spark.pyspark.python=./environment/bin/python jobs/ingest.py --conf conf/cluster-cpu.yaml
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from socialflywheel.lake.storage import endpoint

REPO = Path(__file__).resolve().parents[3]

# Set in a process that holds a Spark Connect (Sail) session; a classic spark-submit must not inherit them.
CONNECT_SWITCHES = ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "SPARK_LOCAL_REMOTE", "PYTHONPATH")


def jar_paths(jars_dir: Path) -> list[Path]:
    """The jars ``make jars`` resolved, or a clear error naming the command that makes them."""
    jars = sorted(jars_dir.glob("*.jar"))
    if not jars:
        raise FileNotFoundError(f"no jars under {jars_dir}: run `make jars` (Maven Central, pinned, checksummed)")
    return jars


def object_store_conf() -> dict[str, str]:
    """hadoop-aws settings for an S3-compatible endpoint named by the environment (none for AWS itself).

    Credentials are not passed: executors and the driver read them from their own environment or role.
    """
    url = endpoint()
    if not url:
        return {}
    return {
        "spark.hadoop.fs.s3a.endpoint": url,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(url.startswith("https://")).lower(),
    }


def submit_command(
    job: str,
    *,
    master: str,
    env_archive: Path,
    jars_dir: Path = REPO / "jars",
    properties_file: Path = REPO / "infra" / "spark" / "spark-defaults-cpu.conf",
    conf_file: Path = REPO / "conf" / "cluster-cpu.yaml",
    sets: Sequence[str] = (),
    spark_conf: Mapping[str, str] | None = None,
    jars_on_nodes: bool = False,
    job_args: Sequence[str] = (),
    script: Path | None = None,
) -> list[str]:
    """The spark-submit argv that runs ``jobs/<job>.py`` on a cluster.

    Args:
        job: A job of the registry (``ingest``, ``conform``, ``features``, ...).
        master: The cluster's master URL (``spark://host:port``, ``yarn``, ``k8s://...``).
        env_archive: The packed executor environment (``make executor-env``).
        jars_dir: The folder ``make jars`` filled.
        properties_file: The spark-defaults file for the cluster.
        conf_file: The job's YAML config.
        sets: ``key.path=value`` overrides for the job's config.
        spark_conf: Extra ``--conf`` pairs (sizing for a small test cluster, event logs).
        jars_on_nodes: The jars are already at ``jars_dir`` on every node (baked into the image): put them
            on the class path instead of shipping them with ``--jars`` at every start.
        job_args: Further arguments for the job (``--user`` for erase).
        script: Another PySpark script to run with the same settings instead of ``jobs/<job>.py`` (its own
            arguments in ``job_args``; ``conf_file`` and ``sets`` are not passed to it).
    """
    jars = jar_paths(jars_dir)
    spark_submit = Path(sys.executable).with_name("spark-submit")
    argv = [str(spark_submit) if spark_submit.exists() else "spark-submit", "--master", master]
    argv += ["--properties-file", str(properties_file)]
    conf: dict[str, str] = {
        "spark.pyspark.python": "./environment/bin/python",
        "spark.pyspark.driver.python": sys.executable,
        **object_store_conf(),
    }
    if jars_on_nodes:
        classpath = f"{jars_dir}/*"
        conf |= {"spark.driver.extraClassPath": classpath, "spark.executor.extraClassPath": classpath}
    else:
        argv += ["--jars", ",".join(str(j) for j in jars)]
    conf |= dict(spark_conf or {})
    argv += ["--archives", f"{env_archive}#environment"]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    if script is not None:
        return [*argv, str(script), *job_args]
    argv += [str(REPO / "jobs" / f"{job}.py"), "--conf", str(conf_file)]
    for item in sets:
        argv += ["--set", item]
    return [*argv, *job_args]


def submit_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for spark-submit: this one, less the Spark Connect switches a Sail session sets.

    SPARK_HOME points at this interpreter's pyspark distribution when it is unset.
    """
    env = dict(os.environ if base is None else base)
    for key in CONNECT_SWITCHES:
        env.pop(key, None)
    if "SPARK_HOME" not in env:
        # spark-submit from a pip install looks for its home with whichever python3 is first on PATH.
        from pyspark.find_spark_home import _find_spark_home

        env["SPARK_HOME"] = _find_spark_home()
    return env
