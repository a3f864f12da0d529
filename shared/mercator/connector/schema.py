"""JSON Schema of connector definitions, for editor completion and validation (``mercator schema``)."""

from __future__ import annotations

from typing import Any

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.mappings import MAPPING_MARKER, MAPPING_SCHEMA, rule_schema


def definition_json_schema() -> dict[str, Any]:
    schema = _link_mappings(ConnectorDefinition.model_json_schema(by_alias=True, mode="validation"))
    schema.setdefault("$defs", {})
    schema["$defs"]["Mapping"] = MAPPING_SCHEMA
    schema["$defs"]["MappingRule"] = rule_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Mercator connector definition",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def _link_mappings(node: Any) -> Any:
    if isinstance(node, dict) and node.get("x-mercator") == MAPPING_MARKER["x-mercator"]:
        return {"$ref": "#/$defs/Mapping"}
    if isinstance(node, dict):
        return {key: _link_mappings(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_link_mappings(value) for value in node]
    return node
