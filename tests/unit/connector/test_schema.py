"""The JSON Schema `mercator schema` prints: identified, described, readable, true to the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mercator.connector import shipped_definitions
from mercator.connector.schema import SCHEMA_ID, definition_json_schema, readable_title

ROOT = Path(__file__).resolve().parents[3]
DEFINITIONS = [*shipped_definitions(), ROOT / "docs" / "example-connector.yaml"]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return definition_json_schema()


def properties(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (key, property schema) pair anywhere in the schema."""
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            if isinstance(value, dict):
                yield key, value
        for value in node.values():
            yield from properties(value)
    elif isinstance(node, list):
        for value in node:
            yield from properties(value)


def test_the_schema_is_identified_and_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    assert schema["$id"] == SCHEMA_ID == "https://mercator.dev/schemas/connector-definition.json"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Mercator connector definition"
    assert schema["description"]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_definition_carries_a_description(schema: dict[str, Any]) -> None:
    undescribed = [name for name, definition in schema["$defs"].items() if not definition.get("description")]

    assert undescribed == []


def test_field_titles_are_words_never_a_mangled_key(schema: dict[str, Any]) -> None:
    found = list(properties(schema))
    assert len(found) > 100

    for key, prop in found:
        if "title" in prop:
            assert prop["title"] == readable_title(key), key
            # pydantic's own title for dataProperty is "Dataproperty"
            if any(char.isupper() for char in key[1:]):
                assert prop["title"] != key.title(), key
                assert " " in prop["title"], key


@pytest.mark.parametrize(
    ("key", "title"),
    [
        ("dataProperty", "Data property"),
        ("rateLimitPerSecond", "Rate limit per second"),
        ("idPath", "ID path"),
        ("nextUrlPath", "Next URL path"),
        ("deliveryId", "Delivery ID"),
        ("auto_refresh", "Auto refresh"),
        ("url", "URL"),
        ("from", "From"),
    ],
)
def test_readable_titles(key: str, title: str) -> None:
    assert readable_title(key) == title


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda path: path.name)
def test_the_shipped_definitions_are_schema_valid(schema: dict[str, Any], path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))

    jsonschema.Draft202012Validator(schema).validate(document)
