"""Spark session factory: Sail in-process by default, Spark Connect, classic JVM Spark or spark-submit."""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from socialflywheel.config import FlywheelConfig
from socialflywheel.config.masking import redact_text
from socialflywheel.lake.storage import endpoint_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

_lock = threading.Lock()
_sail_server: Any = None
_sail_pid: int | None = None
_session: SparkSession | None = None


def _start_sail(cfg: FlywheelConfig) -> str:
    """Start one Sail Spark Connect server for this process and return its URL."""
    global _sail_server, _sail_pid
    if _sail_server is not None:
        if _sail_pid != os.getpid():
            raise RuntimeError(
                "a Sail server must not be used from a forked child: start Sail in the main process "
                "or in a spawned process"
            )
        host, port = _sail_server.listening_address
        return f"sc://{host}:{port}"
    os.environ.setdefault("RUST_LOG", "error")  # Sail logs sessions at INFO and unsupported hints at WARN
    # Sail drops a session idle for 15 minutes ("session ... is not running"); this server lives only as long as
    # this process, so a notebook left open or a long training step between two queries must not lose it.
    os.environ.setdefault("SAIL_SPARK__SESSION_TIMEOUT_SECS", str(7 * 24 * 3600))
    if cfg.spark.sail_workers:
        os.environ.setdefault("SAIL_EXECUTION__DEFAULT_PARALLELISM", str(cfg.spark.sail_workers))
    for key, value in endpoint_settings().items():  # Sail's S3 client reads them from the environment
        os.environ.setdefault(key, value)
    if cfg.spark.sail_memory_gb:  # a fair pool: an operator past its share spills instead of growing
        spill = cfg.work_path / "_spill"
        spill.mkdir(parents=True, exist_ok=True)
        os.environ["SAIL_RUNTIME__MEMORY_POOL__TYPE"] = "fair"
        os.environ["SAIL_RUNTIME__MEMORY_POOL__FAIR__MAX_SIZE"] = str(int(cfg.spark.sail_memory_gb * 2**30))
        os.environ["SAIL_RUNTIME__TEMPORARY_FILES__PATHS"] = json.dumps([str(spill)])
    if cfg.spark.sail_mode != "local":
        os.environ["SAIL_MODE"] = cfg.spark.sail_mode  # read once, when the server starts
    from pysail.spark import SparkConnectServer

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start(background=True)
    _sail_server, _sail_pid = server, os.getpid()
    atexit.register(stop_session)
    host, port = server.listening_address
    return f"sc://{host}:{port}"


def get_session(cfg: FlywheelConfig) -> SparkSession:
    """Return the process's Spark session for the configured engine, creating it once.

    Args:
        cfg: the resolved configuration; ``cfg.spark.engine`` picks the engine.
    """
    global _session
    with _lock:
        if _session is not None:
            return _session
        from pyspark.sql import SparkSession

        engine = cfg.spark.engine
        if engine == "sail":
            url = _start_sail(cfg)
            log.info("engine=sail, mode %s (embedded Spark Connect server at %s)", cfg.spark.sail_mode, url)
            builder = SparkSession.builder.remote(url)
        elif engine == "connect":
            log.info(
                "engine=connect (remote Spark Connect at %s): set by spark.connect_url",
                redact_text(str(cfg.spark.connect_url)),
            )
            builder = SparkSession.builder.remote(str(cfg.spark.connect_url))
        elif engine == "classic":
            log.info("engine=classic (JVM Spark, master %s)", cfg.spark.master)
            builder = SparkSession.builder.master(cfg.spark.master).config("spark.ui.enabled", "false")
            if cfg.spark.master.startswith("local"):
                # Python workers on this machine: this interpreter (PySpark starts PYSPARK_PYTHON, else PATH's
                # python3, which may be one without the project installed: "No module named 'socialflywheel'").
                os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            if cfg.spark.packages:
                builder = builder.config("spark.jars.packages", ",".join(cfg.spark.packages))
        else:  # submit: spark-submit already configured master, jars and plugins
            log.info("engine=submit (session provided by spark-submit)")
            builder = SparkSession.builder
        builder = builder.appName(cfg.spark.app_name)
        conf = {"spark.sql.shuffle.partitions": str(cfg.spark.shuffle_partitions), "spark.sql.session.timeZone": "UTC"}
        conf.update(cfg.spark.conf)
        if engine in ("classic", "submit"):
            for key, value in conf.items():
                builder = builder.config(key, value)
            _session = builder.getOrCreate()
        else:
            _session = builder.getOrCreate()
            for key, value in conf.items():
                try:
                    _session.conf.set(key, value)
                except Exception as exc:  # Sail ignores or rejects some JVM-only keys
                    log.debug("conf %s not accepted by %s: %s", key, engine, exc)
        return _session


def stop_session() -> None:
    """Stop the session and the Sail server started by this process, if any."""
    global _session, _sail_server
    with _lock:
        if _session is not None:
            try:
                _session.stop()
            except Exception:  # the server may already be gone at interpreter exit
                pass
            _session = None
        if _sail_server is not None and _sail_pid == os.getpid():
            try:
                _sail_server.stop()
            except Exception:
                pass
            _sail_server = None
