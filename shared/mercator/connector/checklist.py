"""The submission checklist every connector must pass before it ships (``mercator validate``).

Loading a definition already proves its shape. These checks prove it is complete and consistent:

1. every webhook handler event has a trigger with exactly the same event string, and every trigger
   without a ``transition`` a handler (a transition trigger is named by its own code, no handler's);
2. every mapping produces the required fields of its content type and only fields it knows;
3. every resource's responseMapping paths exist in its sample list response;
4. samples are present: a list sample per resource, a details sample where details are fetched,
   at least one sample per handler, and each of them maps into valid records;
5. wherever webhooks are received, deliveries are verified and their event name can be found;
6. a record maps to the same content whichever path brings it: where a create/upsert handler's
   sample and a sample of the resource of the same content type describe the same record (same
   ``code``), every field both give has the same value (the same JSON, so 30 and 30.0 differ, as
   they do in the content hash that decides whether a record changed);
7. the paths that locate things find them in the samples: the body's event name, a handler's
   ``enrich.idPath``, a resource's ``idPath`` and ``incremental.recordUpdatedAt``; and no mapping
   path written like a literal (``currency: SAR``) names a key no sample has
   (mercator.connector.sample_paths).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mercator.connector.base import did_you_mean, shown
from mercator.connector.definition import ConnectorDefinition
from mercator.connector.documents import (
    MAX_SAMPLE_BYTES,
    DocumentError,
    Problem,
    load_json_file,
    resolve_inside,
)
from mercator.connector.mapper import (
    MapOutcome,
    PayloadShapeError,
    extract_customer,
    map_delivery,
    map_details_response,
    map_list_response,
    map_records,
)
from mercator.connector.sample_paths import sample_path_findings
from mercator.connector.webhook import NoVerification
from mercator.domain.content_types import FieldShape, field_names, field_shapes
from mercator.mapping.engine import RULE_KEYS, format_location

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    path: str
    message: str
    # The same place as ``path``, as keys and indexes, for its line and column
    # (ConnectorDefinition.position_of); not compared, since ``path`` already says it.
    location: Location = field(default=(), compare=False)

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
    read = partial(_read_sample, definition)
    findings += [_finding(where, message) for where, message in sample_path_findings(definition, read)]
    return findings


def _finding(location: Location, message: str) -> Finding:
    return Finding(format_location(location), message, location)


def _triggers_match_handlers(definition: ConnectorDefinition) -> list[Finding]:
    handled = list(definition.handlers)
    triggered = [trigger.event for trigger in definition.triggers]
    plain = [trigger.event for trigger in definition.triggers if trigger.transition is None]
    findings = []
    for event in handled:
        if event not in plain:
            findings.append(
                _finding(
                    ("sync", "webhooks", "handlers", event),
                    f"no trigger has event {shown(event)}{_near(event, plain)}; add one to triggers[]",
                )
            )
    for index, trigger in enumerate(definition.triggers):
        event = trigger.event
        if trigger.transition is not None:
            if event in handled:
                findings.append(
                    _finding(
                        ("triggers", index, "event"),
                        f"{event!r} is a webhook handler's event; a transition trigger is named by its "
                        "own code (order_status_changed), and the handler needs a trigger of its own",
                    )
                )
        elif definition.changes_of(trigger) is None:
            findings.append(
                _finding(
                    ("triggers", index, "event"),
                    f"no webhook handler for {shown(event)}{_near(event, handled)}; "
                    f"handled: {', '.join(handled) or 'none'}",
                )
            )
        if triggered.index(event) != index:
            findings.append(_finding(("triggers", index, "event"), f"{event!r} is listed twice"))
    return findings


def _near(word: str, choices: list[str]) -> str:
    hint = did_you_mean(word, choices)
    if hint or not word:
        return hint
    # ``price`` for ``unitPrice``: a choice that ends with the word reads as what was meant.
    ending = [c for c in choices if c.lower().endswith(word.lower())][:1]
    return f" (did you mean {shown(ending[0])}?)" if ending else ""


def _mappings_cover_content_types(definition: ConnectorDefinition) -> list[Finding]:
    findings = []
    for key, resource in definition.resources.items():
        findings += _coverage(
            ("sync", "resources", key, "apiMapping"), resource.apiMapping, resource.contentType, full=True
        )
    for event, handler in definition.handlers.items():
        if handler.mapping is None:
            continue  # enriched: the resource's apiMapping maps the record
        findings += _coverage(
            ("sync", "webhooks", "handlers", event, "mapping"),
            handler.mapping,
            handler.contentType,
            full=handler.operation in {"create", "upsert"},
        )
    if definition.catalogEvents is not None:
        findings += _coverage(
            ("catalogEvents", "products", "apiMapping"),
            definition.catalogEvents.products.apiMapping,
            "core:product",
            full=True,
        )
    extraction = definition.webhook.customerExtraction if definition.webhook else None
    if extraction is not None:
        where: Location = ("webhook", "customerExtraction", "mapping")
        findings += _coverage(where, extraction.mapping, "core:customer", full=True)
        if not {"email", "phone"} & set(extraction.mapping):
            findings.append(_finding(where, "core:customer needs email or phone; map at least one"))
    return findings


def _coverage(where: Location, mapping: dict[str, Any], content_type: str, *, full: bool) -> list[Finding]:
    shapes = field_shapes(content_type)
    return _fields_covered(where, mapping, shapes, content_type, "", full=full)


def _fields_covered(
    where: Location,
    mapping: dict[str, Any],
    shapes: dict[str, FieldShape],
    content_type: str,
    prefix: str,
    *,
    full: bool,
) -> list[Finding]:
    """Required fields produced and no unknown ones, down through nested objects and item mappings."""
    findings = []
    needed = [name for name, shape in shapes.items() if shape.required] if full else ["code"]
    missing = [prefix + name for name in needed if name not in mapping]
    if missing:
        findings.append(
            _finding(where, f"{content_type} requires {', '.join(missing)}; this mapping does not produce it")
        )
    for name, rule in mapping.items():
        shape = shapes.get(name)
        if shape is None:
            findings.append(_finding((*where, name), _unknown_field(name, shapes, content_type, prefix)))
            continue
        nested = _nested_mapping(rule)
        if shape.nested is not None and nested is not None:
            inner, step = nested
            below = f"{prefix}{name}{'[]' if shape.many else ''}."
            findings += _fields_covered(
                (*where, name, *step), inner, shape.nested, content_type, below, full=True
            )
    return findings


def _nested_mapping(rule: Any) -> tuple[dict[str, Any], Location] | None:
    """The fields a rule maps below it (an item mapping, a nested object), with their location."""
    if not isinstance(rule, dict):
        return None
    if set(rule) == {"object"} and isinstance(rule["object"], dict):
        return rule["object"], ("object",)
    if not RULE_KEYS & set(rule):
        return rule, ()
    if isinstance(rule.get("mapping"), dict):
        return rule["mapping"], ("mapping",)
    return None


def _unknown_field(name: str, shapes: dict[str, FieldShape], content_type: str, prefix: str) -> str:
    here = list(shapes)
    where = f" in {prefix.rstrip('.')}" if prefix else ""
    free = " (free-form data goes under attributes)" if "attributes" in shapes else ""
    every = field_names(field_shapes(content_type))
    return (
        f"{content_type} has no field {shown(name)}{where}{_near(name, here)}{free}; "
        f"its fields: {', '.join(every)}"
    )


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
        if resource.listed:
            body, problem = _read_sample(definition, resource.samples.list)
            if problem:
                findings.append(_finding((*where, "list"), problem))
            else:
                findings += _response_paths(definition, key, body)
                findings += _mapped((*where, "list"), partial(map_list_response, definition, key, body))
        # Without a list, the details are all that brings the resource's records: their sample is due.
        fetched = not resource.listed or resource.expandDetails or resource.samples.details
        if resource.endpoints.details is not None and fetched:
            body, problem = _read_sample(definition, resource.samples.details)
            if problem:
                findings.append(_finding((*where, "details"), problem))
            answers: dict[str, Any] = {}
            for field_name in resource.subResources:
                answer, missing = _read_sample(definition, resource.samples.subResources.get(field_name))
                if missing:
                    findings.append(_finding((*where, "subResources", field_name), missing))
                    problem = problem or missing
                answers[field_name] = answer
            if not problem:
                findings += _mapped(
                    (*where, "details"),
                    partial(map_details_response, definition, key, body, sub_resources=answers),
                )
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
    if definition.catalogEvents is not None:
        products = definition.catalogEvents.products
        body, problem = _read_sample(definition, products.sample)
        where = ("catalogEvents", "products", "sample")
        if problem:
            findings.append(_finding(where, problem))
        else:
            findings += _mapped(where, partial(map_records, products.mapping, "core:product", [body]))
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
