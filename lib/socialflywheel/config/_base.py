"""The base every config section derives from (unknown keys and non-finite numbers are errors) and shared types.

Every number in the config has a lower and an upper bound (``tests/test_config_safety.py`` checks that no field
lacks one): a sign that flips a job's meaning (a negative retention deleting all of bronze) or a size that
overflows at job time (``timedelta(hours=10**12)``) is refused when the config loads, naming the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from socialflywheel.config.masking import Sensitive, masked_field_value


class Strict(BaseModel):
    """A config section: unknown keys, NaN and infinities are errors; assignments are validated too.

    Its repr (and str) masks credentials as ``config.masking.redacted`` does, so printing a config leaks nothing.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The fields pydantic's repr shows, each credential masked."""
        fields = type(self).model_fields
        for name, value in super().__repr_args__():
            field = fields.get(name) if name is not None else None
            yield name, (masked_field_value(field, value) if field is not None else value)


Url = Annotated[str, Sensitive("url")]
"""A local path or a URI that may hold ``user:password@`` or a ``;token=`` parameter."""

INT32_MAX = 2**31 - 1
"""The generic upper bound of a count: fits every integer column and array index the jobs build."""

Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
"""A random seed: numpy's SeedSequence refuses negative seeds."""

MAX_DAYS = 36_500
"""A hundred years: the longest duration in days (``today - timedelta(days)`` stays a valid date)."""

MAX_HOURS = 24 * MAX_DAYS
"""The same hundred years in hours."""
