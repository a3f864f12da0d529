"""Connector definitions: models, loading with located errors, and the submission checklist."""

from mercator.connector.definition import ConnectorDefinition, Trigger
from mercator.connector.loader import (
    DefinitionError,
    ExtraConnectors,
    Problem,
    connector_names,
    load_definition,
    load_extra,
    load_shipped,
    parse_definition,
    shipped_definitions,
    validate_definition,
)
from mercator.connector.sync import Resource, WebhookHandler

__all__ = [
    "ConnectorDefinition",
    "DefinitionError",
    "ExtraConnectors",
    "Problem",
    "Resource",
    "Trigger",
    "WebhookHandler",
    "connector_names",
    "load_definition",
    "load_extra",
    "load_shipped",
    "parse_definition",
    "shipped_definitions",
    "validate_definition",
]
