"""An initial sync of every resource family leaves the records table equal to the store."""

from __future__ import annotations

import pytest

from mercator_sandbox.app import FlavorName
from tests.e2e.conftest import OpenStore
from tests.e2e.support import CONTENT_TYPES, FAMILIES, FLAVORS, change_counts


@pytest.mark.parametrize("flavor", FLAVORS)
def test_an_initial_sync_makes_the_records_table_equal_the_store(
    open_store: OpenStore, flavor: FlavorName
) -> None:
    # Given a store of tens of records per resource that Mercator has never synced
    store = open_store(flavor)

    # When every family's schedule fires and the queues drain
    report = store.sync(*FAMILIES)

    # Then nothing failed or reached a dead-letter queue...
    assert report.dead_letters == {
        "SyncJobsDLQ": 0,
        "EnrichDLQ": 0,
        "TriggerDLQ": 0,
        "PushDLQ": 0,
        "CatalogEventsDLQ": 0,
    }
    assert sum(report.failed.values()) == 0
    # ...and each family's records are exactly what the connector maps from the store's own answers
    changes = store.changes()
    for family in FAMILIES:
        expected = store.expected(family)
        assert expected.failures == {}
        rows = store.rows(family)
        assert {code: row.record for code, row in rows.items()} == expected.records
        assert len(rows) == sum(len(store.store_ids(r)) for r in store.resources(family))
        assert {row.version for row in rows.values()} <= {1}
        assert change_counts(changes).get((CONTENT_TYPES[family], "created"), 0) == len(rows)
    # ...with nothing else in the table, and one "created" event per record
    total = sum(len(store.rows(family)) for family in FAMILIES)
    assert store.table_size() == total
    assert len(changes) == total
