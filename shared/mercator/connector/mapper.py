"""Map provider payloads through a connector definition and validate them against content types.

The one place that turns a list response, a details response or a webhook delivery into canonical
records. Sync, enrichment, webhook intake and ``mercator preview`` all call it, so a record maps the
same way whichever path brought it. A record that fails mapping or validation is returned as a
failure with its reason and raw payload; its batch-mates are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mercator.connector import ConnectorDefinition
from mercator.domain.content_types import FieldIssue, RecordValidationError, validate_record
from mercator.mapping import CompiledMapping, MappingError, Provenance, Source


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


class RecordNotListedError(PayloadShapeError):
    """A details response that is a list (``matchBy``) holds no record with the id asked for: the
    store no longer has the record, as a details 404 says."""


def map_list_response(definition: ConnectorDefinition, resource_key: str, body: Any) -> MapOutcome:
    """Unwrap a list response through responseMapping and map every record."""
    resource = definition.resources[resource_key]
    items = resource.responseMapping.records_in(body)
    if items is None:
        where = resource.responseMapping.dataProperty or "the response body"
        raise PayloadShapeError(f"{definition.name} resource {resource_key}: no list at {where}")
    return map_records(resource.mapping, resource.contentType, items)


def map_details_response(
    definition: ConnectorDefinition,
    resource_key: str,
    body: Any,
    *,
    record_id: str | None = None,
    sub_resources: Mapping[str, Any] | None = None,
) -> MapOutcome:
    """Map the record of one details response, with each sub-resource's answer (by its key) merged
    into its field as enrichment does.

    A details endpoint with ``matchBy`` answers a list: with ``record_id`` the record is the item
    whose ``matchBy`` value is that id (RecordNotListedError when none is); without one (a sample,
    a preview) every item it lists is mapped.
    """
    resource = definition.resources[resource_key]
    details = resource.endpoints.details
    scope = f"{definition.name} resource {resource_key}"
    if details is not None and details.matchBy is not None:
        items = details.records_in(body)
        where = details.dataProperty or "the top level"
        if items is None:
            raise PayloadShapeError(f"{scope}: no list at {where} in the details response")
        if record_id is None and not items:
            raise PayloadShapeError(f"{scope}: the details response lists no record at {where}")
        if record_id is not None:
            match = details.match(items, str(record_id))
            if match is None:
                raise RecordNotListedError(
                    f"{scope}: the details response lists no record whose {details.matchBy} is {record_id!r}"
                )
            items = [match]
        records = items
    else:
        record = details.record_in(body) if details else body
        if not isinstance(record, dict):
            raise PayloadShapeError(f"{scope}: no record in the details response")
        records = [record]
    for key, answer in (sub_resources or {}).items():
        sub = resource.subResources.get(key)
        if sub is None:
            raise PayloadShapeError(
                f"{scope}: no sub-resource {key!r}; valid: {', '.join(resource.subResources) or 'none'}"
            )
        value = sub.value_in(answer)
        if value is None:
            raise PayloadShapeError(
                f"{scope}: no {key} at {sub.dataProperty or 'the top level'} in its answer"
            )
        records = [{**item, key: value} if isinstance(item, dict) else item for item in records]
    return map_records(resource.mapping, resource.contentType, records)


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
    """Map and validate each item; ``partial`` for updates that carry only the fields that changed.

    A record that fails its content type is explained field by field: which path the rule read,
    what the payload held there, which transform turned it into null (``_explained``). That work is
    done for failures only; a record that fits costs nothing more.
    """
    outcome = MapOutcome(content_type)
    for index, item in enumerate(items):
        try:
            outcome.records.append(validate_record(content_type, mapping(item), partial=partial))
        except MappingError as exc:
            outcome.failures.append(Failure(index, item, str(exc), exc.as_dict()))
        except RecordValidationError as exc:
            explained = _explained(exc, mapping, item)
            detail = {"connector": mapping.connector, "scope": mapping.scope, "problems": explained.problems}
            reason = (
                f"{mapping.connector}, {mapping.scope}: {explained}" if mapping.connector else str(explained)
            )
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


def _explained(exc: RecordValidationError, mapping: CompiledMapping, item: Any) -> RecordValidationError:
    """The same error, each problem saying where in ``item`` its field came from."""
    if not exc.issues:
        return exc
    problems = [
        (issue.field, _explain_issue(issue, mapping.explain(item, issue.loc))) for issue in exc.issues
    ]
    return RecordValidationError(exc.content_type, problems, exc.issues)


def _explain_issue(issue: FieldIssue, seen: Provenance | None) -> str:
    """``status: missing (the mapping gives null: data.status is null in this payload)`` and the like."""
    if seen is None:
        return issue.message
    if not seen.rule:
        return f"{issue.message} (the mapping has no rule for it)"
    if issue.missing or (issue.null and seen.nulled_by):
        lead = "missing" if issue.missing else issue.message
        if seen.nulled_by is not None:
            return f"{lead}: {_nulled(seen)}"
        if seen.literal:
            return f"{lead} (the mapping gives the literal null)"
        if not seen.sources:
            return f"{lead} (the mapping gives null)"
        return f"{lead} (the mapping gives null: {_what_is_there(seen.sources)})"
    if seen.literal:
        return f"{issue.message} (the mapping gives the literal {_shown(seen.value)})"
    if not seen.sources:
        return f"{issue.message} (the mapping gives {_shown(seen.value)})"
    if len(seen.sources) == 1 and seen.sources[0].present and seen.sources[0].value == seen.value:
        return f"{issue.message} ({_what_is_there(seen.sources)})"
    return f"{issue.message} (the mapping gives {_shown(seen.value)}; {_what_is_there(seen.sources)})"


def _nulled(seen: Provenance) -> str:
    """``toNumberOrNull turned data.total.amount = 'abc' into null``."""
    given = seen.nulled_input
    if not seen.sources:
        return f"{seen.nulled_by} gives null for this payload"
    for source in seen.sources:
        if source.present and source.value is given:
            return f"{seen.nulled_by} turned {source.path} = {_shown(given)} into null"
    return f"{seen.nulled_by} turned {_shown(given)} into null ({_what_is_there(seen.sources)})"


def _what_is_there(sources: tuple[Source, ...]) -> str:
    """``data.a is 'x', data.b is null and data.c is not in this payload; data.d is null``.

    A path that is not there because a parent of it is null (or text...) ends with that parent.
    """
    valued = [f"{s.path} is {_shown(s.value)}" for s in sources if s.present and s.value is not None]
    nulls = [s.path for s in sources if s.present and s.value is None]
    absent = [s.path for s in sources if not s.present]
    parts = valued + [
        f"{_listed(group)} {'is' if len(group) == 1 else 'are'} {state}"
        for group, state in ((nulls, "null"), (absent, "not"))
        if group
    ]
    breaks = dict.fromkeys(f"{s.blocked[0]} is {_shown(s.blocked[1])}" for s in sources if s.blocked)
    return f"{_listed(parts)} in this payload" + "".join(f"; {note}" for note in breaks)


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _shown(value: Any, limit: int = 60) -> str:
    """A payload value as a message shows it: ``'abc'``, ``12``, ``null``, cut to ``limit`` characters."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _no_customer(failure: Failure) -> bool:
    problems = failure.detail.get("problems") or []
    return any(field == "code" for field, _ in problems)
