"""Transition triggers and responseMapping.each: refused at load with the path of the mistake and the
valid choices; the checklist keeps transition triggers apart from handlers' events."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mercator.connector import DefinitionError, validate_definition
from mercator.connector.checklist import check
from tests.unit.connector.test_invalid_definitions import valid_definition

DELIVERED = {
    "event": "shipment_delivered",
    "entityType": "Shipment",
    "transition": {"field": "status", "to": "delivered"},
}


def with_trigger(trigger: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(valid_definition())
    doc["triggers"].append(trigger)
    return doc


def test_a_transition_trigger_is_read_with_its_content_type() -> None:
    definition = validate_definition(with_trigger(DELIVERED), "demo.yaml")

    trigger = definition.triggers[-1]
    assert trigger.transition is not None
    assert (trigger.transition.field, trigger.transition.from_, trigger.transition.to) == (
        "status",
        None,
        "delivered",
    )
    assert trigger.contentType == "ecommerce:shipments"
    # It needs no handler: the checklist's rule 1 finds nothing about it.
    assert [f for f in check(definition) if f.path.startswith("triggers[1]")] == []


CASES: list[tuple[str, dict[str, Any], str, list[str]]] = [
    (
        "field the content type lacks",
        {**DELIVERED, "transition": {"field": "state"}},
        "triggers[1].transition.field",
        ["'state' is not a field of ecommerce:shipments", "valid: code, orderCode, status"],
    ),
    (
        "field holding a list",
        {**DELIVERED, "transition": {"field": "trackingNumbers"}},
        "triggers[1].transition.field",
        ["holding one plain value"],
    ),
    (
        "field holding an object",
        {"event": "buyer_changed", "entityType": "Order", "transition": {"field": "customer"}},
        "triggers[1].transition.field",
        ["'customer' is not a field of ecommerce:orders holding one plain value"],
    ),
    (
        "status a shipment cannot have",
        {**DELIVERED, "transition": {"field": "status", "to": "delivred"}},
        "triggers[1].transition.to",
        ["'delivred' is not a ecommerce:shipments status", "valid: pending, in_transit"],
    ),
    (
        "from and to the same",
        {**DELIVERED, "transition": {"field": "status", "from": "delivered", "to": "delivered"}},
        "triggers[1].transition.to",
        ["never moves to itself"],
    ),
    (
        "syncChanges beside a transition",
        {**DELIVERED, "syncChanges": ["updated"]},
        "triggers[1].syncChanges",
        ["fires on every path already"],
    ),
]


@pytest.mark.parametrize(("trigger", "path", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mistakes_name_their_path_and_what_is_valid(
    trigger: dict[str, Any], path: str, fragments: list[str]
) -> None:
    with pytest.raises(DefinitionError) as caught:
        validate_definition(with_trigger(trigger), "demo.yaml")

    problem = caught.value.problems[0]
    assert problem.path == path, caught.value.render()
    for fragment in fragments:
        assert fragment in problem.message, problem.message


def test_a_transition_trigger_named_like_a_handlers_event_is_a_checklist_finding() -> None:
    doc = with_trigger({"event": "order.created", "entityType": "Order", "transition": {"field": "status"}})
    doc["triggers"] = doc["triggers"][1:]  # the handler's own trigger is the transition now

    findings = check(validate_definition(doc, "demo.yaml"))

    paths = {finding.path: finding.message for finding in findings}
    assert "a transition trigger is named by its own code" in paths["triggers[0].event"]
    # And the handler is left without a trigger of its own.
    assert "no trigger has event" in paths['sync.webhooks.handlers["order.created"]']


def with_each(**resource: Any) -> dict[str, Any]:
    doc = copy.deepcopy(valid_definition())
    orders = doc["sync"]["resources"]["orders"]
    orders.setdefault("responseMapping", {})["each"] = {"path": "lines", "parent": "order"}
    orders.update(resource)
    return doc


def test_each_refuses_what_addresses_listed_records_by_id() -> None:
    doc = with_each(deletions={"sweep": {"everySeconds": 86400}})

    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")

    problem = caught.value.problems[0]
    assert problem.path.startswith("sync.resources.orders"), caught.value.render()
    assert "responseMapping.each maps the items" in problem.message


def test_each_maps_the_items_of_each_listed_record_with_the_record_under_its_name() -> None:
    definition = validate_definition(with_each(), "demo.yaml")
    mapping = definition.resources["orders"].responseMapping

    body = [{"id": 1, "lines": [{"n": "a"}, {"n": "b"}]}, {"id": 2, "lines": []}, {"id": 3}]

    assert mapping.records_in(body) == [
        {"n": "a", "order": {"id": 1}},
        {"n": "b", "order": {"id": 1}},
    ]
    # Paging counts what was listed: three orders.
    assert mapping.listed_in(body) == body
