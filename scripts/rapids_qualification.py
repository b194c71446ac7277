#!/usr/bin/env python3
"""Predict which Spark SQL operators of a job would run on the GPU, with NVIDIA's RAPIDS qualification tool.

Runs the Scala core of spark-rapids-tools (``QualificationMain``, with ``java``) on Spark event logs and turns
its per-operator verdicts into a small report that can be committed:

* ``operators.csv``: one row per operator (exec or expression) and verdict: supported on the GPU or not,
  and if not the tool's reason and action (``Triage``: costs time and the tool deems it within the plugin's
  reach, so a fallback worth a look; ``IgnorePerf``: stays on the CPU and the tool does not expect the plugin
  to take it, e.g. Delta log queries, Python UDFs; ``IgnoreNoPerf``: disappears from a GPU plan, e.g.
  ``ColumnarToRow``).
* ``summary.json``: tool and Spark versions, how much of each event log the tool parsed, its warnings, and
  the predicted GPU coverage (share of SQL task time and share of plan operators the tool marks supported).
* ``report.md``: the same as Markdown tables (coverage per app, task time per query, unsupported operators).

Nothing is downloaded when the tool runs. ``--install DIR`` fetches, once, the tools jar bundled in the
``spark-rapids-user-tools`` wheel and the Spark 3.5 jars the jar needs on its classpath (the tools jar is
built for Scala 2.12 / Spark 3.5; the jars come from the ``pyspark`` 3.5 source distribution), both with
``pip download --no-deps --require-hashes``.

Usage:
    python scripts/rapids_qualification.py --install build/rapids-tools
    python scripts/rapids_qualification.py --tools-dir build/rapids-tools [--out infra/spark/qualification]
        [--platform onprem] [--work-dir DIR] EVENTLOG [EVENTLOG ...]

An EVENTLOG is an event-log file, a rolling ``eventlog_v2_*`` folder, or a folder holding such folders.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USER_TOOLS_VERSION = "26.8.4"
USER_TOOLS_SHA256 = "4aba048c8898f87668f40dcc555ce7f6dd801edea5fcb53dcc3586b39b5992d7"
PYSPARK_VERSION = "3.5.7"
PYSPARK_SHA256 = "80e36514e0c5c126d35a26adf4f405cd4a69de96a8ea8a3c1e9a65fce2fb4eaa"

TOOLS_JAR_PATTERN = re.compile(
    r"^spark_rapids_pytools/resources/generated_files/core/jars/(rapids-4-spark-tools_2\.12-[^/]+\.jar)$"
)
PYSPARK_JAR_PATTERN = re.compile(r"^(?:[^/]+/deps/jars|pyspark/jars)/([^/]+\.jar)$")
SPARK_JARS = "spark-jars"
MAIN_CLASS = "com.nvidia.spark.rapids.tool.qualification.QualificationMain"
DEFAULT_OUT = Path("infra/spark/qualification")

EVENTS_STATS = re.compile(
    r"Events stats of (?P<log>\S+) \(Total/Parsed/Skipped/Process-Percentage\): "
    r"\((?P<total>\d+)/(?P<parsed>\d+)/(?P<skipped>\d+)/(?P<pct>[^)]*)\)"
)
LOG_LEVEL = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (?P<level>WARN|ERROR) (?P<msg>.*)$")
# Warnings about the machine the tool runs on, not about the event logs (they name local hosts and addresses).
HOST_WARNINGS = ("NativeCodeLoader:", "Utils: Your hostname", "Utils: Set SPARK_LOCAL_IP")
WRITE_PATH = re.compile(
    r"\((?:\d+)\) (?:SaveIntoDataSourceCommand|InsertIntoHadoopFsRelationCommand)\n"
    r"Arguments: (?P<args>[^\n]*)"
)

OPERATOR_COLUMNS = [
    "app_id",
    "operator_type",
    "operator",
    "gpu_supported",
    "count",
    "plan_nodes",
    "action",
    "reason",
    "sql_ids",
    "queries",
]


def die(message: str) -> None:
    """Print an error and exit with status 2."""
    print(f"rapids_qualification: {message}", file=sys.stderr)
    raise SystemExit(2)


# ---------------------------------------------------------------------------------------------------------------
# --install


def makefile_snippet(tools_dir: str) -> str:
    """The Makefile lines that install and run the tool (printed by --install; the Makefile is edited by hand)."""
    return (
        "# RAPIDS qualification tool: the tools jar bundled in the spark-rapids-user-tools wheel and the Spark 3.5\n"
        "# jars it needs (pyspark 3.5 sdist), hash-pinned pip downloads; nothing is fetched when it runs.\n"
        f"RAPIDS_TOOLS := {tools_dir}\n"
        "RAPIDS_TOOLS_STAMP := $(RAPIDS_TOOLS)/.installed\n"
        "EVENTLOGS ?= /tmp/eventlogs/eventlog_v2_app-20261201123812-0001\n\n"
        "$(RAPIDS_TOOLS_STAMP): scripts/rapids_qualification.py\n"
        "\t$(PY) scripts/rapids_qualification.py --install $(RAPIDS_TOOLS)\n\n"
        "rapids-tools: $(RAPIDS_TOOLS_STAMP)\n\n"
        "# Predicted GPU coverage of the feature job's event log -> infra/spark/qualification/ (needs Java 17).\n"
        "rapids-qualification: $(RAPIDS_TOOLS_STAMP) sysdeps\n"
        "\t$(PY) scripts/rapids_qualification.py --tools-dir $(RAPIDS_TOOLS) --out infra/spark/qualification "
        "$(EVENTLOGS)\n"
        "\n.PHONY: rapids-tools rapids-qualification\n"
    )


def install(dest: Path) -> None:
    """Put the tools jar in ``dest`` and the Spark 3.5 jars in ``dest/spark-jars`` (pip download, hash-pinned)."""
    dest.mkdir(parents=True, exist_ok=True)
    spark_dir = dest / SPARK_JARS
    if spark_dir.exists():
        shutil.rmtree(spark_dir)
    spark_dir.mkdir()
    for old in dest.glob("rapids-4-spark-tools_*.jar"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="rapids-tools-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(
            f"spark-rapids-user-tools=={USER_TOOLS_VERSION} --hash=sha256:{USER_TOOLS_SHA256}\n"
            f"pyspark=={PYSPARK_VERSION} --hash=sha256:{PYSPARK_SHA256}\n"
        )
        downloads = Path(tmp) / "dl"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--require-hashes",
                "-r",
                str(requirements),
                "-d",
                str(downloads),
            ],
            check=True,
        )
        wheels = sorted(downloads.glob("spark_rapids_user_tools-*.whl"))
        if not wheels:
            die(f"no spark-rapids-user-tools wheel in {downloads}")
        jar = extract_tools_jar(wheels[0], dest)
        archives = sorted(downloads.glob("pyspark-*"))
        if not archives:
            die(f"no pyspark archive in {downloads}")
        count = extract_spark_jars(archives[0], spark_dir)
    (dest / ".installed").write_text(
        f"spark-rapids-user-tools=={USER_TOOLS_VERSION} sha256:{USER_TOOLS_SHA256} -> {jar.name}\n"
        f"pyspark=={PYSPARK_VERSION} sha256:{PYSPARK_SHA256} -> {SPARK_JARS}/ ({count} jars)\n"
    )
    print(f"installed {jar} and {count} Spark {PYSPARK_VERSION} jars in {spark_dir}")
    print("\nMakefile lines (add by hand):\n")
    print(makefile_snippet(str(dest)))


def extract_tools_jar(wheel: Path, dest: Path) -> Path:
    """Copy the bundled ``rapids-4-spark-tools_2.12-*.jar`` out of the user-tools wheel."""
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            match = TOOLS_JAR_PATTERN.match(name)
            if match:
                target = dest / match.group(1)
                with zf.open(name) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out)
                return target
    die(f"{wheel.name} holds no tools jar")
    raise AssertionError  # unreachable


def extract_spark_jars(archive: Path, dest: Path) -> int:
    """Copy the Spark jars out of a pyspark wheel (``pyspark/jars``) or sdist (``pyspark-X/deps/jars``)."""
    count = 0
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                match = PYSPARK_JAR_PATTERN.match(name)
                if match:
                    with zf.open(name) as src, (dest / match.group(1)).open("wb") as out:
                        shutil.copyfileobj(src, out)
                    count += 1
    else:
        with tarfile.open(archive) as tf:
            for member in tf:
                match = PYSPARK_JAR_PATTERN.match(member.name)
                if match and member.isfile():
                    src_file = tf.extractfile(member)
                    if src_file is None:
                        continue
                    with src_file, (dest / match.group(1)).open("wb") as out:
                        shutil.copyfileobj(src_file, out)
                    count += 1
    if not any(dest.glob("spark-core_2.12-*.jar")):
        die(f"{archive.name} holds no spark-core_2.12 jar")
    return count


# ---------------------------------------------------------------------------------------------------------------
# running the tool


@dataclass
class ToolRun:
    """One run of QualificationMain: its command line, its output folder and what its log says."""

    command: list[str]
    output: Path
    tool_jar: str
    java_version: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def tool_classpath(tools_dir: Path) -> tuple[Path, Path]:
    """The tools jar and the Spark 3.5 jar folder under ``tools_dir`` (as laid out by --install)."""
    jars = sorted(tools_dir.glob("rapids-4-spark-tools_2.12-*.jar"))
    if not jars:
        die(f"no rapids-4-spark-tools_2.12-*.jar in {tools_dir} (run --install {tools_dir} first)")
    spark_dir = tools_dir / SPARK_JARS
    if not any(spark_dir.glob("spark-core_2.12-3.5*.jar")):
        die(f"no Spark 3.5 jars in {spark_dir} (run --install {tools_dir} first)")
    return jars[-1], spark_dir


def expand_eventlogs(paths: Iterable[Path]) -> list[Path]:
    """Event logs to hand to the tool: a folder of ``eventlog_v2_*`` folders is replaced by its members."""
    result: list[Path] = []
    for path in paths:
        if not path.exists():
            die(f"event log {path} does not exist")
        members = sorted(p for p in path.iterdir() if p.name.startswith("eventlog_v2_")) if path.is_dir() else []
        result.extend(members or [path])
    return result


def java_version() -> str:
    """First line of ``java -version``."""
    proc = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    lines = (proc.stderr or proc.stdout).splitlines()
    return lines[0].strip() if lines else "unknown"


def run_tool(tools_dir: Path, eventlogs: list[Path], work: Path, platform: str, heap: str, threads: int) -> ToolRun:
    """Run QualificationMain on ``eventlogs`` into ``work``; keep its log as ``work/tool.log``."""
    jar, spark_dir = tool_classpath(tools_dir)
    command = [
        "java",
        f"-Xmx{heap}",
        "-cp",
        f"{jar}{os.pathsep}{spark_dir}{os.sep}*",
        MAIN_CLASS,
        "--platform",
        platform,
        "--per-sql",
        "--num-threads",
        str(threads),
        "--output-directory",
        str(work),
        *(str(p) for p in eventlogs),
    ]
    print("running:", " ".join(command), file=sys.stderr)
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    log = proc.stdout + proc.stderr
    (work / "tool.log").write_text(log)
    if proc.returncode != 0:
        print(log[-4000:], file=sys.stderr)
        die(f"QualificationMain exited with {proc.returncode}; full log in {work / 'tool.log'}")
    run = ToolRun(command=command, output=work / "qual_core_output", tool_jar=jar.name, java_version=java_version())
    for line in log.splitlines():
        stats = EVENTS_STATS.search(line)
        if stats:
            run.events[Path(stats["log"].removeprefix("file:")).name] = {
                "total": int(stats["total"]),
                "parsed": int(stats["parsed"]),
                "skipped": int(stats["skipped"]),
            }
        level = LOG_LEVEL.match(line)
        if level and not any(h in level["msg"] for h in HOST_WARNINGS):
            run.warnings.append(f"{level['level']} {level['msg']}")
        elif "Exception" in line and not level and line.strip() not in run.warnings:
            run.warnings.append(line.strip())
    return run


# ---------------------------------------------------------------------------------------------------------------
# reading the tool's output


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of one of the tool's CSV reports (empty when the report was not written)."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def read_properties(path: Path) -> dict[str, str]:
    """A Java .properties file as a dict."""
    props: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                props[key.strip()] = value.strip()
    return props


def readable_eventlog_file(path: Path) -> bool:
    """Whether ``eventlog_lines`` can read this event-log file (plain, or zstd with the ``zstd`` program)."""
    return path.suffix in ("", ".inprogress", ".json") or (
        path.suffix in (".zstd", ".zst") and bool(shutil.which("zstd"))
    )


def eventlog_lines(path: Path) -> Iterator[str]:
    """The lines of one event-log file (see ``readable_eventlog_file``), decompressed as a stream."""
    if path.suffix in (".zstd", ".zst"):
        with subprocess.Popen(["zstd", "-dcq", str(path)], stdout=subprocess.PIPE, text=True, errors="replace") as proc:
            assert proc.stdout is not None
            yield from proc.stdout
        if proc.returncode != 0:
            die(f"zstd could not read {path}")
    else:
        with path.open(errors="replace") as f:
            yield from f


@dataclass
class EventLogScan:
    """What the report needs from the event log itself (the tool does not report it)."""

    readable: bool = False
    writes: dict[int, str] = field(default_factory=dict)
    event_counts: Counter[str] = field(default_factory=Counter)


EVENT_NAME = re.compile(r'^\{"Event":"(?:[\w.$]*\.)?(?P<name>[\w$]+)"')


def scan_eventlog(eventlog: Path) -> EventLogScan:
    """Count the events by type and find the path written by each SQL execution (Delta/file-source writes).

    Only to explain the tool's figures: its log gives a total/parsed/skipped count but not which events it
    skipped, and its write_operations.csv gives Spark 4's ``SaveIntoDataSourceCommand`` location as
    ``unknown``. Event-log codecs other than none and zstd (with the ``zstd`` program) are not read.
    """
    files = sorted(p for p in eventlog.iterdir() if p.name.startswith("events_")) if eventlog.is_dir() else [eventlog]
    scan = EventLogScan()
    if not files or not all(readable_eventlog_file(f) for f in files):
        return scan
    scan.readable = True
    for file in files:
        for line in eventlog_lines(file):
            name = EVENT_NAME.match(line)
            scan.event_counts[name["name"] if name else "?"] += 1
            if not name or name["name"] != "SparkListenerSQLExecutionStart":
                continue
            event = json.loads(line)
            match = WRITE_PATH.search(event.get("physicalPlanDescription", ""))
            if match:
                path = re.search(r"path=([^,\]\s]+)", match["args"]) or re.match(r"([^,\s]+)", match["args"])
                if path:
                    scan.writes[int(event["executionId"])] = path.group(1)
    return scan


def short_table(path: str) -> str:
    """``s3a://bucket/lake/gold/user_features`` -> ``gold.user_features``."""
    parts = [p for p in path.rstrip("/").split("/") if p]
    return ".".join(parts[-2:]) if len(parts) >= 2 else path


