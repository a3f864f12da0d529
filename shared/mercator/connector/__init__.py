"""Connector definitions: models, loading with located errors, and the submission checklist."""

from mercator.connector.definition import ConnectorDefinition, Trigger
from mercator.connector.loader import (
    DefinitionError,
    Problem,
    load_definition,
    load_shipped,
    parse_definition,
    shipped_definitions,
    validate_definition,
)
from mercator.connector.sync import Resource, WebhookHandler

__all__ = [
    "ConnectorDefinition",
    "DefinitionError",
    "Problem",
    "Resource",
    "Trigger",
    "WebhookHandler",
    "load_definition",
    "load_shipped",
    "parse_definition",
    "shipped_definitions",
    "validate_definition",
]
