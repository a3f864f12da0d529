"""Every shipped connector's deletion trigger fires for a deletion a sync detects, as for its webhook."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mercator.domain.messages import ChangeEvent
from mercator.services.dispatch import fired_triggers
from tests.unit.connectors.support import definition

CONNECTORS = ["salla", "shopify", "woocommerce", "zid"]


def deletion_events(name: str) -> list[str]:
    return [event for event, handler in definition(name).handlers.items() if handler.operation == "delete"]


@pytest.mark.parametrize("name", CONNECTORS)
def test_deletion_triggers_list_sync_deletions(name: str) -> None:
    triggers = {trigger.event: trigger for trigger in definition(name).triggers}
    events = deletion_events(name)
    assert events
    for event in events:
        assert triggers[event].syncChanges == ["deleted"], event


@pytest.mark.parametrize("name", CONNECTORS)
def test_a_deletion_found_by_a_sync_fires_the_deletion_trigger_of_its_content_type(name: str) -> None:
    defn = definition(name)
    for event in deletion_events(name):
        content_type = defn.handlers[event].contentType
        # Given a record a sync found deleted (no webhook event)
        change = ChangeEvent(
            change="deleted",
            integration_id="i-1",
            tenant_id="t-1",
            connector=name,
            content_type=content_type,
            code="1",
            record={"code": "1"},
            content_hash="h",
            source="sync",
            occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        # Then exactly that content type's deletion trigger fires
        assert [trigger.event for trigger in fired_triggers(defn, change)] == [event]