@dataclass
class Operator:
    """Accumulates one row of operators.csv."""

    count: int = 0
    plan_nodes: set[tuple[str, str]] = field(default_factory=set)
    sql_ids: set[int] = field(default_factory=set)


def ratio(num: float, den: float) -> float | None:
    """num / den rounded to 4 places, or None when den is 0."""
    return round(num / den, 4) if den else None


def query_labels(persql: list[dict[str, str]], writes: dict[int, str]) -> dict[int, str]:
    """SQL id -> label of its root query: the table it writes, else ``<action>#<root id>`` (e.g. ``count#22``)."""
    labels: dict[int, str] = {}
    roots = {int(r["SQL ID"]): int(r["Root SQL ID"]) for r in persql}
    descriptions = {int(r["SQL ID"]): r["SQL Description"] for r in persql}
    for sql_id, root in roots.items():
        if root in writes:
            labels[sql_id] = short_table(writes[root])
        else:
            word = (descriptions.get(root) or "sql").split(" ")[0].rstrip(":")
            labels[sql_id] = f"{word}#{root}"
    return labels


def operator_rows(app_id: str, qual: Path, labels: dict[int, str]) -> list[dict[str, Any]]:
    """operators.csv rows of one app: operators_stats.csv counts joined to unsupported_operators.csv reasons."""
    flagged: dict[tuple[int, str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for r in read_csv(qual / "unsupported_operators.csv"):
        op_type = "Expr" if r["Unsupported Type"] == "Expr" else "Exec"
        entry = (r["ExecId"], r["Action"], r["Details"])
        key = (int(r["SQL ID"]), op_type, r["Unsupported Operator"])
        if entry not in flagged[key]:
            flagged[key].append(entry)
    ops: dict[tuple[str, str, bool, str, str], Operator] = defaultdict(Operator)
    for r in read_csv(qual / "operators_stats.csv"):
        sql_id, op_type, name = int(r["SQL ID"]), r["Operator Type"], r["Operator Name"]
        supported, count = r["Supported"] == "true", int(r["Count"])
        if supported:
            op = ops[(op_type, name, True, "NONE", "")]
            op.count += count
            op.sql_ids.add(sql_id)
            continue
        entries = flagged.get((sql_id, op_type, name), [("", "", "")])
        # Split the SQL's count over (action, reason) in proportion to flagged plan nodes; remainder to the first.
        by_reason = Counter((action, reason) for _, action, reason in entries)
        shares = {k: count * n // len(entries) for k, n in by_reason.items()}
        shares[next(iter(by_reason))] += count - sum(shares.values())
        for (action, reason), share in shares.items():
            op = ops[(op_type, name, False, action, reason)]
            op.count += share
            op.sql_ids.add(sql_id)
            op.plan_nodes.update((str(sql_id), node) for node, a, d in entries if (a, d) == (action, reason) and node)
    rows: list[dict[str, Any]] = []
    for (op_type, name, supported, action, reason), op in ops.items():
        rows.append(
            {
                "app_id": app_id,
                "operator_type": op_type,
                "operator": name,
                "gpu_supported": str(supported).lower(),
                "count": op.count,
                "plan_nodes": "" if supported else len(op.plan_nodes),
                "action": action,
                "reason": reason,
                "sql_ids": " ".join(str(s) for s in sorted(op.sql_ids)),
                "queries": " ".join(sorted({labels.get(s, f"sql#{s}") for s in op.sql_ids})),
            }
        )
    rows.sort(
        key=lambda r: (
            r["app_id"],
            r["gpu_supported"] == "true",
            r["action"] != "Triage",
            r["operator_type"],
            -int(r["count"]),
            r["operator"],
            r["reason"],
        )
    )
    return rows


def coverage(qual: Path, raw: Path, summary_row: dict[str, str], labels: dict[int, str]) -> dict[str, Any]:
    """Predicted GPU coverage of one app, three ways, each from the tool's own per-app reports."""
    # 1. SQL task time: stages.csv gives, per stage, the total task time and the tool's estimate of the unsupported
    #    part (stage task time x unsupported execs / execs of the stage, +50% when the stage has row<->columnar
    #    transitions). A stage shared by a root query and a sub-query is listed once per query: keep one row.
    #    Split by kind of query: those the tool flags as Delta Lake metadata queries (log replay, file listing;
    #    CPU by design) and the others (the job's own transforms and writes).
    stages: dict[str, tuple[int, int]] = {}
    for r in read_csv(qual / "stages.csv"):
        task, unsupported = int(r["Stage Task Duration"]), int(r["Unsupported Task Duration"])
        stages[r["Stage ID"]] = max(stages.get(r["Stage ID"], (0, 0)), (task, min(unsupported, task)))
    task_total = sum(t for t, _ in stages.values())
    task_unsupported = sum(u for _, u in stages.values())
    delta_sqls = {
        r["SQL ID"] for r in read_csv(qual / "unsupported_operators.csv") if "Delta Lake metadata" in r["Details"]
    }
    stage_sqls: dict[str, set[str]] = defaultdict(set)
    for r in read_csv(raw / "sql_to_stage_information.csv"):
        stage_sqls[r["stageId"]].add(r["sqlID"])
    by_kind: dict[str, list[int]] = {"delta_metadata_queries": [0, 0], "other_queries": [0, 0]}
    by_query: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for stage_id, (task, unsupported) in stages.items():
        sqls = stage_sqls.get(stage_id, set())
        delta = bool(sqls) and sqls <= delta_sqls
        kind = "delta_metadata_queries" if delta else "other_queries"
        by_kind[kind][0] += task
        by_kind[kind][1] += unsupported
        query = by_query[" ".join(sorted({labels.get(int(q), f"sql#{q}") for q in sqls})) or "no query"]
        if delta:
            query[2] += task
        else:
            query[0] += task
            query[1] += unsupported
    # 2. Plan operators: execs.csv, one row per plan node (WholeStageCodegen wrappers left out: their children
    #    are listed on their own). Action NONE = supported; IgnoreNoPerf = removed from a GPU plan.
    actions = Counter(r["Action"] for r in read_csv(qual / "execs.csv") if r["Exec Name"] != "WholeStageCodegen")
    nodes = sum(actions.values())
    # 3. What the user-tools wrapper reports as "Unsupported Operators Stage Duration Percent": wall-clock time of
    #    the stages holding an unsupported exec (not IgnoreNoPerf), over the app's SQL stage durations sum.
    stage_wall: dict[str, int] = {}
    triage_wall: dict[str, int] = {}
    for r in read_csv(qual / "unsupported_operators.csv"):
        if r["Action"] == "IgnoreNoPerf" or r["Unsupported Type"] == "Expr" or r["Stage ID"] == "-1":
            continue
        stage_wall[r["Stage ID"]] = max(stage_wall.get(r["Stage ID"], 0), int(r["Stage Duration"]))
        if r["Action"] == "Triage":
            triage_wall[r["Stage ID"]] = max(triage_wall.get(r["Stage ID"], 0), int(r["Stage Duration"]))
    stage_sum = int(summary_row.get("SQL Stage Durations Sum") or 0)
    return {
        "sql_task_time": {
            "source": "qual_metrics/<app>/stages.csv (one row per stage id)",
            "total_ms": task_total,
            "unsupported_ms": task_unsupported,
            "supported_share": ratio(task_total - task_unsupported, task_total),
            "by_query_kind": {
                kind: {"total_ms": t, "unsupported_ms": u, "supported_share": ratio(t - u, t)}
                for kind, (t, u) in by_kind.items()
            },
            "by_query": {
                query: {
                    "total_ms": t,
                    "unsupported_ms": u,
                    "supported_share": ratio(t - u, t),
                    "delta_metadata_queries_ms": d,
                }
                for query, (t, u, d) in sorted(by_query.items())
            },
        },
        "plan_nodes": {
            "source": "qual_metrics/<app>/execs.csv (WholeStageCodegen wrappers excluded)",
            "by_action": dict(sorted(actions.items())),
            "supported_share": ratio(actions["NONE"], nodes),
            "supported_share_excluding_removed": ratio(actions["NONE"], nodes - actions["IgnoreNoPerf"]),
        },
        "stages_with_unsupported_execs": {
            "source": "qual_metrics/<app>/unsupported_operators.csv, as the user-tools wrapper computes it",
            "stages": len(stage_wall),
            "wall_clock_ms": sum(stage_wall.values()),
            "share_of_sql_stage_durations": ratio(sum(stage_wall.values()), stage_sum),
            "triage_only_stages": len(triage_wall),
            "triage_only_share_of_sql_stage_durations": ratio(sum(triage_wall.values()), stage_sum),
        },
    }


def unsupported_by_action(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Unsupported operators of one app per tool action: occurrences and flagged plan nodes, execs and exprs."""
    result: dict[str, dict[str, int]] = defaultdict(Counter)
    for r in rows:
        if r["gpu_supported"] == "false":
            kind = "execs" if r["operator_type"] == "Exec" else "exprs"
            result[r["action"]][kind] += int(r["count"])
            result[r["action"]][f"{kind}_plan_nodes"] += int(r["plan_nodes"] or 0)
    return {action: dict(sorted(counts.items())) for action, counts in sorted(result.items())}


def app_reports(run: ToolRun, eventlogs: list[Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(summary entries, operators.csv rows) of every event log the tool processed."""
    core = run.output
    summaries = {r["App ID"]: r for r in read_csv(core / "apps_summary.csv")}
    by_name = {p.name: p for p in eventlogs}
    apps: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for status in read_csv(core / "status.csv"):
        log_name = Path(status["Event Log"].removeprefix("file:")).name
        entry: dict[str, Any] = {
            "event_log": log_name,
            "status": status["Status"],
            "app_id": status["App ID"],
            "app_name": status["App Name"],
            "tool_description": status["Description"],
            "events": run.events.get(log_name),
        }
        app_id = status["App ID"]
        if status["Status"].upper() != "SUCCESS":
            apps.append(entry)
            continue
        qual, raw = core / "qual_metrics" / app_id, core / "raw_metrics" / app_id
        info = next(iter(read_csv(raw / "application_information.csv")), {})
        summary_row = summaries.get(app_id, {})
        scan = scan_eventlog(by_name[log_name]) if log_name in by_name else EventLogScan()
        writes = scan.writes
        labels = query_labels(read_csv(qual / "persql.csv"), writes)
        app_rows = operator_rows(app_id, qual, labels)
        rows.extend(app_rows)
        entry.update(
            {
                "spark_version": info.get("sparkVersion"),
                "app_duration_ms": int(summary_row.get("App Duration") or 0),
                "sql_queries": len(labels),
                "event_types": dict(sorted(scan.event_counts.items())) if scan.readable else None,
                "written_tables": sorted({short_table(p) for p in writes.values()}),
                "coverage": coverage(qual, raw, summary_row, labels),
                "unsupported_by_action": unsupported_by_action(app_rows),
                "app_summary": {
                    k: summary_row.get(k, "")
                    for k in (
                        "Unsupported Read File Formats and Types",
                        "Unsupported Write Data Format",
                        "Potential Problems",
                        "SQL Ids with Failures",
                        "Executor CPU Time Percent",
                    )
                },
            }
        )
        apps.append(entry)
    return apps, rows


# ---------------------------------------------------------------------------------------------------------------
# writing the report


def pct(value: float | None) -> str:
    """0.4107 -> '41.1%'."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def brief_queries(queries: str, limit: int = 6) -> str:
    """The queries column for report.md: the labels, or their number when there are many."""
    labels = queries.split()
    return " ".join(labels) if len(labels) <= limit else f"{len(labels)} queries (see operators.csv)"


def markdown(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """report.md: coverage per app and the operators the tool leaves on the CPU."""
    tool = summary["tool"]
    lines = [
        "# RAPIDS qualification tool: predicted GPU coverage",
        "",
        f"Generated by `scripts/rapids_qualification.py` with {tool['jar']} (tools {tool['version']}, built "
        f"against Spark {tool['built_against_spark']}), `--platform {tool['platform']}`. Do not edit by hand.",
        "",
        "| app | Spark | events total/parsed/skipped | SQL task time supported: all (queries other than Delta "
        "metadata) | plan nodes supported (excl. removed) | stages w/ unsupported exec (wall clock) |",
        "|---|---|---|---|---|---|",
    ]
    for app in summary["apps"]:
        if app["status"].upper() != "SUCCESS":
            lines.append(f"| {app['event_log']} | | {app['status']}: {app['tool_description']} | | | |")
            continue
        ev = app["events"] or {}
        cov = app["coverage"]
        lines.append(
            f"| {app['app_id']} | {app['spark_version']} | {ev.get('total')}/{ev.get('parsed')}/{ev.get('skipped')} "
            f"| {pct(cov['sql_task_time']['supported_share'])} "
            f"({pct(cov['sql_task_time']['by_query_kind']['other_queries']['supported_share'])}) "
            f"| {pct(cov['plan_nodes']['supported_share'])} "
            f"({pct(cov['plan_nodes']['supported_share_excluding_removed'])}) "
            f"| {pct(cov['stages_with_unsupported_execs']['share_of_sql_stage_durations'])} |"
        )
    for app in summary["apps"]:
        if app["status"].upper() != "SUCCESS":
            continue
        lines += [
            "",
            f"## SQL task time per query, {app['app_id']}",
            "",
            "A query is labelled with the table its root query writes, else `<action>#<root SQL id>`. Task time of "
            "the Delta Lake metadata queries it triggers (CPU by design) is counted apart.",
            "",
            "| query | task time (ms) | predicted unsupported (ms) | supported | Delta metadata queries (ms) |",
            "|---|---|---|---|---|",
        ]
        for query, q in app["coverage"]["sql_task_time"]["by_query"].items():
            lines.append(
                f"| {query} | {q['total_ms']} | {q['unsupported_ms']} | {pct(q['supported_share'])} "
                f"| {q['delta_metadata_queries_ms']} |"
            )
    lines += [
        "",
        "## Not supported on the GPU (per the tool)",
        "",
        "| app | type | operator | count | action | reason | queries |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["gpu_supported"] == "false":
            lines.append(
                f"| {r['app_id']} | {r['operator_type']} | `{r['operator']}` | {r['count']} | {r['action']} "
                f"| {r['reason']} | {brief_queries(r['queries'])} |"
            )
    return "\n".join(lines) + "\n"


def write_report(out: Path, run: ToolRun, platform: str, eventlogs: list[Path]) -> dict[str, Any]:
    """Write operators.csv, summary.json and report.md into ``out``; return the summary."""
    props = read_properties(run.output / "runtime.properties")
    apps, rows = app_reports(run, eventlogs)
    summary: dict[str, Any] = {
        "tool": {
            "name": "RAPIDS Accelerator qualification tool (spark-rapids-tools core, QualificationMain)",
            "jar": run.tool_jar,
            "version": props.get("build.version"),
            "pip_package": f"spark-rapids-user-tools=={USER_TOOLS_VERSION}",
            "built_against_spark": props.get("build.spark.version"),
            "classpath_spark": props.get("runtime.spark.version"),
            "java": run.java_version,
            "platform": platform,
            "arguments": ["--platform", platform, "--per-sql"],
        },
        "tool_warnings": sorted(set(run.warnings)),
        "apps": apps,
    }
    out.mkdir(parents=True, exist_ok=True)
    with (out / "operators.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=OPERATOR_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(markdown(summary, rows))
    return summary


def print_summary(summary: dict[str, Any], out: Path) -> None:
    """One line per app on stdout."""
    for app in summary["apps"]:
        if app["status"].upper() != "SUCCESS":
            print(f"{app['event_log']}: {app['status']} {app['tool_description']}")
            continue
        cov = app["coverage"]
        print(
            f"{app['app_id']} (Spark {app['spark_version']}): SQL task time supported "
            f"{pct(cov['sql_task_time']['supported_share'])} (outside Delta metadata queries "
            f"{pct(cov['sql_task_time']['by_query_kind']['other_queries']['supported_share'])}), plan nodes supported "
            f"{pct(cov['plan_nodes']['supported_share'])}, unsupported by action {app['unsupported_by_action']}"
        )
    print(f"report written to {out}/ (operators.csv, summary.json, report.md)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("eventlogs", nargs="*", type=Path, help="event-log files or eventlog_v2_* folders")
    parser.add_argument("--install", type=Path, metavar="DIR", help="fetch the tools jar and Spark 3.5 jars into DIR")
    parser.add_argument("--tools-dir", type=Path, help="folder made by --install")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report folder (default {DEFAULT_OUT})")
    parser.add_argument("--platform", default="onprem", help="the tool's --platform (default onprem)")
    parser.add_argument("--work-dir", type=Path, help="where the tool writes its full output (default: a temp dir)")
    parser.add_argument("--heap", default="2g", help="java -Xmx for the tool (default 2g)")
    parser.add_argument("--threads", type=int, default=1, help="the tool's --num-threads (default 1)")
    args = parser.parse_args(argv)
    if args.install is None and (args.tools_dir is None or not args.eventlogs):
        parser.error("give --install DIR, or --tools-dir DIR and at least one event log")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    if args.install is not None:
        install(args.install)
        if args.tools_dir is None or not args.eventlogs:
            return 0
    if shutil.which("java") is None:
        die("java not found on PATH")
    eventlogs = expand_eventlogs(args.eventlogs)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="rapids-qual-"))
    work.mkdir(parents=True, exist_ok=True)
    run = run_tool(args.tools_dir, eventlogs, work, args.platform, args.heap, args.threads)
    summary = write_report(args.out, run, args.platform, eventlogs)
    print_summary(summary, args.out)
    print(f"full tool output: {run.output}", file=sys.stderr)
    return 0 if all(a["status"].upper() == "SUCCESS" for a in summary["apps"]) else 1


if __name__ == "__main__":
    sys.exit(main())
