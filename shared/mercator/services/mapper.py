"""Map provider payloads through a connector definition and validate them against content types.

The one place that turns a list response, a details response or a webhook delivery into canonical
records. Sync, enrichment, webhook intake and ``mercator preview`` all call it, so a record maps the
same way whichever path brought it. A record that fails mapping or validation is returned as a
failure with its reason and raw payload; its batch-mates are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mercator.connector import ConnectorDefinition
from mercator.mapping import CompiledMapping, MappingError
from mercator.records import RecordValidationError, validate_record


@dataclass(frozen=True)
class Failure:
    index: int
    raw: Any
    reason: str
    detail: dict[str, Any]


@dataclass
class MapOutcome:
    content_type: str
    records: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


class PayloadShapeError(ValueError):
    """A response that does not have the shape its definition describes."""


def map_list_response(definition: ConnectorDefinition, resource_key: str, body: Any) -> MapOutcome:
    """Unwrap a list response through responseMapping and map every record."""
    resource = definition.resources[resource_key]
    items = resource.responseMapping.records_in(body)
    if items is None:
        where = resource.responseMapping.dataProperty or "the response body"
        raise PayloadShapeError(f"{definition.name} resource {resource_key}: no list at {where}")
    return map_records(resource.mapping, resource.contentType, items)


def map_details_response(definition: ConnectorDefinition, resource_key: str, body: Any) -> MapOutcome:
    """Map the record of one details response."""
    resource = definition.resources[resource_key]
    details = resource.endpoints.details
    record = details.record_in(body) if details else body
    if not isinstance(record, dict):
        raise PayloadShapeError(
            f"{definition.name} resource {resource_key}: no record in the details response"
        )
    return map_records(resource.mapping, resource.contentType, [record])


def map_delivery(definition: ConnectorDefinition, event: str, body: Any) -> MapOutcome:
    """Map a webhook delivery with its handler (a delete needs only the record's code)."""
    handler = definition.handlers[event]
    content_type = handler.contentType
    if handler.operation == "delete":
        return _map_codes_only(handler.compiled, content_type, [body])
    return map_records(handler.compiled, content_type, [body], partial=handler.operation == "update")


def extract_customer(definition: ConnectorDefinition, event: str, body: Any) -> MapOutcome | None:
    """The buyer of a delivery as core:customer, when the connector extracts customers for ``event``."""
    extraction = definition.webhook.customerExtraction if definition.webhook else None
    if extraction is None or (extraction.events is not None and event not in extraction.events):
        return None
    outcome = map_records(extraction.compiled, "core:customer", [body])
    # A delivery without a buyer (a guest cart) is not a failure of the delivery.
    outcome.failures = [f for f in outcome.failures if not _no_customer(f)]
    return outcome


def map_records(
    mapping: CompiledMapping, content_type: str, items: Iterable[Any], *, partial: bool = False
) -> MapOutcome:
    """Map and validate each item; ``partial`` for updates that carry only the fields that changed."""
    outcome = MapOutcome(content_type)
    for index, item in enumerate(items):
        try:
            outcome.records.append(validate_record(content_type, mapping(item), partial=partial))
        except MappingError as exc:
            outcome.failures.append(Failure(index, item, str(exc), exc.as_dict()))
        except RecordValidationError as exc:
            detail = {"connector": mapping.connector, "scope": mapping.scope, "problems": exc.problems}
            reason = f"{mapping.connector}, {mapping.scope}: {exc}" if mapping.connector else str(exc)
            outcome.failures.append(Failure(index, item, reason, detail))
    return outcome


def _map_codes_only(mapping: CompiledMapping, content_type: str, items: Iterable[Any]) -> MapOutcome:
    outcome = MapOutcome(content_type)
    for index, item in enumerate(items):
        try:
            mapped = mapping(item)
        except MappingError as exc:
            outcome.failures.append(Failure(index, item, str(exc), exc.as_dict()))
            continue
        code = mapped.get("code")
        if code is None or code == "":
            reason = f"{mapping.connector}, {mapping.scope}: a delete needs the record's code"
            outcome.failures.append(Failure(index, item, reason, {"field": "code"}))
        else:
            outcome.records.append({"code": str(code), "deleted": True})
    return outcome


def _no_customer(failure: Failure) -> bool:
    problems = failure.detail.get("problems") or []
    return any(field == "code" for field, _ in problems)
