"""Declarative source mappings: a source's own records -> landing-contract events, one YAML file per source.

A mapping says, per rule, which records it takes (``when``), and which events each of them becomes (``emit``, one
record may become several: a retweet is a share *and* the original post). Each event field is read from a path
into the record (``user.id_str``, ``entities.hashtags[].text``, ``referenced_tweets[?type=retweeted].id``), a
constant, or a template of paths, then value-mapped, defaulted and, for ``ts``, read in a declared format. The
events then pass the landing contract exactly as a contract line does (:func:`socialflywheel.ingest.parse.validate`).

Pure Python, like the parser: it runs inside the parse tasks on any engine, and tests drive it directly. Profiles
for public platform formats ship beside this module (``sources/*.yaml``); ``ingest.source`` names one of them or a
file of your own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from socialflywheel.config.sources import (
    KEEP,
    TEMPLATE_SLOT,
    Condition,
    FieldSpec,
    SourceError,
    SourceMapping,
    compile_path,
    load_source,
    source_names,
)
from socialflywheel.ingest.mapping_values import TRANSFORMS, read_ts
from socialflywheel.ingest.parse import Limits, Rejected, validate

__all__ = [
    "Mapper",
    "SourceError",
    "SourceMapping",
    "load_source",
    "read_path",
    "read_ts",
    "record_fields",
    "source_names",
]

_ID_FIELDS = frozenset({"event_id", "user_id", "post_id", "target_user_id", "campaign_id"})
_LIST_FIELDS = frozenset({"hashtags"})

# ---- paths -------------------------------------------------------------------------------------------------------


def read_path(record: object, path: str) -> Any:  # noqa: ANN401 (a JSON value)
    """The value at ``path`` in a decoded record: None where it is missing; a list once the path fans out."""
    values: list[Any] = [record]
    fanned = False
    for kind, a, b in compile_path(path):
        out: list[Any] = []
        for value in values:
            if kind == "key":
                if isinstance(value, dict) and a in value:
                    out.append(value[a])
            elif kind == "index":
                if isinstance(value, list) and -len(value) <= a < len(value):
                    out.append(value[a])
            elif isinstance(value, list):
                fanned = True
                out.extend(v for v in value if kind == "each" or (isinstance(v, dict) and _same(v.get(a), b)))
        values = [v for v in out if v is not None]
    if fanned:
        return values
    return values[0] if values else None


def path_reader(path: str) -> Callable[[object], Any]:
    """A function reading ``path`` from a record as :func:`read_path` does: a plain chain of keys without its loops."""
    steps = compile_path(path)
    if any(kind != "key" for kind, _, _ in steps):
        return lambda record: read_path(record, path)
    keys = tuple(a for _, a, _ in steps)

    def read_keys(record: object) -> Any:  # noqa: ANN401 (a JSON value)
        value = record
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return read_keys


def _same(value: object, text: str) -> bool:
    """Whether a JSON value equals the text a path's filter gives (``[?n=3]`` takes 3 and "3")."""
    return value == text or (not isinstance(value, str | dict | list) and str(value).lower() == text.lower())


# ---- applying a mapping ------------------------------------------------------------------------------------------


