"""Helpers for the shipped-connector tests: load a definition and map its samples strictly."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from mercator.connector import ConnectorDefinition, load_shipped
from mercator.connector.mapper import MapOutcome, map_delivery, map_details_response, map_list_response


@cache
def definition(name: str) -> ConnectorDefinition:
    return load_shipped(name)


def sample(name: str, relative: str) -> Any:
    """A sample file of a shipped connector, by its path relative to the definition."""
    return json.loads(definition(name).resolve(relative).read_text(encoding="utf-8"))


def _clean(outcome: MapOutcome) -> list[dict[str, Any]]:
    assert not outcome.failures, "\n".join(f.reason for f in outcome.failures)
    return outcome.records


def map_list(name: str, resource: str) -> list[dict[str, Any]]:
    """Every record of the resource's list sample, mapped and validated (failing on any failure)."""
    defn = definition(name)
    file = defn.resources[resource].samples.list
    assert file, f"{name}.{resource} has no list sample"
    return _clean(map_list_response(defn, resource, sample(name, file)))


def map_details(name: str, resource: str) -> dict[str, Any]:
    defn = definition(name)
    file = defn.resources[resource].samples.details
    assert file, f"{name}.{resource} has no details sample"
    (record,) = _clean(map_details_response(defn, resource, sample(name, file)))
    return record


def map_event(name: str, event: str, index: int = 0) -> dict[str, Any]:
    """The record a handler maps from its ``index``-th sample delivery."""
    defn = definition(name)
    files = defn.handlers[event].samples
    assert files, f"{name} handler {event} has no sample"
    (record,) = _clean(map_delivery(defn, event, sample(name, files[index])))
    return record
