"""The stored schemas (shared/mercator/pim/schemas/) are what ``python -m mercator_local.pim_schemas``
makes of the reference, and the generator reads the reference's sections and amends as documented.

The tests reading the reference need it beside the project (``../shared/seeds/002_*.txt``, found
from the project root) and skip without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from mercator_local.pim_schemas import HAND_WRITTEN, amended, extract, main
from tests.unit.pim.reference import DETAILED_TYPES, SCHEMAS, SEEDS

SECTIONS = DETAILED_TYPES
AMENDED = ("product_value_added", "product_value_changed")


@pytest.fixture(scope="module")
def seed() -> Path:
    found = sorted(SEEDS.glob("002_*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"the reference (002_*.txt) is not in {SEEDS}")
    return found[0]


@pytest.fixture(scope="module")
def seed_text(seed: Path) -> str:
    return seed.read_text(encoding="utf-8")


def test_the_stored_schemas_are_current(seed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--check", "--seed", str(seed)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "21 schemas current" in out


def test_check_names_a_stale_a_missing_and_an_extra_file(
    seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a copy of the stored schemas with one changed, one gone, one added and the envelope's
    for path in SCHEMAS.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "product_created.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "product_child_removed.json").unlink()
    (tmp_path / "product_renamed.json").write_text("{}\n", encoding="utf-8")

    # When it is checked
    code = main(["--check", "--seed", str(seed), "--out", str(tmp_path)])

    # Then each difference is named, the hand-written envelope is not, and it fails
    out = capsys.readouterr().out
    assert code == 1
    assert f"stale: {tmp_path / 'product_created.json'}" in out
    assert f"missing: {tmp_path / 'product_child_removed.json'}" in out
    assert f"extra: {tmp_path / 'product_renamed.json'}" in out
    assert "envelope.json" not in out


def test_it_writes_what_check_then_accepts(
    seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--seed", str(seed), "--out", str(tmp_path)]) == 0

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(f"{name}.json" for name in SECTIONS)
    for path in tmp_path.iterdir():
        assert path.read_text(encoding="utf-8") == (SCHEMAS / path.name).read_text(encoding="utf-8")
    assert main(["--check", "--seed", str(seed), "--out", str(tmp_path)]) == 0


def test_without_a_reference_it_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--check", "--seed", str(tmp_path / "absent.txt"), "--out", str(tmp_path)])

    assert code == 2
    assert "absent.txt" in capsys.readouterr().err


def test_every_section_is_read_with_its_heading_example_and_schema(seed_text: str) -> None:
    sections = extract(seed_text)

    assert tuple(sections) == SECTIONS
    for name, section in sections.items():
        assert section.type == name
        assert section.schema["type"] == "object"
        assert section.schema["required"] == ["type", "payload"]
        assert isinstance(section.example["payload"], dict)
    # The reference's one example typed otherwise than its heading.
    assert {name: s.example["type"] for name, s in sections.items() if s.example["type"] != name} == {
        "category_name_changed": "attribute_name_changed"
    }


def test_the_footer_of_coarse_names_is_no_section() -> None:
    text = (
        "attribute_created\n\nincluded with events:\n\n"
        '{"type": "attribute_created", "payload": {}}\n{"type": "object", "properties": {}}\n\n'
        "included with events:\n\nattribute_created\nattribute_updated\n"
    )

    assert list(extract(text)) == ["attribute_created"]


@pytest.mark.parametrize("section", SECTIONS)
def test_only_the_product_value_schemas_are_amended(section: str, seed_text: str) -> None:
    schema = extract(seed_text)[section].schema

    if section in AMENDED:
        assert amended(schema) != schema
    else:
        assert amended(schema) == schema


@pytest.mark.parametrize("section", AMENDED)
def test_the_amended_value_schema(section: str, seed_text: str) -> None:
    original = extract(seed_text)[section].schema
    schema = amended(original)
    value = schema["properties"]["payload"]["properties"]["value"]
    local_item = value["anyOf"][5]["items"]

    # 3: the branches are anyOf, in the reference's order
    assert "oneOf" not in value
    assert value["anyOf"][:5] == original["properties"]["payload"]["properties"]["value"]["oneOf"][:5]
    # 2: language, and value or translation
    assert local_item["required"] == ["language"]
    assert local_item["anyOf"] == [{"required": ["value"]}, {"required": ["translation"]}]
    # 1: the reference resolves, to the five global shapes
    assert local_item["properties"]["value"] == {"anyOf": [{"$ref": "#/components/schemas/AttributeValue"}]}
    assert schema["components"]["schemas"]["AttributeValue"]["anyOf"] == value["anyOf"][:5]
    # ... and the original is untouched
    assert "oneOf" in original["properties"]["payload"]["properties"]["value"]


def test_the_reference_schema_as_written_does_not_compile(seed_text: str) -> None:
    # Why amendment 1 exists: its reference to AttributeValue resolves to nothing.
    with pytest.raises(fastjsonschema.JsonSchemaDefinitionException, match="Unresolvable ref"):
        fastjsonschema.compile(extract(seed_text)["product_value_added"].schema)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ([], True),
        ([{"language": "en_GB", "translation": "x"}], True),
        ([{"language": "en_GB", "value": {"url": "u", "path": "p"}}], True),
        ([{"language": "en_GB"}], False),
        ([{"language": "en_GB", "value": False}], False),
    ],
    ids=["empty array", "translation", "local image", "no value", "local boolean"],
)
def test_the_amended_schema_decides_local_values(seed_text: str, value: list[Any], *, valid: bool) -> None:
    validate = fastjsonschema.compile(
        amended(extract(seed_text)["product_value_added"].schema), use_default=False
    )

    if valid:
        validate(_event(value))
    else:
        with pytest.raises(fastjsonschema.JsonSchemaValueException):
            validate(_event(value))


def _event(value: Any) -> dict[str, Any]:
    return {
        "type": "product_value_added",
        "payload": {
            "attribute_code": "name",
            "attribute_type": "TEXT",
            "attribute_scope": "local",
            "value": value,
        },
    }


def test_the_stored_files_are_sorted_indented_json_ending_in_a_newline() -> None:
    for path in SCHEMAS.glob("*.json"):
        if path.name in HAND_WRITTEN:
            continue
        text = path.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n", (
            path.name
        )
