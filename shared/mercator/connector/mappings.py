"""The mapping type inside definitions, with a JSON Schema that lets editors complete rules."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import WithJsonSchema

from mercator.mapping import FUNCTIONS, TRANSFORMS
from mercator.mapping.engine import RULE_KEYS

RULE_REF = {"$ref": "#/$defs/MappingRule"}

MAPPING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "destination field → rule (a path, a literal, a rule object or a nested mapping)",
    "additionalProperties": RULE_REF,
}


def rule_schema() -> dict[str, Any]:
    """JSON Schema of one mapping rule; transform and fn names come from the live registries."""
    transform_name = {"type": "string", "enum": TRANSFORMS.names()}
    return {
        "description": "a path (dot or JSONPath), a literal, a rule object, or a nested mapping",
        "anyOf": [
            {"type": "string", "description": "path: price.amount, items[0].sku, $.data.id"},
            {"type": ["number", "boolean", "null"], "description": "a literal"},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string"},
                    "paths": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "value": {"description": "a literal of any type"},
                    "transform": {"anyOf": [transform_name, {"type": "array", "items": transform_name}]},
                    "fn": {"type": "string", "enum": FUNCTIONS.names()},
                    "args": {"type": "object"},
                    "mapping": {"$ref": "#/$defs/Mapping"},
                    "default": {"description": "used when the value is null or empty"},
                },
                "minProperties": 1,
            },
            {
                "description": "a nested object (an object with none of the rule keys)",
                "allOf": [
                    {"$ref": "#/$defs/Mapping"},
                    {"not": {"anyOf": [{"required": [key]} for key in sorted(RULE_KEYS)]}},
                ],
            },
        ],
    }


# pydantic cannot point at a $def it does not own, so the field carries a marker that
# schema.py swaps for a reference to the Mapping definition it adds.
MAPPING_MARKER: dict[str, Any] = {"x-mercator": "mapping"}

MappingSpec = Annotated[dict[str, Any], WithJsonSchema(MAPPING_MARKER)]
"""A mapping as written in a definition; compiled by the model that holds it."""

RULE_MARKER: dict[str, Any] = {"x-mercator": "rule"}

RuleSpec = Annotated[str | dict[str, Any], WithJsonSchema(RULE_MARKER)]
"""One mapping rule (a path or a rule object) as written in a definition."""
