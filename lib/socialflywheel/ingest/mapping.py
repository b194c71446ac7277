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

import datetime as dt
import email.utils
import html
import re
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
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
                if isinstance(value, Mapping) and a in value:
                    out.append(value[a])
            elif kind == "index":
                if isinstance(value, list) and -len(value) <= a < len(value):
                    out.append(value[a])
            elif isinstance(value, list):
                fanned = True
                out.extend(v for v in value if kind == "each" or (isinstance(v, Mapping) and _same(v.get(a), b)))
        values = [v for v in out if v is not None]
    if fanned:
        return values
    return values[0] if values else None


def _same(value: object, text: str) -> bool:
    """Whether a JSON value equals the text a path's filter gives (``[?n=3]`` takes 3 and "3")."""
    return value == text or (not isinstance(value, str | dict | list) and str(value).lower() == text.lower())


# ---- timestamps --------------------------------------------------------------------------------------------------


def read_ts(value: object, fmt: str) -> dt.datetime:
    """A source timestamp in the declared format -> an aware UTC datetime.

    Raises:
        ValueError: the value is not in that format (the caller names the field and rule).
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a timestamp")
    if fmt in ("epoch_s", "epoch_ms", "epoch_us"):
        number = float(value) if isinstance(value, str) else value
        if not isinstance(number, int | float) or number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a number of {fmt[6:]}")
        scale = {"epoch_s": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000}[fmt]
        seconds, frac = divmod(number, scale)
        try:
            return dt.datetime.fromtimestamp(0, dt.UTC) + dt.timedelta(seconds=seconds, microseconds=frac * 1e6 / scale)
        except OverflowError:
            raise ValueError(f"{value!r} is out of range") from None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    if fmt == "iso8601":
        text = value.strip()
        when = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    elif fmt == "rfc2822":
        when = email.utils.parsedate_to_datetime(value)
    elif fmt == "twitter":  # Wed Oct 10 20:19:24 +0000 2018
        when = dt.datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y")
    else:
        when = dt.datetime.strptime(value.strip(), fmt)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


# ---- text transforms ---------------------------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p") and self.parts:
            self.parts.append("\n" if tag == "br" else "\n\n")


def strip_html(text: str) -> str:
    """The text of an HTML fragment (Mastodon's ``content``): tags dropped, entities decoded, paragraphs kept."""
    parser = _Text()
    parser.feed(text)
    parser.close()
    return html.unescape("".join(parser.parts)).strip()


_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,100})")


def hashtags_in(text: str) -> list[str]:
    """The ``#tags`` a text holds, in order, each once (for sources with no hashtag field)."""
    return list(dict.fromkeys(_HASHTAG.findall(text)))


TRANSFORMS = {"strip_html": strip_html, "hashtags_from_text": hashtags_in, "lower": str.lower}


# ---- applying a mapping ------------------------------------------------------------------------------------------


class Mapper:
    """A loaded mapping, ready to turn records into contract events (built once per parse task)."""

    def __init__(self, source: SourceMapping) -> None:
        self.source = source
        self.paths = source.paths()
        self._bit = {p: 1 << i for i, p in enumerate(self.paths)}
        self._seen = 0

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its mapping (shipped to parse tasks), without the paths a batch has seen so far."""
        return (Mapper, (self.source,))

    def _read(self, record: object, path: str) -> Any:  # noqa: ANN401 (a JSON value)
        value = read_path(record, path)
        if value is not None and value != []:
            self._seen |= self._bit[path]
        return value

    def _holds(self, record: object, cond: Condition) -> bool:
        if cond.present is not None and self._read(record, cond.present) in (None, []):
            return False
        if cond.absent is not None and self._read(record, cond.absent) not in (None, []):
            return False
        for path, want in (cond.equals or {}).items():
            if not _matches(self._read(record, path), want):
                return False
        return all(not _matches(self._read(record, p), want) for p, want in (cond.not_equals or {}).items())

    def _value(self, record: object, name: str, spec: FieldSpec, rule: str, *, keep_list: bool = False) -> Any:  # noqa: ANN401 (a JSON value)
        if spec.const is not None:
            value: Any = spec.const
        elif spec.template is not None:
            parts = {p: _scalar(self._read(record, p)) for p in spec.paths()}
            if any(v is None for v in parts.values()):
                value = None
            else:  # text around the slots is layout: what a template leaves at its ends is dropped
                value = TEMPLATE_SLOT.sub(lambda m: _text(parts[m.group(1)]), spec.template).strip() or None
        elif spec.path is not None:
            value = None
            for path in [spec.path] if isinstance(spec.path, str) else spec.path:
                value = self._read(record, path)
                if value not in (None, []):
                    break
        else:
            value = None
        if value is None or value == []:
            value = spec.default
        if value is None:
            return None
        if not keep_list and name not in _LIST_FIELDS and spec.transform != "hashtags_from_text":
            value = _scalar(value)
        if spec.map is not None and isinstance(value, str | int | float) and str(value) in spec.map:
            value = spec.map[str(value)]
        if spec.transform is not None and isinstance(value, str):
            value = TRANSFORMS[spec.transform](value)
        if spec.format is not None:
            try:
                value = read_ts(value, spec.format)
            except (ValueError, TypeError, OverflowError) as exc:
                raise Rejected(
                    "bad_timestamp", f"{name}: {_short(value)} is not {spec.format} (rule {rule}): {exc}"
                ) from None
        if name in _ID_FIELDS and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # ids as text: Twitter's numeric ids, Reddit's and Mastodon's are text already
        return value

    def events(self, record: object) -> list[dict[str, Any]]:
        """The source events (before the contract) a record becomes.

        Raises:
            Rejected: ``unmapped`` when no rule takes the record or a skip rule does (naming it), ``bad_timestamp``
                when a timestamp is not in its declared format.
        """
        if not isinstance(record, dict):
            raise Rejected("malformed_json", f"top level is {type(record).__name__}, not an object")
        out: list[dict[str, Any]] = []
        src = self.source
        for rule in src.rules:
            if not all(self._holds(record, cond) for cond in rule.when):
                continue
            if rule.skip:
                if out:
                    break
                raise Rejected("unmapped", f"record: skipped by rule {rule.name}")
            for i, spec_event in enumerate(rule.emit):
                event: dict[str, Any] = {}
                for name, spec in {**src.defaults, **spec_event}.items():
                    value = self._value(record, name, spec, rule.name)
                    if value is not None:
                        event[name] = value
                etype = event.get("event_type")
                if isinstance(etype, str) and etype in src.event_types and src.event_types[etype] != KEEP:
                    event["event_type"] = src.event_types[etype]
                # The record's own fields go with the record's own event (a retweet's lang is not the original's).
                for name, spec in src.extras.items() if i == 0 else ():
                    value = self._value(record, name, spec, rule.name, keep_list=True)
                    if value is not None and value != [] and name not in event:
                        event[name] = value
                event["_rule"] = rule.name
                out.append(event)
        if not out:
            raise Rejected("unmapped", f"record: no rule takes it (rules: {', '.join(r.name for r in src.rules)})")
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
