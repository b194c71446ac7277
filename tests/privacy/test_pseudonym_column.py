"""Pseudonyms of a column (each distinct id hashed once) equal the per-id HMAC definition, value for value."""

from __future__ import annotations

import hashlib
import hmac
import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.privacy.pseudonymize import HEX_CHARS, PREFIX, pseudonym_series

_VALUES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),  # any storable string, "" included
    st.sampled_from(["u1", "u2", "1", "nan", "None"]),  # repeats, and strings that look like missing values
    st.none(),
    st.just(math.nan),
    st.integers(-3, 3),
    st.booleans(),
)


def _definition(value: object, key: bytes) -> str | None:
    """RFC 2104 HMAC-SHA256 of the id's UTF-8 bytes, hex, cut; a missing or non-string id has none."""
    if not isinstance(value, str):
        return None
    return PREFIX + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:HEX_CHARS]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_VALUES, max_size=40), key=st.binary(min_size=1, max_size=80), offset=st.integers(0, 5))
def test_a_column_gets_each_ids_own_pseudonym(values: list[object], key: bytes, offset: int) -> None:
    ids = pd.Series(values, dtype="object", index=range(offset, offset + len(values)))  # a batch's own index
    out = pseudonym_series(ids, key)
    assert list(out.index) == list(ids.index)
    assert out.tolist() == [_definition(v, key) for v in values]
