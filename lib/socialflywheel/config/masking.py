"""Masking of credentials: the one view of a config (and of a URL or message) that may be logged, shown or tracked.

What is masked is decided by type, not by a list of names: a ``SecretStr`` field, a field annotated
``Sensitive("values")`` (every value of the mapping), ``Sensitive("keyed")`` and any other mapping (a value whose
key names a secret, token, password, credential or key), and in every string the userinfo of a URL
(``https://user:***@host``) and its secret-named parameters (``sc://host:15002/;token=***``). A config error never
echoes the input of a ``Sensitive`` or ``SecretStr`` field, nor of a key whose name says it holds a secret.
"""

from __future__ import annotations

import datetime as dt
import re
import reprlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

__all__ = [
    "MASK",
    "Sensitive",
    "bounded_repr",
    "is_secret_key",
    "masked_field_value",
    "may_echo",
    "redact_text",
    "redacted",
]

MASK = "***"

# Spark's own spark.redaction.regex is (?i)secret|password|token|access[.]?key; this is wider on purpose (a false
# positive only hides a harmless value from a log).
_SECRET_NAME = re.compile(r"secret|passw|pwd|token|credential|private|key|auth|signature|cookie", re.IGNORECASE)
_SECRET_PARAMS = frozenset({"sig", "sas", "sv_sig"})  # Azure SAS signature parameters
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s'\"]*)@")
_PARAM = re.compile(r"(?P<lead>[;?&](?P<name>[^=;?&#/\s'\"]{1,100})=)(?P<value>[^;&#\s'\"]*)")


@dataclass(frozen=True)
class Sensitive:
    """Marks a config field whose value may carry a credential (in ``Annotated``); the kind says how it is masked.

    ``url``: a location whose userinfo and token parameters are stripped before it is shown;
    ``values``: a mapping whose every value is a credential (object-store options);
    ``keyed``: a mapping whose values are credentials where the key says so (``spark.conf``);
    ``name``: a name that a careless user may replace by the secret itself (``privacy.hmac_key_env``).
    A sensitive field's input is never echoed in a config error.
    """

    kind: Literal["url", "values", "keyed", "name"]


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 1, 4, 4, 4, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40


def is_secret_key(name: object) -> bool:
    """Whether a mapping key or parameter name says its value is a credential.

    Args:
        name: a key (``spark.hadoop.fs.s3a.secret.key``, ``AWS_SECRET_ACCESS_KEY``, ``token``); non-strings are not.
    """
    return isinstance(name, str) and (bool(_SECRET_NAME.search(name)) or name.lower() in _SECRET_PARAMS)


def _userinfo(match: re.Match[str]) -> str:
    user, sep, _password = match["userinfo"].partition(":")
    # A bare userinfo is often a token used as a user name (https://TOKEN@host): mask it whole.
    return f"{match['scheme']}{user}:{MASK}@" if sep else f"{match['scheme']}{MASK}@"


def _param(match: re.Match[str]) -> str:
    return f"{match['lead']}{MASK}" if is_secret_key(match["name"]) else match[0]


def redact_text(text: str) -> str:
    """``text`` with URL userinfo and secret-named URL parameters masked; other text unchanged.

    Args:
        text: a URL (``https://user:pass@host``, ``sc://host:15002/;token=abc``) or any text that may contain one.

    Returns:
        ``https://user:***@host``, ``sc://host:15002/;token=***``; linear time in the text's length.
    """
    return _PARAM.sub(_param, _USERINFO.sub(_userinfo, text))


def bounded_repr(value: object) -> str:
    """A short repr of any input, built in bounded time (a YAML alias bomb is never expanded) and redacted.

    Args:
        value: what a config file or ``--set`` gave.
    """
    if isinstance(value, dt.date):  # a datetime too: YAML reads unquoted dates and times as these
        return value.isoformat()
    try:
        text = _REPR.repr(value)
    except Exception:  # an object whose repr fails: its type is enough to say what was given
        text = f"<{type(value).__name__}>"
    return redact_text(text)


def _markers(tp: object) -> set[str]:
    """The masking kinds a type carries: ``secret`` for SecretStr, a ``Sensitive`` kind, in any nesting."""
    kinds: set[str] = {"secret"} if tp is SecretStr else set()
    if get_origin(tp) is Annotated:
        base, *meta = get_args(tp)
        kinds |= {m.kind for m in meta if isinstance(m, Sensitive)} | _markers(base)
    else:
        for arg in get_args(tp):
            kinds |= _markers(arg)
    return kinds


def _kinds(field: FieldInfo) -> set[str]:
    return _markers(field.annotation) | {m.kind for m in field.metadata if isinstance(m, Sensitive)}


def _section(field: FieldInfo | None) -> type[BaseModel] | None:
    tp = field.annotation if field is not None else None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def may_echo(model: type[BaseModel], loc: tuple[int | str, ...]) -> bool:
    """Whether a config error at ``loc`` may show its input: never under a sensitive field or a secret-named key.

    Args:
        model: the root config model.
        loc: the error's location, as pydantic gives it (``("spark", "conf", "spark.hadoop.fs.s3a.secret.key")``).
    """
    section: type[BaseModel] | None = model
    for part in loc:
        if is_secret_key(part):
            return False
        field = section.model_fields.get(part) if section is not None and isinstance(part, str) else None
        if field is not None and _kinds(field):
            return False
        section = _section(field)
    return True


def _mask(value: object, kinds: set[str]) -> object:
    if value is None:
        return None
    if "secret" in kinds:
        return MASK
    if isinstance(value, dict):
        return {
            k: MASK if ("values" in kinds or is_secret_key(k)) and v is not None else _mask(v, kinds)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v, kinds) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def masked_field_value(field: FieldInfo, value: object) -> object:
    """One field's value as it may be shown: masked by the field's type (nested config sections unchanged).

    Args:
        field: the field's pydantic description (its annotation and ``Sensitive`` markers).
        value: the field's value, as the model holds it or as ``model_dump`` gave it.
    """
    return value if isinstance(value, BaseModel) else _mask(value, _kinds(field))


def _walk(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        field = model.model_fields.get(name)
        section = _section(field)
        if section is not None and isinstance(value, dict):
            out[name] = _walk(section, value)
        else:
            out[name] = _mask(value, _kinds(field) if field is not None else set())
    return out


def redacted(cfg: BaseModel) -> dict[str, Any]:
    """The resolved config as JSON-ready data with every credential masked: what logs, MLflow and records get.

    Args:
        cfg: a config model (the whole ``FlywheelConfig`` or one section).

    Returns:
        ``cfg.model_dump(mode="json")`` with secrets as ``"***"`` (None stays None) and URLs redacted.
    """
    return _walk(type(cfg), cfg.model_dump(mode="json"))
