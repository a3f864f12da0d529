"""Paths of a definition that must find something in its own samples (checklist rule 7).

A path that finds nothing is accepted by the loader, since any text is a valid path, yet at run time
it loses data without an error:

- ``webhook.eventName`` read from the body: every delivery would be refused as having no event;
- a handler's ``enrich.idPath``: every delivery would be dead-lettered for want of an id;
- a resource's ``idPath``: no details could be fetched and no deletion matched;
- ``incremental.recordUpdatedAt``: the cursor would never move, so every run lists everything;
- a mapping path written like a literal (``currency: SAR``) where no sample has such a key: the
  field is always null, where ``{value: SAR}`` was meant.

Each finding names the path, the sample it was tried on, and what the sample holds there instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.sync import Resource
from mercator.connector.webhook import BodyValue
from mercator.mapping import compile_path
from mercator.mapping.engine import RULE_KEYS

Location = tuple[str | int, ...]
Reader = Callable[[str | None], tuple[Any, str | None]]
"""A sample file's JSON, or None and why it cannot be read (reported by the samples rule)."""
PathFinding = tuple[Location, str]

# A single path segment that reads as a value rather than a key: a code (SAR, USD) or a number.
_LITERAL_LOOKING = re.compile(r"[A-Z][A-Z0-9_]*|[0-9][0-9.]*")
_KEYS_LISTED = 12
_KEYS_COLLECTED = 5_000


def sample_path_findings(definition: ConnectorDefinition, read: Reader) -> list[PathFinding]:
    findings: list[PathFinding] = []
    for event, handler in definition.handlers.items():
        where: Location = ("sync", "webhooks", "handlers", event)
        bodies = _readable(read, handler.samples)
        findings += _event_names(definition, event, bodies)
        if handler.enrich is not None:
            for label, body in bodies:
                if _empty(handler.enrich.record_id(body)):
                    findings.append(
                        (
                            (*where, "enrich", "idPath"),
                            f"{handler.enrich.idPath!r} finds no id in {label}{_keys_hint(body)}; every "
                            "delivery would be dead-lettered",
                        )
                    )
        if handler.mapping is not None:
            findings += _literal_paths((*where, "mapping"), handler.mapping, [body for _, body in bodies])
    for key, resource in definition.resources.items():
        findings += _resource_paths(key, resource, read)
    return findings


def _readable(read: Reader, files: list[str]) -> list[tuple[str, Any]]:
    bodies = []
    for index, file in enumerate(files):
        body, problem = read(file)
        if problem is None:
            bodies.append((f"samples[{index}] ({file})", body))
    return bodies


def _event_names(
    definition: ConnectorDefinition, event: str, bodies: list[tuple[str, Any]]
) -> list[PathFinding]:
    source = definition.webhook.eventName if definition.webhook else None
    if not isinstance(source, BodyValue):
        return []  # a header or query parameter is not in the sample body
    findings: list[PathFinding] = []
    for label, body in bodies:
        found = source.value_in({}, body, {})
        # A sample shared by the handlers of one payload shape gives one of their events.
        if found is not None and found in definition.handlers:
            continue
        what = (
            f"finds nothing in handler {event!r}'s {label}{_keys_hint(body)}"
            if found is None
            else f"finds {found!r} in handler {event!r}'s {label}, which no handler handles"
        )
        findings.append(
            (("webhook", "eventName", "path"), f"{source.path!r} {what}; the path must give {event!r}")
        )
    return findings


def _resource_paths(key: str, resource: Resource, read: Reader) -> list[PathFinding]:
    where: Location = ("sync", "resources", key)
    if not resource.samples.list:
        return []
    body, problem = read(resource.samples.list)
    items = resource.responseMapping.records_in(body) if problem is None else None
    if not items:
        return []  # the samples rule reports an unreadable sample or a missing list
    records = [item for item in items if isinstance(item, dict)]
    findings: list[PathFinding] = []
    fetches = resource.endpoints.details is not None or resource.deletions is not None
    missing_id = [index for index, item in enumerate(records) if _empty(resource.record_id(item))]
    if fetches and missing_id:
        findings.append(
            (
                (*where, "idPath"),
                f"{resource.idPath!r} finds no id in item {missing_id[0]} of the list sample"
                f"{_keys_hint(records[missing_id[0]])}; without it no details call or deletion can name "
                "the record",
            )
        )
    incremental = resource.incremental
    if incremental is not None:
        undated = [index for index, item in enumerate(records) if incremental.updated_at(item) is None]
        if undated:
            item = records[undated[0]]
            value = compile_path(incremental.recordUpdatedAt).get(item)
            what = "nothing" if value is None else f"{value!r}, which is not a date,"
            findings.append(
                (
                    (*where, "incremental", "recordUpdatedAt"),
                    f"{incremental.recordUpdatedAt!r} finds {what} in item {undated[0]} of the list sample"
                    f"{_keys_hint(item) if value is None else ''}; the cursor could never move past it",
                )
            )
    seen = list(records)
    details = resource.endpoints.details
    if details is not None and resource.samples.details:
        body, problem = read(resource.samples.details)
        record = details.record_in(body) if problem is None else None
        if isinstance(record, dict):
            seen.append(record)
    findings += _literal_paths((*where, "apiMapping"), resource.apiMapping, seen)
    return findings


def _literal_paths(where: Location, mapping: dict[str, Any], bodies: list[Any]) -> list[PathFinding]:
    """Rules whose path reads like a value and names no key of any sample."""
    if not bodies:
        return []
    keys = _keys(bodies)
    findings: list[PathFinding] = []
    for location, path in _single_segment_paths(where, mapping):
        if path not in keys and _LITERAL_LOOKING.fullmatch(path):
            findings.append(
                (
                    location,
                    f"{path!r} is read as a path, and no sample has a key {path!r}, so the field would "
                    f"always be empty; for the text itself write {{value: {path}}}",
                )
            )
    return findings


def _single_segment_paths(where: Location, mapping: dict[str, Any]) -> Iterator[tuple[Location, str]]:
    for name, rule in mapping.items():
        if isinstance(rule, str):
            if _single_segment(rule):
                yield (*where, name), rule
        elif isinstance(rule, dict):
            if isinstance(rule.get("path"), str) and _single_segment(rule["path"]):
                yield (*where, name, "path"), rule["path"]
            if set(rule) == {"object"} and isinstance(rule["object"], dict):
                yield from _single_segment_paths((*where, name, "object"), rule["object"])
            elif not RULE_KEYS & set(rule):
                yield from _single_segment_paths((*where, name), rule)
            elif isinstance(rule.get("mapping"), dict):
                yield from _single_segment_paths((*where, name, "mapping"), rule["mapping"])


def _single_segment(path: str) -> bool:
    return not any(mark in path for mark in ".[$*")


def _keys(bodies: list[Any]) -> set[str]:
    """Every key anywhere in the samples (enough of them to decide; samples are small)."""
    keys: set[str] = set()
    stack = list(bodies)
    while stack and len(keys) < _KEYS_COLLECTED:
        value = stack.pop()
        if isinstance(value, dict):
            keys.update(str(key) for key in value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return keys


def _keys_hint(body: Any) -> str:
    if not isinstance(body, dict):
        return f" (it is {type(body).__name__}, not an object)"
    names = list(body)
    shown = ", ".join(names[:_KEYS_LISTED]) + (", ..." if len(names) > _KEYS_LISTED else "")
    return f" (its keys: {shown or 'none'})"


def _empty(value: Any) -> bool:
    return value is None or value == "" or isinstance(value, dict | list)
