"""The submission checklist every connector must pass before it ships (``mercator validate``).

Loading a definition already proves its shape. These checks prove it is complete and consistent:

1. every webhook handler event has a trigger with exactly the same event string, and vice versa;
2. every mapping produces the required fields of its content type and only fields it knows;
3. every resource's responseMapping paths exist in its sample list response;
4. samples are present: a list sample per resource, a details sample where details are fetched,
   at least one sample per handler, and each of them maps into valid records;
5. wherever webhooks are received, deliveries are verified and their event name can be found;
6. a record maps to the same content whichever path brings it: where a create/upsert handler's
   sample and a sample of the resource of the same content type describe the same record (same
   ``code``), every field both give has the same value (the same JSON, so 30 and 30.0 differ, as
   they do in the content hash that decides whether a record changed).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.documents import (
    MAX_SAMPLE_BYTES,
    DocumentError,
    Problem,
    load_json_file,
    resolve_inside,
)
from mercator.connector.webhook import NoVerification
from mercator.mapping.engine import format_location
from mercator.records import known_fields, required_fields
from mercator.services.mapper import (
    MapOutcome,
    PayloadShapeError,
    extract_customer,
    map_delivery,
    map_details_response,
    map_list_response,
)

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def check(definition: ConnectorDefinition) -> list[Finding]:
    """Every checklist finding for a loaded definition (empty when it may ship)."""
    findings: list[Finding] = []
    findings += _triggers_match_handlers(definition)
    findings += _mappings_cover_content_types(definition)
    findings += _webhooks_verified(definition)
    findings += _samples(definition)
    findings += _paths_agree(definition)
    return findings


def _finding(location: Location, message: str) -> Finding:
    return Finding(format_location(location), message)


def _triggers_match_handlers(definition: ConnectorDefinition) -> list[Finding]:
    handled = list(definition.handlers)
    triggered = [trigger.event for trigger in definition.triggers]
    findings = []
    for event in handled:
        if event not in triggered:
            findings.append(
                _finding(
                    ("sync", "webhooks", "handlers", event),
                    f"no trigger has event {event!r}{_near(event, triggered)}; add one to triggers[]",
                )
            )
    for index, event in enumerate(triggered):
        if event not in handled:
            findings.append(
                _finding(
                    ("triggers", index, "event"),
                    f"no webhook handler for {event!r}{_near(event, handled)}; "
                    f"handled: {', '.join(handled) or 'none'}",
                )
            )
        if triggered.index(event) != index:
            findings.append(_finding(("triggers", index, "event"), f"{event!r} is listed twice"))
    return findings


def _near(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _mappings_cover_content_types(definition: ConnectorDefinition) -> list[Finding]:
    findings = []
    for key, resource in definition.resources.items():
        findings += _coverage(
            ("sync", "resources", key, "apiMapping"), resource.apiMapping, resource.contentType, full=True
        )
    for event, handler in definition.handlers.items():
        findings += _coverage(
            ("sync", "webhooks", "handlers", event, "mapping"),
            handler.mapping,
            handler.contentType,
            full=handler.operation in {"create", "upsert"},
        )
    extraction = definition.webhook.customerExtraction if definition.webhook else None
    if extraction is not None:
        where: Location = ("webhook", "customerExtraction", "mapping")
        findings += _coverage(where, extraction.mapping, "core:customer", full=True)
        if not {"email", "phone"} & set(extraction.mapping):
            findings.append(_finding(where, "core:customer needs email or phone; map at least one"))
    return findings


def _coverage(where: Location, mapping: dict[str, Any], content_type: str, *, full: bool) -> list[Finding]:
    fields = set(mapping)
    findings = []
    needed = required_fields(content_type) if full else ["code"]
    missing = [name for name in needed if name not in fields]
    if missing:
        findings.append(
            _finding(where, f"{content_type} requires {', '.join(missing)}; this mapping does not produce it")
        )
    known = known_fields(content_type)
    for name in sorted(fields - set(known)):
        findings.append(
            _finding(
                (*where, name), f"{content_type} has no field {name!r}{_near(name, known)}; use attributes"
            )
        )
    return findings


def _webhooks_verified(definition: ConnectorDefinition) -> list[Finding]:
    if not definition.handlers:
        return []
    webhook = definition.webhook
    findings = []
    if webhook is None or webhook.verification is None or isinstance(webhook.verification, NoVerification):
        findings.append(
            _finding(
                ("webhook", "verification"),
                "webhook handlers are defined, so deliveries must be verified: "
                "strategy hmac, token, bearer, basic or standard_webhooks",
            )
        )
    if webhook is None or webhook.eventName is None:
        findings.append(
            _finding(("webhook", "eventName"), "say where the event name is: {from: header|body|query, ...}")
        )
    return findings


def _samples(definition: ConnectorDefinition) -> list[Finding]:
    findings: list[Finding] = []
    for key, resource in definition.resources.items():
        where: Location = ("sync", "resources", key, "samples")
        body, problem = _read_sample(definition, resource.samples.list)
        if problem:
            findings.append(_finding((*where, "list"), problem))
        else:
            findings += _response_paths(definition, key, body)
            findings += _mapped((*where, "list"), partial(map_list_response, definition, key, body))
        if resource.endpoints.details is not None and (resource.expandDetails or resource.samples.details):
            body, problem = _read_sample(definition, resource.samples.details)
            if problem:
                findings.append(_finding((*where, "details"), problem))
            else:
                findings += _mapped((*where, "details"), partial(map_details_response, definition, key, body))
    for event, handler in definition.handlers.items():
        where = ("sync", "webhooks", "handlers", event, "samples")
        if not handler.samples:
            findings.append(_finding(where, "add at least one sample delivery for this event"))
        for index, file in enumerate(handler.samples):
            body, problem = _read_sample(definition, file)
            if problem:
                findings.append(_finding((*where, index), problem))
                continue
            if handler.enrich is None:
                findings += _mapped((*where, index), partial(map_delivery, definition, event, body))
            customer = extract_customer(definition, event, body)
            if customer is not None and customer.failures:
                findings.append(
                    _finding((*where, index), f"customer extraction: {customer.failures[0].reason}")
                )
    return findings


def _read_sample(definition: ConnectorDefinition, file: str | None) -> tuple[Any, str | None]:
    """A sample's JSON, or why not; a sample is a regular file in the definition's folder or below."""
    if not file:
        return None, "missing: add a sample response file (path relative to the definition)"
    base = definition.source.parent if definition.source else Path.cwd()
    try:
        path = resolve_inside(base, file, what="a sample")
        if not path.exists():
            return None, f"sample {file!r} not found (looked at {path})"
        return load_json_file(path, limit=MAX_SAMPLE_BYTES, what="a sample", file=file), None
    except DocumentError as exc:
        return None, f"sample {file!r}: " + "; ".join(_sample_problem(p) for p in exc.problems)


def _sample_problem(problem: Problem) -> str:
    return f"{problem.path}: {problem.message}" if problem.path else problem.message


def _response_paths(definition: ConnectorDefinition, key: str, body: Any) -> list[Finding]:
    resource = definition.resources[key]
    mapping = resource.responseMapping
    where: Location = ("sync", "resources", key, "responseMapping")
    findings = []
    if mapping.records_in(body) is None:
        found = (
            "the body is not a list" if not mapping.dataProperty else f"no list at {mapping.dataProperty!r}"
        )
        findings.append(_finding((*where, "dataProperty"), f"in the list sample, {found}"))
    if mapping.totalProperty and mapping.total_in(body) is None:
        findings.append(
            _finding((*where, "totalProperty"), f"no number at {mapping.totalProperty!r} in the list sample")
        )
    return findings


def _mapped(where: Location, run: Callable[[], MapOutcome]) -> list[Finding]:
    try:
        outcome = run()
    except PayloadShapeError as exc:
        return [_finding(where, str(exc))]
    return [_finding(where, f"record {f.index}: {f.reason}") for f in outcome.failures]


def _paths_agree(definition: ConnectorDefinition) -> list[Finding]:
    """Handler and resource mappings that store different values for the same sample record.

    Each path rewrites what the other wrote, so every sync would announce a change the source never
    made. A field only one side gives is not a disagreement: a path that knows part of a record is
    merged over the stored one.
    """
    findings: list[Finding] = []
    for event, handler in definition.handlers.items():
        if handler.operation not in {"create", "upsert"} or handler.enrich is not None:
            continue
        delivered = _sample_records(
            definition,
            [
                (f"samples[{index}]", file, partial(map_delivery, definition, event))
                for index, file in enumerate(handler.samples)
            ],
        )
        for key, resource in definition.resources.items():
            if resource.contentType != handler.contentType:
                continue
            sources = [("samples.list", resource.samples.list, partial(map_list_response, definition, key))]
            if resource.endpoints.details is not None:
                details = partial(map_details_response, definition, key)
                sources.append(("samples.details", resource.samples.details, details))
            listed = _sample_records(definition, sources)
            where = f"sync.resources.{key}.apiMapping"
            for code in sorted(delivered.keys() & listed.keys()):
                for ours_from, ours in delivered[code]:
                    for theirs_from, theirs in listed[code]:
                        for path, mine, other in _disagreements(ours, theirs):
                            location = (
                                "sync",
                                "webhooks",
                                "handlers",
                                event,
                                "mapping",
                                *_mapping_location(handler.mapping, path),
                            )
                            findings.append(
                                _finding(
                                    location,
                                    f"record {code}, field {format_location(path)}: this mapping gives "
                                    f"{_shown(mine)} ({ours_from}) where {where} gives {_shown(other)} "
                                    f"({theirs_from}); both paths must store the same value",
                                )
                            )
    return findings


SampleSource = tuple[str, str | None, Callable[[Any], MapOutcome]]
Labelled = list[tuple[str, dict[str, Any]]]


def _sample_records(definition: ConnectorDefinition, sources: Sequence[SampleSource]) -> dict[str, Labelled]:
    """The records the samples map to, by code; unreadable or unmappable samples are reported elsewhere."""
    by_code: dict[str, Labelled] = {}
    for label, file, run in sources:
        body, problem = _read_sample(definition, file)
        if problem:
            continue
        try:
            outcome = run(body)
        except PayloadShapeError:
            continue
        for record in outcome.records:
            code = record.get("code")
            if isinstance(code, str) and code:
                by_code.setdefault(code, []).append((label, record))
    return by_code


FieldPath = tuple[str | int, ...]


def _disagreements(ours: Any, theirs: Any, path: FieldPath = ()) -> list[tuple[FieldPath, Any, Any]]:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[tuple[FieldPath, Any, Any]] = []
        for key in ours:
            if key in theirs:
                found += _disagreements(ours[key], theirs[key], (*path, key))
        return found
    if (
        isinstance(ours, list)
        and isinstance(theirs, list)
        and len(ours) == len(theirs)
        and all(isinstance(item, dict) for item in [*ours, *theirs])
    ):
        found = []
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            found += _disagreements(mine, other, (*path, index))
        return found
    if _has_value(ours) and _has_value(theirs) and _canonical(ours) != _canonical(theirs):
        return [(path, ours, theirs)]
    return []


def _has_value(value: Any) -> bool:
    # An empty list is what content types default a missing list to, so it says nothing either way.
    return value is not None and value not in ("", [], {})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _shown(value: Any) -> str:
    text = _canonical(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _mapping_location(spec: Any, path: FieldPath) -> Location:
    """Where in a mapping the rule for a record field is: ``items[0].sku`` → ``items.mapping.sku``."""
    location: list[str | int] = []
    node = spec
    for part in path:
        if isinstance(node, dict) and isinstance(node.get("object"), dict) and part not in node:
            location.append("object")
            node = node["object"]
        if isinstance(part, int):
            # An element of a mapItems list: its fields are under the rule's item mapping.
            if not (isinstance(node, dict) and isinstance(node.get("mapping"), dict)):
                break
            location.append("mapping")
            node = node["mapping"]
            continue
        if not (isinstance(node, dict) and part in node):
            break
        location.append(part)
        node = node[part]
    return tuple(location)
