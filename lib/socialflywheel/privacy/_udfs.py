"""Vectorized UDFs of the privacy stage.

No `from __future__ import annotations` here: pandas_udf reads the type hints at definition time.
"""

import re
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column


def _strings(value: object) -> Iterator[str]:
    """Every string in a decoded JSON value: the values and the keys, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_spellings(ids: Iterable[str]) -> list[bytes]:
    r"""Every byte string a JSON writer may use for each id: escaped to ASCII (``\u00eb``) or not, quoted."""
    import json

    return sorted({json.dumps(u, ensure_ascii=a).encode("utf-8", "surrogatepass") for u in ids for a in (True, False)})


def line_mentions(raw: bytes, ids: Set[str], spellings: Sequence[bytes]) -> bool:
    """Whether one raw landing line names any of ``ids``.

    As a decoded JSON string (value or key, at any depth), or, when the line does not decode (truncated, not
    UTF-8), as one of the ids' JSON spellings in its bytes.
    """
    import json

    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):
        return any(s in raw for s in spellings)
    return any(s in ids for s in _strings(decoded))


def mentions_any_udf(ids: Sequence[str]) -> "Callable[[Column | str], Column]":
    r"""A UDF telling whether a raw landing line (binary) names any of the people ``ids`` (``line_mentions``).

    A line that decodes as JSON is matched on its decoded strings, exactly (``"zo\u00eb"`` is ``zoë``, an id
    with a quote or a backslash is found however the line escaped it, and no id is trimmed or normalized).
    """
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    wanted = frozenset(ids)
    spellings = json_spellings(wanted)

    def _mentions(raw: pd.Series) -> pd.Series:
        return pd.Series(
            [isinstance(b, bytes | bytearray) and line_mentions(bytes(b), wanted, spellings) for b in raw], dtype=bool
        )

    udf: Callable[[Column | str], Column] = pandas_udf(_mentions, "boolean")  # type: ignore[call-overload]
    return udf


_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')  # a JSON string literal in bytes, escapes included


def named_strings(raw: bytes) -> set[str]:
    """The strings a raw landing line names.

    Its decoded JSON strings, or, when it does not decode (truncated, not UTF-8), every complete JSON string
    literal found in its bytes (decoded where it can be).
    """
    import json

    try:
        return set(_strings(json.loads(raw)))
    except (ValueError, RecursionError):
        pass
    found: set[str] = set()
    for literal in _QUOTED.findall(raw):
        try:
            value = json.loads(literal)
        except ValueError:
            value = literal[1:-1].decode("utf-8", "replace")
        if isinstance(value, str):
            found.add(value)
    return found


def strings_of_udf(pseudonyms: Sequence[str], key: bytes) -> "Callable[[Column | str], Column]":
    """A UDF: the strings a raw line names (``named_strings``) whose pseudonym is one of ``pseudonyms``.

    How an erasure filed by pseudonyms (a request) finds the raw ids that quarantined lines spell.
    """
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    from socialflywheel.privacy.pseudonymize import pseudonym

    wanted = frozenset(pseudonyms)

    def _named(raw: pd.Series) -> pd.Series:
        out = []
        for b in raw:
            strings = named_strings(bytes(b)) if isinstance(b, bytes | bytearray) else set()
            out.append(sorted(s for s in strings if pseudonym(s, key) in wanted))
        return pd.Series(out, dtype="object")

    udf: Callable[[Column | str], Column] = pandas_udf(_named, "array<string>")  # type: ignore[call-overload]
    return udf
