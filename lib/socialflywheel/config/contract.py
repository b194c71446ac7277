"""The landing contract defined once: its fields and event types, and the JSON Schema generated from them.

``ingest/contract/events.schema.json`` is this module's output, written by ``make contract`` (``python -m
socialflywheel.config.contract --write``) and never edited by hand: a test fails when the two differ. The parser
compiles the shipped file (package data, read without importing the config); ``flywheel contract`` prints the schema
for a config, a source's own kept event types included. Only the standard library is imported here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "ingest" / "contract" / "events.schema.json"
"""The shipped schema, generated from this module."""

SCHEMA_ID = "https://socialflywheel.dev/contracts/landing-event.schema.json"
TITLE = "Social Flywheel landing event"
DESCRIPTION = (
    "One line of a landing JSON-lines file (UTF-8). Fields not listed here are additive: ingest keeps them in"
    " bronze.events.extras. Other field names are mapped with ingest.field_mapping. Limits (text bytes, line bytes,"
    ' timestamp range) come from the ingest config. A required field given as null or "" is quarantined as missing.'
)


@dataclass(frozen=True)
class ContractField:
    """One field of a landing event: its JSON type(s), the limits JSON Schema checks, and what it means."""

    name: str
    types: tuple[str, ...]
    description: str = ""
    required: bool = False
    items: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    exclusive_maximum: int | None = None

    def schema(self, enum: Sequence[str] = ()) -> dict[str, Any]:
        """The field's JSON Schema; ``enum`` lists the values it may take (event_type's)."""
        out: dict[str, Any] = {"type": self.types[0] if len(self.types) == 1 else list(self.types)}
        rules = (
            ("enum", list(enum) or None),
            ("items", {"type": self.items} if self.items else None),
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
            ("minimum", self.minimum),
            ("exclusiveMaximum", self.exclusive_maximum),
            ("description", self.description or None),
        )
        out.update((key, value) for key, value in rules if value is not None)
        return out


_ID = 256  # the longest id, in characters
_OPT_STR = ("string", "null")

FIELDS: tuple[ContractField, ...] = (
    ContractField(
        "event_id", ("string",), "Globally unique; the idempotency key.", required=True, min_length=1, max_length=_ID
    ),
    ContractField("event_type", ("string",), required=True),
    ContractField(
        "user_id",
        ("string",),
        "The acting person (raw id; pseudonymized on the way to silver).",
        required=True,
        min_length=1,
        max_length=_ID,
    ),
    ContractField("post_id", _OPT_STR, max_length=_ID),
    ContractField("target_user_id", _OPT_STR, "The person followed or unfollowed.", max_length=_ID),
    ContractField(
        "ts",
        ("string", "number"),
        "ISO-8601 with Z or an offset, or epoch milliseconds (a number; a fraction is kept).",
        required=True,
        min_length=1,
    ),
    ContractField("dwell_ms", ("integer", "null"), "Below 2^62 (a bigint column).", minimum=0, exclusive_maximum=2**62),
    ContractField("text", _OPT_STR, "At most ingest.max_text_bytes UTF-8 bytes."),
    ContractField("hashtags", ("array", "null"), items="string"),
    ContractField("country", _OPT_STR),
    ContractField("device", _OPT_STR),
    ContractField("campaign_id", _OPT_STR, max_length=_ID),
    ContractField("category", _OPT_STR, "Extra field on post events: the creator-chosen category."),
)
"""The contract's fields, in order; a field not listed is additive (kept in ``bronze.events.extras``)."""

CORE_EVENT_TYPES: tuple[tuple[str, str | None], ...] = (
    ("post", "post_id"),
    ("view", "post_id"),
    ("like", "post_id"),
    ("share", "post_id"),
    ("comment", "post_id"),
    ("follow", "target_user_id"),
    ("unfollow", "target_user_id"),
    ("click", "post_id"),
    ("search", None),
    ("ad_impression", "campaign_id"),
    ("ad_click", "campaign_id"),
)
"""The core event types in order, each with the field it requires beyond the common ones (a non-empty string)."""

EVENT_TYPES: tuple[str, ...] = tuple(name for name, _ in CORE_EVENT_TYPES)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)


def contract_schema(extra_event_types: Sequence[str] = ()) -> dict[str, Any]:
    """The landing contract as a JSON Schema (draft 2020-12), with a source's own kept event types if given.

    Args:
        extra_event_types: Event types kept under their own name (a source's ``event_types: {bookmark: keep}``):
            appended to the enum; they require nothing beyond the common fields.

    Raises:
        ValueError: an extra type is empty, a core type, or given twice.
    """
    extra = list(extra_event_types)
    bad = sorted({t for t in extra if not t or t in EVENT_TYPES or extra.count(t) > 1})
    if bad:
        raise ValueError(f"extra event types {bad}: each must be new, non-empty and given once")
    needs: dict[str, list[str]] = {}
    for event_type, field in CORE_EVENT_TYPES:
        if field is not None:
            needs.setdefault(field, []).append(event_type)
    props = {f.name: f.schema(enum=[*EVENT_TYPES, *extra] if f.name == "event_type" else ()) for f in FIELDS}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": TITLE,
        "description": DESCRIPTION,
        "type": "object",
        "required": [f.name for f in FIELDS if f.required],
        "additionalProperties": True,
        "properties": props,
        "allOf": [
            {
                "if": {"required": ["event_type"], "properties": {"event_type": {"enum": types}}},
                "then": {"required": [field], "properties": {field: {"type": "string", "minLength": 1}}},
            }
            for field, types in needs.items()
        ],
    }


def render(schema: dict[str, Any]) -> str:
    """The schema as the shipped file spells it (two-space indent, UTF-8 kept, a final newline)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m socialflywheel.config.contract [--write]``: print the core schema, or write the shipped file."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["--write"]):
        print("usage: python -m socialflywheel.config.contract [--write]", file=sys.stderr)
        return 2
    text = render(contract_schema())
    if args:
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
