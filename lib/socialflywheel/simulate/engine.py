"""``run_simulate``: plant the world on the driver, generate chunks in parallel engine tasks, write truth."""

from __future__ import annotations

import collections
import ctypes
import logging
import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.config.simulate import CORRUPTION_KINDS, SimulateConfig
from socialflywheel.lake.catalog import spark_ddl
from socialflywheel.results import JobResult
from socialflywheel.simulate.files import TASK_SCHEMA, write_chunk
from socialflywheel.simulate.truth import truth_tables
from socialflywheel.simulate.world import World, make_world

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

# Above this many events per task, more tasks are used than simulate.partitions (memory per task).
MAX_EVENTS_PER_CHUNK = 1_000_000
# Chunks generated at once in one process. Sail runs every task of a stage as a thread of this process, so
# without a bound a 100M-event run holds 100 chunks (~330 MB each) at once; the GIL leaves little to gain
# beyond a few threads (NumPy, Arrow, hashing and writes release it).
MAX_CONCURRENT_CHUNKS = max(1, min(4, os.cpu_count() or 1))
_chunk_slots = threading.BoundedSemaphore(MAX_CONCURRENT_CHUNKS)


def n_chunks(events: int, partitions: int) -> int:
    """Tasks for a run: the configured partitions, more for very large runs."""
    return max(partitions, math.ceil(events / MAX_EVENTS_PER_CHUNK))


_worlds: dict[str, World] = {}
_worlds_lock = threading.Lock()


def world_for(sim_json: str) -> World:
    """The planted world of a simulate config, built once per process.

    Tasks receive only the config (a few hundred bytes) and rebuild the world, which is seeded and
    deterministic: shipping the world itself breaks Spark Connect's 128 MiB plan limit at ~20M events.
    """
    with _worlds_lock:
        if sim_json not in _worlds:
            _worlds.clear()
            _worlds[sim_json] = make_world(SimulateConfig.model_validate_json(sim_json))
        return _worlds[sim_json]


def bounded_write_chunk(
    world: World, chunk: int, chunks: int, landing: Path, formats: list[str], rates: dict[str, float]
) -> pa.RecordBatch:
    """``write_chunk``, waiting while ``MAX_CONCURRENT_CHUNKS`` others run in this process (bounded memory)."""
    with _chunk_slots:
        try:
            return write_chunk(world, chunk, chunks, landing, formats, rates)
        finally:
            _release_freed_memory()


def _release_freed_memory() -> None:
    """Hand a finished chunk's freed memory back to the OS.

    Sail runs each task on its own thread; Arrow's allocator keeps per-thread heaps and glibc per-thread
    arenas, so without this every thread that ever ran a chunk keeps that chunk's peak resident.
    """
    pa.default_memory_pool().release_unused()
    if _libc is not None:
        _libc.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_libc = _load_libc()


def generate(spark: SparkSession, sim: SimulateConfig, landing: Path) -> pa.Table:
    """Run one engine task per chunk (``mapInArrow`` over chunk ids); each writes its own files."""
    chunks = n_chunks(sim.events, sim.partitions)
    landing_str, sim_json = str(landing), sim.model_dump_json()
    formats: list[str] = list(sim.formats)
    rates = sim.corruption.rates()

    def task(batches: Iterable[pa.RecordBatch]) -> Iterable[pa.RecordBatch]:
        world = world_for(sim_json)
        for batch in batches:
            for chunk in batch.column("id").to_pylist():
                yield bounded_write_chunk(world, int(chunk), chunks, Path(landing_str), formats, rates)

    ids = spark.range(0, chunks, 1, chunks)
    return ids.mapInArrow(task, spark_ddl(TASK_SCHEMA)).toArrow().select(TASK_SCHEMA.names)


