"""The deletes of an erasure: every row naming the people, or their posts, in every table of the lake.

Deletes go through ``MERGE ... USING <view of ids> WHEN MATCHED THEN DELETE``: a ``DELETE ... WHERE id =
'literal'`` would write the identifier into the Delta log, where it survives vacuum.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from socialflywheel.lake.catalog import CATALOG, Table
from socialflywheel.lake.io import with_commit_retry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.lake.io import Lake

RAW_LAYERS = ("bronze", "truth")  # layers that hold raw identifiers; the rest hold pseudonyms
NEVER_ERASED = ("audit.job_runs", "audit.erasures", "bronze.ingested_files", "bronze.batches")


def ids_view(spark: SparkSession, ids: Sequence[str], name: str) -> str:
    """A temporary view of the ids (one ``id`` column); returns its name."""
    view = f"erase_{name}_{uuid.uuid4().hex[:10]}"
    spark.createDataFrame([(i,) for i in ids], "id string").createOrReplaceTempView(view)
    return view


OR_MERGE_MAX_IDS = 1_000
"""Most ids one MERGE matches against several columns of a table at once. Its OR condition joins by nested loop
(rows x ids, fine for the few people of a request); above this, one MERGE per column, each a hash join."""


def _delete_matching(spark: SparkSession, lake: Lake, table: str, on: str, view: str) -> None:
    sql = f"MERGE INTO delta.`{lake.path(table)}` t USING {view} s ON {on} WHEN MATCHED THEN DELETE"
    with_commit_retry(lambda: spark.sql(sql).collect(), table=table)
    lake.versions_written[table] = lake.version(table) or 0


def _merge_delete(spark: SparkSession, lake: Lake, table: str, on: str, view: str) -> int:
    """Delete rows matching the id view; return how many went (0 means no commit at all)."""
    path = lake.path(table)
    matched = spark.sql(f"SELECT count(*) AS n FROM delta.`{path}` t JOIN {view} s ON {on}").collect()[0]["n"]
    if matched:
        _delete_matching(spark, lake, table, on, view)
    return int(matched)


def erase_table(spark: SparkSession, lake: Lake, name: str, views: dict[str, str], sizes: dict[str, int]) -> int:
    """Delete a table's rows naming any of the ids in any planned column; return how many went.

    One scan counts the rows and which columns match (a left hash join per column on the distinct ids); then one
    MERGE deletes them all (its condition ORs the matching columns), or one MERGE per matching column when the ids
    are many (:data:`OR_MERGE_MAX_IDS`). A table with a list column keeps one count and MERGE per column.
    """
    table = CATALOG[name]
    plan = erasure_plan(table)
    if len(plan) == 1 or any(table.holds_list(column) for column, _ in plan):
        total = 0
        for column, space in plan:
            on = f"array_contains(t.`{column}`, s.id)" if table.holds_list(column) else f"t.`{column}` = s.id"
            total += _merge_delete(spark, lake, name, on, views[space])
        return total
    joins = " ".join(
        f"LEFT JOIN (SELECT DISTINCT id FROM {views[space]}) s{k} ON t.`{column}` = s{k}.id"
        for k, (column, space) in enumerate(plan)
    )
    per_column = ", ".join(f"count(s{k}.id) AS c{k}" for k in range(len(plan)))
    hit = " OR ".join(f"s{k}.id IS NOT NULL" for k in range(len(plan)))
    query = f"SELECT count(*) AS n, {per_column} FROM delta.`{lake.path(name)}` t {joins} WHERE {hit}"
    row = spark.sql(query).collect()[0]
    matching = [(column, space) for k, (column, space) in enumerate(plan) if row[f"c{k}"]]
    if len(matching) == 1:
        _delete_matching(spark, lake, name, f"t.`{matching[0][0]}` = s.id", views[matching[0][1]])
    elif sum(sizes[space] for _, space in matching) > OR_MERGE_MAX_IDS:
        for column, space in matching:  # each recounts: rows matched by an earlier column are gone
            _merge_delete(spark, lake, name, f"t.`{column}` = s.id", views[space])
    elif matching:
        view = f"erase_any_{uuid.uuid4().hex[:10]}"
        union = " UNION ALL ".join(f"SELECT id, {k} AS k FROM {views[space]}" for k, (_, space) in enumerate(matching))
        spark.sql(union).createOrReplaceTempView(view)
        on = " OR ".join(f"(s.k = {k} AND t.`{column}` = s.id)" for k, (column, _) in enumerate(matching))
        _delete_matching(spark, lake, name, on, view)
        spark.catalog.dropTempView(view)
    return int(row["n"])


def erase_quarantine(spark: SparkSession, lake: Lake, raw: Sequence[str]) -> int:
    r"""Rejected lines are raw bytes (maybe not UTF-8): find the lines naming the ids, delete them by key.

    The ids are the people's raw ids and their posts' ids (another person's rejected view of an erased author's
    post names the post).

    A line is matched on its decoded JSON strings (so ``zo\u00eb`` is ``zoë`` and an id holding a quote is found
    however it was escaped), else on the bytes of every JSON spelling of each id.
    """
    from pyspark.sql import functions as F

    from socialflywheel.privacy._udfs import mentions_any_udf

    mentions = mentions_any_udf(raw)
    keys = lake.read(spark, "bronze.quarantine").where(mentions(F.col("raw"))).select("file_sha256", "line_no")
    view = f"erase_q_{uuid.uuid4().hex[:10]}"
    keys.createOrReplaceTempView(view)
    n = _merge_delete(spark, lake, "bronze.quarantine", "t.file_sha256 = s.file_sha256 AND t.line_no = s.line_no", view)
    spark.catalog.dropTempView(view)
    return n


def erasure_plan(table: Table) -> list[tuple[str, str]]:
    """(column, id space) pairs to match for one table: raw or pseudonymized people, or their posts."""
    if table.name in NEVER_ERASED:
        return []
    space = "raw" if table.layer in RAW_LAYERS else "pseudo"
    plan = [(col, space) for col in table.pii_columns]
    if "post_id" in table.column_names:
        plan.append(("post_id", "post"))
    return plan
