"""A PIM source's product triggers fire on the changes its catalog events make to the canonical
catalog, though it has no webhook handler; the checklist accepts them as such."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest

from mercator.connector import load_shipped
from mercator.connector.checklist import check
from mercator.domain.messages import ChangeEvent
from mercator.services.dispatch import fired_triggers


def change(kind: Literal["created", "updated", "deleted"], content_type: str = "core:product") -> ChangeEvent:
    return ChangeEvent(
        change=kind,
        integration_id="acme-pim",
        tenant_id="acme",
        connector="pim",
        content_type=content_type,
        code="PIM-SKU-001",
        record={"code": "PIM-SKU-001", "name": "Oxford Shirt"},
        content_hash="0" * 64,
        source="webhook",
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("kind", "fired"),
    [("created", ["product.created"]), ("updated", ["product.updated"]), ("deleted", [])],
)
def test_a_canonical_product_change_fires_the_pim_trigger_of_its_kind(
    kind: Literal["created", "updated", "deleted"], fired: list[str]
) -> None:
    triggers = fired_triggers(load_shipped("pim"), change(kind))

    assert [trigger.event for trigger in triggers] == fired


def test_a_change_of_another_content_type_fires_no_pim_trigger() -> None:
    assert fired_triggers(load_shipped("pim"), change("created", "core:customer")) == []


def test_a_store_connector_still_needs_a_handler_for_a_sync_change_trigger() -> None:
    # Salla's product.created fires on a sync's change because its handler writes products; a trigger
    # of a store connector with no handler of its name fires on nothing.
    salla = load_shipped("salla")
    assert [t.event for t in fired_triggers(salla, change("created"))] == ["product.created"]
    orphan = salla.model_copy(deep=True)
    orphan.sync.webhooks.handlers.pop("product.created", None)
    assert "product.created" not in [t.event for t in fired_triggers(orphan, change("created"))]


def test_the_pim_definition_passes_the_checklist_without_handlers() -> None:
    definition = load_shipped("pim")

    assert definition.handlers == {}
    assert check(definition) == []
