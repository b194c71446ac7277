"""The base every config section derives from (unknown keys and non-finite numbers are errors) and shared types.

Every number in the config has a lower and an upper bound (``tests/test_config_safety.py`` checks that no field
lacks one): a sign that flips a job's meaning (a negative retention deleting all of bronze) or a size that
overflows at job time (``timedelta(hours=10**12)``) is refused when the config loads, naming the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

from socialflywheel.config.masking import Sensitive, masked_field_value


class Strict(BaseModel):
    """A config section: unknown keys, NaN and infinities are errors; assignments are validated too.

    Its repr (and str) masks credentials as ``config.masking.redacted`` does, so printing a config leaks nothing.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _yaml_words(cls, data: Any) -> Any:  # noqa: ANN401 (pydantic hands the raw input)
        """A choice spelled like a YAML 1.1 boolean (``writer_lease: off``) arrives as False: take the word back."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, field in cls.model_fields.items():
            value = out.get(name)
            if isinstance(value, bool):
                words = [w for w in _literal_words(field.annotation) if w.lower() in _YAML_BOOL[value]]
                if len(words) == 1:
                    out[name] = words[0]
        return out

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The fields pydantic's repr shows, each credential masked."""
        fields = type(self).model_fields
        for name, value in super().__repr_args__():
            field = fields.get(name) if name is not None else None
            yield name, (masked_field_value(field, value) if field is not None else value)


_YAML_BOOL = {True: ("on", "yes", "y", "true"), False: ("off", "no", "n", "false")}


def _literal_words(annotation: object) -> list[str]:
    """The string choices of a ``Literal`` annotation (inside ``| None`` too); [] for anything else."""
    if get_origin(annotation) is Literal:
        return [a for a in get_args(annotation) if isinstance(a, str)]
    return [w for arg in get_args(annotation) for w in _literal_words(arg)]


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
