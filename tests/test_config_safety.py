"""Config that would destroy data, hang or fail at job time is refused when it loads, with one line naming the key.

Issue #16 item 7. Each test's docstring names the old behaviour (on 7bb0137) that it catches.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types as at
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from socialflywheel.config import ConfigError, FlywheelConfig, load_config
from socialflywheel.config.models import RetentionConfig
from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.maintain import retention_class, retention_predicate

REPO = Path(__file__).resolve().parents[1]
FLYWHEEL = str(Path(sys.executable).parent / "flywheel")
CUSTOM = "simulate.profile=custom"  # so simulate.users/events/days are taken as given


def one_line_error(overrides: list[str], key: str) -> str:
    """Load with ``overrides``; it must fail with one ConfigError line that names ``key``."""
    with pytest.raises(ConfigError) as err:
        load_config(overrides=overrides)
    message = str(err.value)
    assert "\n" not in message and message.startswith("config error: ") and key in message, message
    return message


# --- retention -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [-5, -1, 0, 36_501, "400d", 1.5])
def test_a_retention_out_of_range_or_mistyped_is_refused(days: object) -> None:
    """Before: ``retention_days: {bronze: -5}`` loaded, and maintain's cutoff (today + 5 days) deleted all of bronze."""
    one_line_error([f"privacy.retention_days.bronze={days}"], "privacy.retention_days.bronze")


@pytest.mark.parametrize("key", ["bronzee", "Bronze", "quarantined", "silver", "snapshot"])
def test_a_misspelled_retention_class_is_refused(key: str) -> None:
    """Before: any key was accepted and a misspelled class (``bronzee``) silently meant "keep bronze forever"."""
    message = one_line_error([f"privacy.retention_days={{{key}: 5}}"], f"privacy.retention_days.{key}")
    assert "allowed here: bronze, quarantine, snapshots" in message


def test_retention_keeps_other_defaults_and_null_means_forever() -> None:
    """Before: setting one class replaced the whole mapping, so the others silently became "keep forever"."""
    cfg = load_config(overrides=["privacy.retention_days={bronze: 10}"])
    assert cfg.privacy.retention_days.model_dump() == {"bronze": 10, "quarantine": 30, "snapshots": 90}
    kept = load_config(overrides=["privacy.retention_days.bronze=null"]).privacy.retention_days
    assert retention_predicate(CATALOG["bronze.events"], kept, today=dt.date(2026, 11, 1)) is None


def test_the_retention_classes_are_exactly_the_ones_maintain_applies() -> None:
    """A class the config accepts but maintain ignores (or the reverse) would again mean "keep forever"."""
    applied = {found[0] for t in CATALOG.values() if (found := retention_class(t)) is not None}
    assert applied == set(RetentionConfig.model_fields)


def test_maintain_refuses_a_negative_retention_that_bypassed_validation() -> None:
    """Before: a negative retention gave ``event_date < <a future date>``, a predicate that matches every row."""
    forged = RetentionConfig.model_construct(bronze=-5, quarantine=30, snapshots=90)
    with pytest.raises(ValueError, match=r"retention_days\.bronze=-5"):
        retention_predicate(CATALOG["bronze.events"], forged, today=dt.date(2026, 11, 1))


# --- lists, timestamps, durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("features.windows_days=[-1, 0]", "features.windows_days.0"),
        ("features.windows_days=[7, 0]", "features.windows_days.1"),
        ("features.windows_days=[]", "features.windows_days"),
        ("features.windows_days=[1, 100000]", "features.windows_days.1"),
        ("features.velocity_hours=[-3]", "features.velocity_hours.0"),
        ("features.velocity_hours=[]", "features.velocity_hours"),
        ("train.ials_factors=[0]", "train.ials_factors.0"),
        ("train.ials_alpha=[-1.0]", "train.ials_alpha.0"),
        ("train.ials_regularization=[.nan]", "train.ials_regularization.0"),
        ("graph.engagement_events=[like, likes]", "graph.engagement_events.1"),
    ],
)
def test_list_elements_are_validated(override: str, key: str) -> None:
    """Before: ``windows_days=[-1, 0]``, negative velocity hours and unknown event names loaded and failed (or
    silently selected nothing) at job time."""
    one_line_error([override], key)


@pytest.mark.parametrize(
    "value",
    ["yesterday", "now", "2015-13-01", "2999-01-01T00:00:00Z", "1899-12-31T23:00:00Z", "0001-01-01T00:00:00+05:00", ""],
)
def test_min_ts_nonsense_is_refused(value: str) -> None:
    """Before: ``ingest.min_ts=yesterday`` loaded and ingest failed in ``datetime.fromisoformat``; a future one
    quarantined every event."""
    one_line_error([f"ingest.min_ts={value}"], "ingest.min_ts")


