"""Source mappings (``ingest.source``): the YAML file that maps one source's records onto the landing contract.

One file per source, validated here like the rest of the config: shipped profiles for public platform formats live
in ``socialflywheel/ingest/sources/``, and a path names a file of your own. What each key means is in the field
descriptions below and in ``docs/sources.md``; :mod:`socialflywheel.ingest.mapping` applies a mapping to records.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialflywheel.config.contract import EVENT_TYPES, FIELD_NAMES

SOURCES_DIR = Path(__file__).resolve().parents[1] / "ingest" / "sources"
"""The shipped source profiles, one ``<name>.yaml`` each."""

# Fields an emitted event may set: the contract's own (the post's category among them, an extra the features read).
EVENT_FIELDS = frozenset(FIELD_NAMES)

KEEP = "keep"
"""``event_types`` value for a source's own type kept under its own name (in bronze and silver, unused by features)."""

TS_FORMATS = ("iso8601", "epoch_s", "epoch_ms", "epoch_us", "rfc2822", "twitter")
"""Timestamp formats by name; any other ``format`` is a ``strptime`` pattern (it must contain a ``%``)."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- paths -------------------------------------------------------------------------------------------------------

_STEP = re.compile(r"\[\]|\[(-?\d+)\]|\[\?([^=\]]+)=([^\]]*)\]|([^.\[\]]+)")


@functools.cache
def compile_path(path: str) -> tuple[tuple[str, Any, Any], ...]:
    """A path as steps: ``("key", name)``, ``("each",)``, ``("index", i)`` or ``("where", key, value)``.

    ``a.b`` reads keys, ``a[]`` every element of a list, ``a[0]`` one element, ``a[?type=retweeted]`` the elements
    whose ``type`` is ``retweeted``. A key holding a dot or bracket cannot be named (no platform format has one).

    Raises:
        ValueError: the path is empty or has characters no step takes.
    """
    steps: list[tuple[str, Any, Any]] = []
    pos = 0
    text = path.strip()
    while pos < len(text):
        if text[pos] == "." and steps and pos + 1 < len(text):
            pos += 1
        m = _STEP.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"path {path!r}: cannot read it from character {pos + 1} ({text[pos:]!r})")
        if m.group(0) == "[]":
            steps.append(("each", None, None))
        elif m.group(1) is not None:
            steps.append(("index", int(m.group(1)), None))
        elif m.group(2) is not None:
            steps.append(("where", m.group(2), m.group(3)))
        else:
            steps.append(("key", m.group(4), None))
        pos = m.end()
    if not steps:
        raise ValueError("a path is empty")
    return tuple(steps)


# ---- the mapping file --------------------------------------------------------------------------------------------


class FieldSpec(_Spec):
    """How one event field is made. In YAML a bare string is a path: ``user_id: user.id_str``."""

    path: str | list[str] | None = Field(
        None, description="Where the value is; a list of paths takes the first that is present (a coalesce)."
    )
    const: str | int | float | bool | None = Field(None, description="A constant value instead of a path.")
    template: str | None = Field(
        None, description="Text with {path} placeholders (``{user.id_str}:share``); missing if any path is missing."
    )
    map: dict[str, Any] | None = Field(
        None, description="Value map (``impression: view``); a value it does not list stays as it is."
    )
    format: str | None = Field(
        None, description=f"For ts: one of {', '.join(TS_FORMATS)}, or a strptime pattern (``%d/%m/%Y %H:%M``)."
    )
    transform: Literal["strip_html", "hashtags_from_text", "lower"] | None = Field(
        None, description="strip_html (HTML text -> plain), hashtags_from_text (the #tags of a text), lower."
    )
    default: str | int | float | bool | None = Field(None, description="The value when the source has none.")

    @model_validator(mode="before")
    @classmethod
    def _bare_path(cls, data: Any) -> Any:  # noqa: ANN401 (pydantic hands the raw input)
        return {"path": data} if isinstance(data, str | list) else data

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [name for name in ("path", "const", "template") if getattr(self, name) is not None]
        if len(given) != 1 and not (not given and self.default is not None):
            raise ValueError(f"give exactly one of path, const, template (given: {', '.join(given) or 'none'})")
        for path in self.paths():
            compile_path(path)
        if self.format is not None and self.format not in TS_FORMATS and "%" not in self.format:
            raise ValueError(f"format {self.format!r}: expected one of {', '.join(TS_FORMATS)} or a strptime pattern")
        return self

    def paths(self) -> list[str]:
        """Every path this field reads."""
        if isinstance(self.path, str):
            return [self.path]
        if self.path is not None:
            return list(self.path)
        return TEMPLATE_SLOT.findall(self.template or "")


TEMPLATE_SLOT = re.compile(r"\{([^{}]+)\}")


class Condition(_Spec):
    """When a rule takes a record; every key given must hold."""

    present: str | None = Field(None, description="A path that must hold a value (a non-empty list once fanned out).")
    absent: str | None = Field(None, description="A path that must hold no value.")
    equals: dict[str, Any] | None = Field(
        None, description="path -> value (a list: any of them); a fanned-out path holds if any element equals."
    )
    not_equals: dict[str, Any] | None = Field(None, description="path -> value(s) the path must not hold.")

    def paths(self) -> list[str]:
        """Every path this condition reads."""
        out = [p for p in (self.present, self.absent) if p]
        return out + list(self.equals or ()) + list(self.not_equals or ())

    @model_validator(mode="after")
    def _checked(self) -> Condition:
        if not self.paths():
            raise ValueError("a condition needs present, absent, equals or not_equals")
        for path in self.paths():
            compile_path(path)
        return self


Event = dict[str, FieldSpec]


class Rule(_Spec):
    """Records this rule takes, and the events each becomes."""

    name: str = Field(min_length=1, description="Named in the quarantine reason of a record it cannot map.")
    when: list[Condition] = Field(default_factory=list, description="All must hold; none: every record.")
    emit: list[Event] = Field(default_factory=list, description="The events a record becomes, in order.")
    skip: bool = Field(
        False, description="Records it takes become no event: quarantined as unmapped, naming this rule; stops here."
    )

    @field_validator("when", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _checked(self) -> Rule:
        if self.skip == bool(self.emit):
            raise ValueError(f"rule {self.name!r}: give either emit (events) or skip: true")
        for event in self.emit:
            unknown = sorted(set(event) - EVENT_FIELDS)
            if unknown:
                raise ValueError(
                    f"rule {self.name!r}: {', '.join(unknown)} not an event field;"
                    f" fields: {', '.join(sorted(EVENT_FIELDS))}"
                )
        return self


class SourceMapping(_Spec):
    """One source's mapping file (``sources/<name>.yaml`` or a file of your own)."""

    name: str = Field(min_length=1, description="The source's name (``ingest.source``).")
    description: str = Field("", description="What the source is, and which of its records each rule takes.")
    defaults: Event = Field(
        default_factory=dict, description="Fields every emitted event gets unless its rule sets them."
    )
    event_types: dict[str, str] = Field(
        default_factory=dict,
        description="The source's own event types -> the core type each counts as (``impression: view``), or "
        "``keep`` (kept in bronze and silver under its own name, not read by the features); applied to every event's "
        "event_type. A type neither listed here nor a core type is quarantined as unknown_event_type.",
    )
    extras: dict[str, FieldSpec] = Field(
        default_factory=dict,
        description="Other fields of the record kept in bronze.events.extras (name -> field), with the record's own"
        " event: the first event its rule emits (a retweet's lang is not the original's).",
    )
    rules: list[Rule] = Field(min_length=1, description="Tried in order; a record takes every rule whose when holds.")

    @model_validator(mode="after")
    def _checked(self) -> SourceMapping:
        bad = sorted({t for t in self.event_types.values() if t not in (*EVENT_TYPES, KEEP)})
        if bad:
            raise ValueError(f"event_types map onto {', '.join(bad)}; core types: {', '.join(EVENT_TYPES)}, or {KEEP}")
        kept = sorted(t for t, to in self.event_types.items() if to == KEEP and t in EVENT_TYPES)
        if kept:
            raise ValueError(f"event_types: {', '.join(kept)} are core types already; only a source's own type is kept")
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names repeat: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
        clash = sorted(set(self.extras) & (EVENT_FIELDS | {"extras"}))
        if clash:
            raise ValueError(f"extras: {', '.join(clash)} are event fields; set them in the rules' events instead")
        unknown = sorted(set(self.defaults) - EVENT_FIELDS)
        if unknown:
            raise ValueError(f"defaults: {', '.join(unknown)} not an event field")
        return self

    def kept_types(self) -> list[str]:
        """The source's own event types kept under their own name (``keep``), in the file's order."""
        return [event_type for event_type, to in self.event_types.items() if to == KEEP]

    def keys(self) -> list[tuple[str, ...]]:
        """What the mapping reads, each once: a path, or the alternatives of a coalesce (any one of them will do)."""
        specs = [*self.defaults.values(), *self.extras.values()]
        found: list[tuple[str, ...]] = []
        for rule in self.rules:
            found += [(p,) for cond in rule.when for p in cond.paths()]
            specs += [spec for event in rule.emit for spec in event.values()]
        for spec in specs:
            found += [tuple(spec.path)] if isinstance(spec.path, list) else [(p,) for p in spec.paths()]
        return list(dict.fromkeys(found))

    def paths(self) -> list[str]:
        """Every path the mapping reads, each once, in the order of the file (the batch check's bit order)."""
        return list(dict.fromkeys(p for key in self.keys() for p in key))


class SourceError(ValueError):
    """A source mapping that cannot be found or read; the message names the file and the key."""


def source_names() -> list[str]:
    """The shipped source profiles."""
    return sorted(p.stem for p in SOURCES_DIR.glob("*.yaml"))


@functools.cache
def load_source(name: str) -> SourceMapping:
    """A shipped profile by name, or a mapping file by path.

    Raises:
        SourceError: no such profile or file, or the file breaks a rule (one line naming the file and the key).
    """
    path = SOURCES_DIR / f"{name}.yaml" if "/" not in name and not name.endswith((".yaml", ".yml")) else Path(name)
    if not path.is_file():
        raise SourceError(
            f"source {name!r}: no such profile or file; profiles: {', '.join(source_names())}, or a path to a .yaml"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return SourceMapping.model_validate(data)
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not YAML: {' '.join(str(exc).split())}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise SourceError(f"{path}: {where}: {err['msg']} ({exc.error_count()} problem(s) in all)") from None
