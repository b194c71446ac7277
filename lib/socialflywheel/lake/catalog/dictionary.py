"""The data dictionary: every table of the catalog as Markdown (``docs/data-dictionary.md``, kept current by a test).

python -m socialflywheel.lake.catalog.dictionary > docs/data-dictionary.md
"""

from __future__ import annotations

from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.catalog.table import Table

LAYERS = ("bronze", "silver", "gold", "audit", "truth")
LAYER_DOCS = {
    "bronze": "raw, validated events and ingestion bookkeeping; raw identifiers, access-restricted",
    "silver": "deduplicated, conformed, pseudonymized",
    "gold": "features, graph and recommendation outputs the products read",
    "audit": "run and erasure records; never an identifier",
    "truth": "the simulator's planted ground truth, read by tests and evaluations only",
}


def describe(t: Table) -> list[str]:
    """One table as Markdown lines: its doc, keys, partitioning, people columns and a column table."""
    lines = [f"### `{t.name}`", "", t.doc, ""]
    facts = [
        ("keys", ", ".join(t.keys) or "none"),
        ("partitioned by", ", ".join(t.partition_by) or "not partitioned"),
        ("people columns (erasure)", ", ".join(t.pii_columns) or "none"),
        ("a dated run sees", f"rows with {t.period_column} on or before its run_date" if t.period_column else "all"),
    ]
    lines += [f"- {k}: {v}" for k, v in facts] + ["", "| column | type |", "|---|---|"]
    lines += [f"| `{c}` | `{dtype}` |" for c, dtype in t.column_types.items()]
    return [*lines, ""]


def markdown() -> str:
    """The whole dictionary, layer by layer, tables sorted by name."""
    out = [
        "# Data dictionary",
        "",
        "Generated from `lib/socialflywheel/lake/catalog/` by "
        "`python -m socialflywheel.lake.catalog.dictionary`; a test fails when it is stale.",
        "",
    ]
    for layer in LAYERS:
        tables = sorted((t for t in CATALOG.values() if t.layer == layer), key=lambda t: t.name)
        out += [f"## {layer}: {LAYER_DOCS[layer]}", ""]
        for t in tables:
            out += describe(t)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