@pytest.mark.parametrize(
    "value", ["1990-01-01T00:00:00Z", "2015-01-01", "2020-06-01T12:00:00+02:00", "2020-06-01 12:00"]
)
def test_a_plausible_min_ts_loads_and_ingest_can_use_it(value: str) -> None:
    from socialflywheel.ingest.landing import limits_from

    limits = limits_from(load_config(overrides=[f"ingest.min_ts={value}"]).ingest)
    assert limits.min_ts.tzinfo is not None and limits.min_ts < limits.max_ts


@pytest.mark.parametrize("hours", [-1, 8785, 10**12, 2**63])
def test_max_future_hours_is_bounded(hours: int) -> None:
    """Before: ``ingest.max_future_hours=10**12`` loaded and ingest died in ``timedelta`` (OverflowError)."""
    one_line_error([f"ingest.max_future_hours={hours}"], "ingest.max_future_hours")


@pytest.mark.parametrize("override", ["seed=-1", "train.seed=-7", "graph.seed=4294967296", "simulate.seed=-1"])
def test_seeds_are_non_negative(override: str) -> None:
    """Before: a negative seed loaded and numpy's SeedSequence raised in the job."""
    one_line_error([override], override.split("=")[0])


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_refused(value: str) -> None:
    """Before: ``train.lr=.inf`` loaded (only ``gt=0`` was declared)."""
    one_line_error([f"train.lr={value}"], "train.lr")


def test_field_mapping_targets_must_be_contract_fields() -> None:
    """Before: mapping a source field to a misspelled target loaded and every row was quarantined as missing it."""
    assert load_config(overrides=["ingest.field_mapping={actor: user_id}"]).ingest.field_mapping == {"actor": "user_id"}
    one_line_error(["ingest.field_mapping={actor: userid}"], "ingest.field_mapping")


def test_an_unhashable_profile_is_a_config_error() -> None:
    """Before: ``simulate.profile=[1]`` escaped as a bare TypeError (unhashable list) from the profile check."""
    one_line_error(["simulate.profile=[1]"], "simulate.profile")


# --- alias bombs -------------------------------------------------------------------------------------------------


def alias_bomb(levels: int, target: str) -> str:
    """A YAML alias bomb: ``levels`` anchors each listing the previous one 9 times, the last put at ``target``."""
    lines = ["_a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"_a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, levels)]
    *sections, key = target.split(".")
    lines.append("".join(f"{s}: {{" for s in sections) + f"{key}: *a{levels - 1}" + "}" * len(sections))
    return "\n".join(lines) + "\n"


def leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            paths += leaf_paths(ann, f"{prefix}{name}.")
        else:
            paths.append(f"{prefix}{name}")
    return paths


@pytest.mark.parametrize("target", leaf_paths(FlywheelConfig))
def test_an_alias_bomb_in_any_field_fails_fast_with_a_short_line(tmp_path: Path, target: str) -> None:
    """Before: the one-line error was built from the whole input's repr (4 MB for this 6-level bomb, 3 GB and a
    hang for 9 levels); in ``simulate.users`` the profile check's ``str()`` expanded it too."""
    conf = tmp_path / "bomb.yaml"
    conf.write_text(alias_bomb(6, target))
    start = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        load_config(conf)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "\n" not in message and len(message) < 600, message[:300]
    assert target.rsplit(".", 1)[0] in message or "unknown key" in message, message


def test_a_438_byte_alias_bomb_through_the_cli_is_one_line_in_seconds(tmp_path: Path) -> None:
    """Before: 9 levels (387M strings) hung ``flywheel`` at 3 GB while it formatted the error line."""
    conf = tmp_path / "bomb.yaml"
    conf.write_text(alias_bomb(9, "seed"))
    assert len(conf.read_bytes()) < 600
    start = time.perf_counter()
    out = subprocess.run([FLYWHEEL, "doctor", "--conf", str(conf)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and time.perf_counter() - start < 60
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("config error: seed: ") and len(lines[0]) < 600


# --- every numeric field: declared bounds, and out-of-range values refused by name -------------------------------


@dataclass(frozen=True)
class Numeric:
    """A numeric config field (or list element) and its declared bounds."""

    path: str
    kind: type
    lo: float | None
    lo_open: bool
    hi: float | None
    hi_open: bool
    in_list: bool

    def admits(self, value: float) -> bool:
        if isinstance(value, float) and (not math.isfinite(value) or (self.kind is int and not value.is_integer())):
            return False
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return not (self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi))


def _constraints(metadata: list[Any]) -> tuple[float | None, bool, float | None, bool]:
    lo = hi = None
    lo_open = hi_open = False
    for m in metadata:
        for item in getattr(m, "metadata", [m]):  # a FieldInfo inside Annotated carries its own metadata
            if isinstance(item, at.Ge):
                lo, lo_open = item.ge, False
            elif isinstance(item, at.Gt):
                lo, lo_open = item.gt, True
            elif isinstance(item, at.Le):
                hi, hi_open = item.le, False
            elif isinstance(item, at.Lt):
                hi, hi_open = item.lt, True
    return lo, lo_open, hi, hi_open  # type: ignore[return-value]


def _numeric(path: str, tp: Any, metadata: list[Any], in_list: bool = False) -> Numeric | None:
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in get_args(tp) if a is not type(None)]
        return _numeric(path, rest[0], metadata, in_list) if len(rest) == 1 else None
    if get_origin(tp) is Annotated:
        base, *meta = get_args(tp)
        return _numeric(path, base, [*metadata, *meta], in_list)
    if get_origin(tp) is list:
        return _numeric(path, get_args(tp)[0], [], True)
    if tp in (int, float):
        return Numeric(path, tp, *_constraints(metadata), in_list=in_list)
    return None