@dataclass(kw_only=True)
class SimulateResult(JobResult):
    """What a simulate run produced: the planted world's size, the landing files, the corruption and the timings.

    ``rows_in`` is 0 (the simulator reads nothing); ``rows_out`` is the number of events generated.
    """

    events: int = 0
    """Events generated (the sum of ``events_by_type``)."""
    users: int = 0
    """People in the planted population."""
    posts: int = 0
    """Posts in the planted content."""
    follow_edges: int = 0
    """Follow edges of the planted graph."""
    files: int = 0
    """JSONL landing files written (Parquet copies not counted)."""
    bytes: int = 0
    """Bytes of the JSONL landing files."""
    lines: int = 0
    """Lines in the JSONL landing files, injected bad lines included."""
    corruptions: dict[str, int] = field(default_factory=dict)
    """Corrupted records planted, per corruption kind (every kind listed, zero included)."""
    events_by_type: dict[str, int] = field(default_factory=dict)
    """Events generated, per event type."""
    chunks: int = 0
    """Engine tasks the generation ran in."""
    plant_seconds: float = 0.0
    """Seconds spent planting the world on the driver."""
    generate_seconds: float = 0.0
    """Seconds spent generating and writing the chunks."""
    seconds: float = 0.0
    """Seconds for the whole run, truth tables included."""
    events_per_second: int = 0
    """Events generated per second of the whole run."""


def run_simulate(spark: SparkSession, lake: Lake, sim: SimulateConfig, *, landing: Path) -> SimulateResult:
    """Simulate the platform into the ``landing`` folder and overwrite the truth.* tables.

    Landing files: ``events/date=YYYY-MM-DD/part-NNNNN.jsonl`` (and ``events_parquet/...parquet``
    when ``simulate.formats`` has parquet). Both folders are replaced on every run.

    Args:
        spark: the session whose tasks generate the chunks.
        lake: where the truth tables go.
        sim: the ``simulate`` section: sizes, structure, corruption and its own seed.
        landing: the local landing folder (``ingest.landing_dir``, resolved).

    Returns:
        The run's figures: events, users, posts, files, bytes, corruptions per kind, events per type, seconds.
    """
    started = time.perf_counter()
    for sub in ("events", "events_parquet"):
        shutil.rmtree(landing / sub, ignore_errors=True)
    landing.mkdir(parents=True, exist_ok=True)
    world = world_for(sim.model_dump_json())
    planted_s = time.perf_counter() - started
    rows = generate(spark, sim, landing)
    generated_s = time.perf_counter() - started - planted_s
    tables = truth_tables(world, rows)
    for name, data in tables.items():
        lake.write_arrow(data, name, mode="overwrite")
    # Only the few count and file rows go through Python (a 100M-event run returns millions of rows).
    counts = rows.filter(pc.equal(rows["kind"], "count")).select(["s1", "n1"]).to_pydict()
    by_type: dict[str, int] = {}
    for name, n in zip(counts["s1"], counts["n1"], strict=True):
        by_type[name] = by_type.get(name, 0) + n
    files = rows.filter(pc.equal(rows["kind"], "file"))
    per_kind = collections.Counter(tables["truth.corruptions"].column("kind").to_pylist())
    events = sum(by_type.values())
    seconds = time.perf_counter() - started
    result = SimulateResult(
        events=events,
        users=world.pop.n,
        posts=world.content.n,
        follow_edges=len(world.graph.src),
        files=files.num_rows,
        bytes=int(pc.sum(files["n2"]).as_py() or 0),
        lines=int(pc.sum(files["n1"]).as_py() or 0),
        corruptions={kind: per_kind[kind] for kind in CORRUPTION_KINDS},
        events_by_type=by_type,
        chunks=n_chunks(sim.events, sim.partitions),
        plant_seconds=round(planted_s, 3),
        generate_seconds=round(generated_s, 3),
        seconds=round(seconds, 3),
        events_per_second=round(events / max(seconds, 1e-9)),
        rows_in=0,
        rows_out=events,
    )
    log.info("simulated %s events (%s files) in %.1f s", events, files.num_rows, seconds)
    return result
