"""``mercator preview``: map one payload as the runtime would, or say why the runtime would not.

An input of the wrong shape (a list where a delivery is one object, a body that is neither a list nor a
details response of the resource) raises PayloadShapeError naming what it is and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.mapper import (
    MapOutcome,
    PayloadShapeError,
    map_delivery,
    map_details_response,
    map_list_response,
)
from mercator.connector.sync import EnrichRef, Resource, WebhookHandler


def map_for_preview(
    definition: ConnectorDefinition, payload: Any, *, resource_key: str | None, event: str | None, file: Path
) -> MapOutcome | str:
    """Map the input as the runtime would; text when the runtime maps nothing from it (a delivery whose
    record enrichment fetches). PayloadShapeError when the input is not the kind of body it is given as.
    """
    if resource_key is not None:
        if resource_key not in definition.resources:
            raise KeyError(f"no resource {resource_key!r}; resources: {', '.join(definition.resources)}")
        resource: Resource = definition.resources[resource_key]
        if resource.responseMapping.records_in(payload) is not None:
            return map_list_response(definition, resource_key, payload)
        details = resource.endpoints.details
        if details is not None and details.matchBy is not None:
            return map_details_response(definition, resource_key, payload)  # a details list: it says
        if not isinstance(details.record_in(payload) if details else payload, dict):
            raise PayloadShapeError(_not_a_response(resource_key, resource, payload))
        return map_details_response(definition, resource_key, payload)
    if event is None or event not in definition.handlers:
        raise KeyError(f"no handler for event {event!r}; handled: {', '.join(definition.handlers)}")
    handler = definition.handlers[event]
    if not isinstance(payload, dict):
        advice = ["pass one item"] if isinstance(payload, list) and payload else []
        names = _resources_of(definition, handler) if isinstance(payload, list) else []
        if names:
            advice.append(f"use --resource {' or --resource '.join(names)} for a list response")
        raise PayloadShapeError(
            f"the input is {_kind(payload)}; a delivery of {event} is one object"
            + (f": {', or '.join(advice)}" if advice else "")
        )
    if handler.enrich is not None:  # intake takes the id; enrichment fetches the record and maps it
        return _enriched(definition, file, event, handler.enrich, payload)
    return map_delivery(definition, event, payload)


def _enriched(
    definition: ConnectorDefinition, file: Path, event: str, enrich: EnrichRef, payload: dict[str, Any]
) -> str:
    record_id = enrich.record_id(payload)
    if record_id is None or record_id == "":
        keys = ", ".join(map(str, payload)) or "none"
        raise PayloadShapeError(
            f"event {event} is enriched through resources.{enrich.resource}, but the delivery has no "
            f"record id at {enrich.idPath} (enrich.idPath); its top-level keys: {keys}"
        )
    samples = definition.resources[enrich.resource].samples
    sample = samples.details if samples is not None else None
    details = str(file.parent / sample) if sample else "<details response>"
    return (
        f"event {event} is enriched: the delivery gives id {record_id!r} at {enrich.idPath}; the record "
        f"is fetched through resources.{enrich.resource} details and mapped by its apiMapping, not from "
        f"this delivery: preview that with --resource {enrich.resource} --input {details}"
    )


def _resources_of(definition: ConnectorDefinition, handler: WebhookHandler) -> list[str]:
    """The resources whose list responses hold the records of ``handler`` (all, if none does)."""
    if handler.enrich is not None:
        return [handler.enrich.resource]
    same = [
        key for key, resource in definition.resources.items() if resource.contentType == handler.contentType
    ]
    return same or list(definition.resources)


def _not_a_response(key: str, resource: Resource, payload: Any) -> str:
    listed_at = resource.responseMapping.dataProperty
    details = resource.endpoints.details
    record_at = details.dataProperty if details is not None else None
    if isinstance(payload, list):
        return (
            f"the input is {_kind(payload)}, but resources.{key} finds a list response's records "
            f"at responseMapping.dataProperty {listed_at!r}, and a details response is one object; if the "
            "platform answers with a bare list, omit responseMapping.dataProperty"
        )
    as_list = f"no list at responseMapping.dataProperty {listed_at!r}" if listed_at else "not a list"
    as_details = (
        f"no object at endpoints.details.dataProperty {record_at!r}" if record_at else "not an object"
    )
    found = (
        f"its top-level keys: {', '.join(map(str, payload)) or 'none'}"
        if isinstance(payload, dict)
        else f"it is {_kind(payload)}"
    )
    return (
        f"the input is neither a list response of resources.{key} ({as_list}) nor a details response "
        f"({as_details}); {found}"
    )


def _kind(payload: Any) -> str:
    if isinstance(payload, list):
        return (
            f"a list of {len(payload)} item{'' if len(payload) == 1 else 's'}" if payload else "an empty list"
        )
    if payload is None:
        return "null"
    return {bool: "a boolean", str: "a string", int: "a number", float: "a number", dict: "an object"}.get(
        type(payload), type(payload).__name__
    )