def numeric_fields(model: type[BaseModel] = FlywheelConfig, prefix: str = "") -> list[Numeric]:
    """Every int and float field of the config, list elements included, discovered from the models."""
    found: list[Numeric] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            found += numeric_fields(ann, f"{prefix}{name}.")
        elif (num := _numeric(f"{prefix}{name}", ann, list(field.metadata))) is not None:
            found.append(num)
    return found


NUMERIC = numeric_fields()


def test_every_numeric_field_declares_both_bounds() -> None:
    """The class guard: a new count, size, duration or share without a lower and an upper bound fails here (before,
    34 fields had no upper bound, seeds and windows none at all)."""
    paths = {f.path for f in NUMERIC}
    assert {"privacy.retention_days.bronze", "features.windows_days", "ingest.max_future_hours", "seed"} <= paths
    assert len(NUMERIC) > 90
    assert [f.path for f in NUMERIC if f.lo is None or f.hi is None] == []


def _yaml_scalar(value: object) -> str:
    return yaml.safe_dump([value], default_flow_style=True, width=10**6).strip()[1:-1]


def _override(field: Numeric, value: object) -> str:
    text = _yaml_scalar(value)
    return f"{field.path}=[{text}]" if field.in_list else f"{field.path}={text}"


def _near_bounds(field: Numeric) -> st.SearchStrategy[float]:
    edges = [b for b in (field.lo, field.hi) if b is not None]
    steps = [1] if field.kind is int else [1e-9, 1e-3, 1]
    return st.sampled_from([e + s * sign for e in edges for s in steps for sign in (-1, 0, 1)])


def _values(field: Numeric) -> st.SearchStrategy[Any]:
    return st.one_of(
        _near_bounds(field),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([-1, 0, 2**31, 2**63, -(2**63) - 1, 10**30, 1e308, -1e-300, 0.5]),
    )


@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_any_number_in_any_numeric_field_loads_within_bounds_or_is_one_config_error(data: st.DataObject) -> None:
    """Random and edge values in every discovered numeric field: accepted exactly when inside the declared bounds
    (read back unchanged), else one ConfigError line naming the key; never another exception (before: negative
    retention and windows loaded, an unhashable profile raised TypeError, an alias bomb hung)."""
    field = data.draw(st.sampled_from(NUMERIC), label="field")
    value = data.draw(_values(field), label="value")
    try:
        cfg = load_config(overrides=[CUSTOM, _override(field, value)])
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and field.path in message, message
        assert not field.admits(value), (field, value, message)
        return
    assert field.admits(value), (field, value)
    node: Any = cfg
    for part in field.path.split("."):
        node = getattr(node, part)
    assert (node[0] if field.in_list else node) == value


def _at(field: Numeric, end: str) -> str:
    bound = field.hi if end == "hi" else field.lo
    open_ = field.hi_open if end == "hi" else field.lo_open
    assert bound is not None
    value: float = bound
    if open_:
        value = bound - 1e-6 if end == "hi" else bound + 1e-6
    return _override(field, field.kind(value) if field.kind is int else value)


@pytest.mark.parametrize("end", ["lo", "hi"])
def test_every_field_at_its_bounds_at_once_loads_and_job_time_arithmetic_holds(end: str) -> None:
    """The bounds themselves are safe: with every number at its extreme the config loads (no hidden cross-field
    rule) and the date arithmetic the jobs do (ingest's plausible window, maintain's cutoffs) does not overflow
    (before: max_future_hours=10**12 and retention -5 failed or deleted at job time)."""
    from socialflywheel.ingest.landing import limits_from

    cfg = load_config(overrides=[CUSTOM, *(_at(f, end) for f in NUMERIC)])
    limits = limits_from(cfg.ingest)
    assert limits.min_ts < limits.max_ts
    today = dt.datetime.now(dt.UTC).date()
    for t in CATALOG.values():
        predicate = retention_predicate(t, cfg.privacy.retention_days, today=today)
        assert predicate is None or predicate.split("'")[1] < today.isoformat()
    for days in cfg.features.windows_days:
        assert today - dt.timedelta(days=days) < today