class Mapper:
    """A loaded mapping, ready to turn records into contract events (built once per parse task)."""

    def __init__(self, source: SourceMapping) -> None:
        self.source = source
        self.paths = source.paths()
        self._bit = {p: 1 << i for i, p in enumerate(self.paths)}
        self._reader = {p: path_reader(p) for p in self.paths}
        self._seen = 0
        self._memo: dict[str, Any] = {}
        self._record: object = None
        self._types = {k: v for k, v in source.event_types.items() if v != KEEP}
        extras = [(name, _field_fn(name, spec, keep_list=True)) for name, spec in source.extras.items()]
        self._plan = [
            (
                rule,
                [_condition_fn(cond) for cond in rule.when],
                [
                    (
                        [(n, _field_fn(n, spec)) for n, spec in {**source.defaults, **event}.items()],
                        extras if i == 0 else [],
                    )
                    for i, event in enumerate(rule.emit)
                ],
            )
            for rule in source.rules
        ]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its mapping (shipped to parse tasks), without the paths a batch has seen so far."""
        return (Mapper, (self.source,))

    def _read(self, path: str) -> Any:  # noqa: ANN401 (a JSON value)
        """``path`` in the current record; each path is read once per record (conditions and fields share reads)."""
        memo = self._memo
        if path in memo:
            return memo[path]
        value = memo[path] = self._reader[path](self._record)
        if value is not None and value != []:
            self._seen |= self._bit[path]
        return value

    def events(self, record: object) -> list[dict[str, Any]]:
        """The source events (before the contract) a record becomes.

        Raises:
            Rejected: ``unmapped`` when no rule takes the record or a skip rule does (naming it), ``bad_timestamp``
                when a timestamp is not in its declared format.
        """
        if not isinstance(record, dict):
            raise Rejected("malformed_json", f"top level is {type(record).__name__}, not an object")
        self._memo = {}
        self._record = record
        read = self._read
        out: list[dict[str, Any]] = []
        types = self._types
        for rule, conds, events in self._plan:
            if not all(cond(read) for cond in conds):
                continue
            if rule.skip:
                if out:
                    break
                raise Rejected("unmapped", f"record: skipped by rule {rule.name}")
            for fields, extras in events:
                event: dict[str, Any] = {}
                for name, make in fields:
                    value = make(read, rule.name)
                    if value is not None:
                        event[name] = value
                etype = event.get("event_type")
                if etype in types:
                    event["event_type"] = types[etype]
                # The record's own fields go with the record's own event (a retweet's lang is not the original's).
                for name, make in extras:
                    value = make(read, rule.name)
                    if value is not None and value != [] and name not in event:
                        event[name] = value
                event["_rule"] = rule.name
                out.append(event)
        if not out:
            raise Rejected(
                "unmapped", f"record: no rule takes it (rules: {', '.join(r.name for r in self.source.rules)})"
            )
        for path in self.paths:  # every path the record holds is seen, whichever rules read it
            read(path)
        return out

    def apply(self, record: object, limits: Limits) -> list[dict[str, Any]]:
        """The contract events a record becomes, all of them valid, or the first rule one of them breaks.

        A record maps whole or not at all: one invalid event quarantines the record (its line), so a retweet is
        never half taken.

        Raises:
            Rejected: the reason of the first event that fails, its detail naming the rule.
        """
        events = []
        for event in self.events(record):
            rule = event.pop("_rule")
            etype = event.get("event_type")
            kept = isinstance(etype, str) and self.source.event_types.get(etype) == KEEP
            try:
                # A kept type passes the rules every event obeys (those of a type with no rule of its own: search).
                events.append(validate({**event, "event_type": "search"} if kept else event, limits))
            except Rejected as rej:
                raise Rejected(rej.reason, f"{rej.detail} (rule {rule})") from None
            if kept:
                events[-1]["event_type"] = etype
        return events

    def take_seen(self) -> int:
        """The paths found in some record since the last call, as bits in :attr:`paths` order; then reset."""
        seen, self._seen = self._seen, 0
        return seen

    def unseen(self, seen: int) -> list[str]:
        """What the mapping reads that no record of a batch holds, given the OR of the batch's :meth:`take_seen`.

        A coalesce counts as seen when any of its paths is; it is named as its paths joined by `` or ``.
        """
        keys = self.source.keys()
        return [" or ".join(key) for key in keys if not any(seen & self._bit[p] for p in key)]


Read = Callable[[str], Any]
"""A path -> its value in the record being mapped."""


def _condition_fn(cond: Condition) -> Callable[[Read], bool]:
    """A condition as one function of the record's reader."""
    present, absent = cond.present, cond.absent
    equals, not_equals = list((cond.equals or {}).items()), list((cond.not_equals or {}).items())

    def holds(read: Read) -> bool:
        if present is not None and read(present) in (None, []):
            return False
        if absent is not None and read(absent) not in (None, []):
            return False
        if not all(_matches(read(path), want) for path, want in equals):
            return False
        return not any(_matches(read(path), want) for path, want in not_equals)

    return holds


