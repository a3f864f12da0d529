"""The submission checklist every connector must pass before it ships (``mercator validate``).

Loading a definition already proves its shape. These checks prove it is complete and consistent:

1. every webhook handler event has a trigger with exactly the same event string, and vice versa;
2. every mapping produces the required fields of its content type and only fields it knows;
3. every resource's responseMapping paths exist in its sample list response;
4. samples are present: a list sample per resource, a details sample where details are fetched,
   at least one sample per handler, and each of them maps into valid records;
5. wherever webhooks are received, deliveries are verified and their event name can be found.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mercator.connector.definition import ConnectorDefinition
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
    if not file:
        return None, "missing: add a sample response file (path relative to the definition)"
    path: Path = definition.resolve(file)
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, f"sample {file!r} not found (looked at {path})"
    except (OSError, json.JSONDecodeError) as exc:
        return None, f"sample {file!r} is not readable JSON: {exc}"


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
