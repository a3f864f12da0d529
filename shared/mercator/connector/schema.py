"""JSON Schema of connector definitions, for editor completion and validation (``mercator schema``).

The schema is identified by ``SCHEMA_ID``, an identifier that stays the same while the format keeps
its meaning (it names the schema; nothing is served there). Every definition under ``$defs``
carries its model's docstring as its description, and a field's title is its key in words
(``dataProperty`` → "Data property"), never pydantic's mangled "Dataproperty".
"""

from __future__ import annotations

import re
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.mappings import MAPPING_MARKER, MAPPING_SCHEMA, RULE_MARKER, rule_schema

SCHEMA_ID = "https://mercator.dev/schemas/connector-definition.json"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_ACRONYMS = {"id": "ID", "url": "URL"}


def readable_title(key: str) -> str:
    """A definition key in words: ``rateLimitPerSecond`` → "Rate limit per second", ``idPath`` → "ID path"."""
    words: list[str] = [word.lower() for word in _WORD.findall(key)] or [key]
    first, *rest = [_ACRONYMS.get(word, word) for word in words]
    return " ".join([first[:1].upper() + first[1:], *rest])


class _ReadableTitles(GenerateJsonSchema):
    def get_title_from_name(self, name: str) -> str:
        return readable_title(name)


def definition_json_schema() -> dict[str, Any]:
    schema = _link_mappings(
        ConnectorDefinition.model_json_schema(
            by_alias=True, mode="validation", schema_generator=_ReadableTitles
        )
    )
    # A catalog-events source has no sync block (it is never called): one of the two is required.
    schema["required"] = [name for name in schema.get("required", []) if name != "sync"]
    schema["anyOf"] = [{"required": ["sync"]}, {"required": ["catalogEvents"]}]
    schema.setdefault("$defs", {})
    schema["$defs"]["Mapping"] = MAPPING_SCHEMA
    schema["$defs"]["MappingRule"] = rule_schema()
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "Mercator connector definition",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def _link_mappings(node: Any) -> Any:
    if isinstance(node, dict) and node.get("x-mercator") == MAPPING_MARKER["x-mercator"]:
        return {"$ref": "#/$defs/Mapping"}
    if isinstance(node, dict) and node.get("x-mercator") == RULE_MARKER["x-mercator"]:
        return {"$ref": "#/$defs/MappingRule"}
    if isinstance(node, dict):
        return {key: _link_mappings(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_link_mappings(value) for value in node]
    return node
