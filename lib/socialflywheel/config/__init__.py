"""Typed configuration: one pydantic model per concern, loaded from YAML, rejected early."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from socialflywheel.config.masking import bounded_repr, may_echo, redact_text, redacted
from socialflywheel.config.models import FlywheelConfig

__all__ = [
    "ConfigError",
    "FlywheelConfig",
    "config_hash",
    "load_config",
    "public_dict",
    "redact_text",
    "redacted",
]

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CONF = REPO_ROOT / "conf" / "local.yaml"


class ConfigError(ValueError):
    """A configuration problem, phrased as one line that names the key."""


def _set_path(data: dict[str, Any], dotted: str, value: object) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = {}
            node[key] = child
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: '{key}' is a value, not a section")
        node = child
    node[keys[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``key.path=value`` override; the value is read as YAML (so 3 is an int)."""
    if "=" not in text:
        raise ConfigError(f"--set {bounded_repr(text)}: expected key.path=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"--set {bounded_repr(text)}: empty key")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except (yaml.YAMLError, ValueError):  # ValueError: YAML-looking dates like 2026-13-10
        value = raw  # the config model then names the key that rejects it
    return key, value


def _one_line(err: ValidationError) -> str:
    """The first error as one line naming the key; the input is shown bounded, redacted, and never for a secret.

    Nothing here formats the whole input: a 400-byte YAML alias bomb expands to billions of elements, and
    pydantic's own ``str(err)`` would build their repr.
    """
    errors = err.errors(include_url=False, include_context=False)
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"]) or "<root>"
    msg = redact_text(" ".join(first["msg"].removeprefix("Value error, ").split())[:300])
    if first["type"] == "extra_forbidden":
        parent = ".".join(str(p) for p in first["loc"][:-1])
        section = FlywheelConfig.section_fields(parent)
        allowed = ", ".join(sorted(section)) if section else "none"
        msg = f"unknown key; allowed here: {allowed}"
    elif "input" in first and not isinstance(first["input"], dict) and may_echo(FlywheelConfig, first["loc"]):
        msg = f"{msg} (got {bounded_repr(first['input'])})"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"config error: {loc if len(loc) <= 200 else loc[:200] + '...'}: {msg}{more}"


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> FlywheelConfig:
    """Load a YAML config, apply ``key.path=value`` overrides and validate it.

    Args:
        path: YAML file; ``conf/local.yaml`` (the embedded default) when None.
        overrides: ``key.path=value`` strings applied after the file.

    Raises:
        ConfigError: one line naming the offending key and what is allowed.
    """
    conf_path = Path(path) if path else DEFAULT_CONF
    if not conf_path.exists():
        raise ConfigError(f"config error: file not found: {conf_path}")
    try:
        data = yaml.safe_load(conf_path.read_text()) or {}
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an impossible date such as 2026-13-10
        first_line = redact_text((str(exc).splitlines() or [""])[0][:300])
        raise ConfigError(f"config error: {conf_path} is not valid YAML: {first_line}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config error: {conf_path} must hold a mapping at the top level")
    for text in overrides or []:
        key, value = parse_override(text)
        _set_path(data, key, value)
    try:
        cfg = FlywheelConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    cfg.source = str(conf_path)
    return cfg


def public_dict(cfg: FlywheelConfig) -> dict[str, Any]:
    """The resolved config with every credential masked (``config.masking.redacted``), for logs, MLflow and records."""
    return redacted(cfg)


def config_hash(cfg: FlywheelConfig) -> str:
    """A stable short hash of the public config, stored with every run record."""
    blob = json.dumps(public_dict(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def env_or_none(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None
