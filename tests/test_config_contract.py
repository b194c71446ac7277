"""The landing contract is defined once (``config/contract.py``) and its shipped JSON Schema is generated from it."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from socialflywheel.config import contract
from socialflywheel.config.contract import CORE_EVENT_TYPES, EVENT_TYPES, SCHEMA_PATH, contract_schema, render
from socialflywheel.config.sources import load_source

REPO = Path(__file__).resolve().parents[1]
BOOKMARK = {"event_id": "e1", "event_type": "bookmark", "user_id": "u1", "ts": 1791000000000}


def test_the_shipped_schema_is_the_generators_output() -> None:
    """#18: the schema was edited by hand; now a change to the contract is made in config/contract.py."""
    shipped = SCHEMA_PATH.read_text(encoding="utf-8")
    assert shipped == render(contract_schema()), (
        f"{SCHEMA_PATH.relative_to(REPO)} is a generated file: run `make contract`, do not edit it by hand"
    )


def test_the_parser_compiles_the_contract_as_defined() -> None:
    """What the parser reads off the shipped file (types, per-type requirements) is what the definition says."""
    from socialflywheel.ingest.parse import EVENT_TYPES as PARSED_TYPES
    from socialflywheel.ingest.parse import REQUIRED, REQUIRED_BY_TYPE

    assert PARSED_TYPES == EVENT_TYPES
    assert REQUIRED == ("event_id", "event_type", "user_id", "ts")
    assert REQUIRED_BY_TYPE == {name: (field,) for name, field in CORE_EVENT_TYPES if field is not None}


def test_a_kept_type_is_appended_and_requires_only_the_common_fields() -> None:
    schema = contract_schema(["bookmark"])
    assert schema["properties"]["event_type"]["enum"] == [*EVENT_TYPES, "bookmark"]
    assert jsonschema.Draft202012Validator(schema).is_valid(BOOKMARK)
    assert not jsonschema.Draft202012Validator(contract_schema()).is_valid(BOOKMARK)
    without_user = {k: v for k, v in BOOKMARK.items() if k != "user_id"}
    assert not jsonschema.Draft202012Validator(schema).is_valid(without_user)
    # a core type keeps its own requirement whatever the extras
    like = {**BOOKMARK, "event_type": "like"}
    assert not jsonschema.Draft202012Validator(schema).is_valid(like)
    assert jsonschema.Draft202012Validator(schema).is_valid({**like, "post_id": "p1"})


@pytest.mark.parametrize("extra", [["like"], ["bookmark", "bookmark"], [""]])
def test_an_extra_type_must_be_new_and_given_once(extra: list[str]) -> None:
    with pytest.raises(ValueError, match="extra event types"):
        contract_schema(extra)


def test_a_sources_kept_types_are_its_keep_entries() -> None:
    assert load_source(str(REPO / "conf" / "sources" / "my-app.yaml")).kept_types() == ["bookmark"]
    assert load_source("twitter-v2").kept_types() == []


def test_make_contract_writes_the_file_and_stdout_gets_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "events.schema.json"
    monkeypatch.setattr(contract, "SCHEMA_PATH", target)
    assert contract.main(["--write"]) == 0
    assert contract.main([]) == 0
    assert target.read_text(encoding="utf-8") == capsys.readouterr().out == render(contract_schema())
    assert contract.main(["--wirte"]) == 2