def _source_fn(spec: FieldSpec) -> Callable[[Read], Any]:
    """Where a field's value comes from, before defaults, maps and formats."""
    if spec.const is not None:
        const = spec.const
        return lambda read: const
    if spec.template is not None:
        pieces = TEMPLATE_SLOT.split(spec.template)  # text, slot, text, slot, ..., text
        slots = pieces[1::2]

        def fill(read: Read) -> str | None:
            values = [_scalar(read(p)) for p in slots]
            if any(v is None for v in values):
                return None
            parts = [pieces[0]]
            for value, text in zip(values, pieces[2::2], strict=True):
                parts += [_text(value), text]
            return "".join(parts).strip() or None  # text around the slots is layout: its ends are dropped

        return fill
    if isinstance(spec.path, str):
        path = spec.path
        return lambda read: read(path)
    paths = list(spec.path or ())

    def coalesce(read: Read) -> Any:  # noqa: ANN401 (a JSON value)
        value = None
        for path in paths:
            value = read(path)
            if value not in (None, []):
                break
        return value

    return coalesce


def _field_fn(name: str, spec: FieldSpec, *, keep_list: bool = False) -> Callable[[Read, str], Any]:
    """One event field as a function of the record's reader (and the rule's name, for a rejection's detail)."""
    source = _source_fn(spec)
    finish = finisher(name, spec, keep_list=keep_list)
    if finish is None:
        is_id = name in _ID_FIELDS

        def plain(read: Read, rule: str) -> Any:  # noqa: ANN401 (a JSON value)
            value = source(read)
            if type(value) is list:
                value = value[0] if value else None
            return str(value) if is_id and type(value) is int else value

        return plain
    return lambda read, rule: finish(source(read), rule)


def finisher(name: str, spec: FieldSpec, *, keep_list: bool = False) -> Callable[[Any, str], Any] | None:
    """A field's value from what its source gives (default, scalar, map, transform, format); None for a plain field.

    A plain field (none of those, one value wanted) only takes a fanned-out path's first value, and an id's text.
    """
    scalar = not keep_list and name not in _LIST_FIELDS and spec.transform != "hashtags_from_text"
    is_id = name in _ID_FIELDS
    default, vmap, fmt = spec.default, spec.map, spec.format
    transform = TRANSFORMS[spec.transform] if spec.transform else None
    if default is None and vmap is None and transform is None and fmt is None and scalar:
        return None

    def make(value: Any, rule: str) -> Any:  # noqa: ANN401 (a JSON value)
        if value is None or value == []:
            value = default
        if value is None:
            return None
        if scalar:
            value = _scalar(value)
        if vmap is not None and isinstance(value, str | int | float) and str(value) in vmap:
            value = vmap[str(value)]
        if transform is not None and isinstance(value, str):
            value = transform(value)
        if fmt is not None:
            try:
                value = read_ts(value, fmt)
            except (ValueError, TypeError, OverflowError) as exc:
                raise Rejected("bad_timestamp", f"{name}: {_short(value)} is not {fmt} (rule {rule}): {exc}") from None
        # ids as text: Twitter's numeric ids (Reddit's and Mastodon's are text already)
        return str(value) if is_id and type(value) is int else value

    return make


def _matches(value: object, want: object) -> bool:
    wants = want if isinstance(want, list) else [want]
    values = value if isinstance(value, list) else [value]
    return any(v == w or (v is not None and str(v) == str(w)) for v in values for w in wants)


def _scalar(value: object) -> object:
    """A fanned-out path's first value where one value is wanted."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def record_fields(records: Sequence[object], depth: int = 3) -> list[str]:
    """The field paths (to ``depth`` levels) the given records hold: what a warning shows of a batch."""
    found: dict[str, None] = {}

    def walk(value: object, prefix: str, level: int) -> None:
        if isinstance(value, list):
            for item in value[:5]:
                walk(item, prefix + "[]", level)
            return
        if not isinstance(value, dict) or level > depth:
            return
        for key, sub in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found[name] = None
            walk(sub, name, level + 1)

    for record in records:
        walk(record, "", 1)
    return list(found)
