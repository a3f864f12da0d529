"""A sync of a store that has not changed since the last one writes nothing and announces nothing."""

from __future__ import annotations

import pytest

from mercator_sandbox.app import FlavorName
from tests.e2e.conftest import OpenStore
from tests.e2e.support import FAMILIES, FLAVORS


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_resync_of_unchanged_data_costs_no_write_and_emits_no_change_event(
    open_store: OpenStore, flavor: FlavorName
) -> None:
    # Given a store synced once, every family, and the change events of that sync taken away
    store = open_store(flavor)
    store.sync(*FAMILIES)
    assert store.changes()
    before = {family: store.rows(family) for family in FAMILIES}
    assert sum(len(rows) for rows in before.values()) > 0

    # When every schedule fires again with nothing changed in the store
    report = store.sync(*FAMILIES)

    # Then the runs listed records again (and each resource that sweeps for deletions swept once, its
    # first sweep being due now that it was imported)...
    resources = [resource for family in FAMILIES for resource in store.resources(family)]
    sweeps = [resource for resource in resources if resource.deletions and resource.deletions.sweep]
    assert report.invocations["ScheduledSyncFunction"] == len(resources) + len(sweeps)
    # ...but not one item of the records table was written (a write bumps version and written_at)...
    assert {family: store.rows(family) for family in FAMILIES} == before
    # ...no change event was sent...
    assert store.changes() == []
    # ...and every run counted nothing new or changed
    for family in FAMILIES:
        for resource in store.resources(family):
            cursor = store.cursor(resource)
            stats = cursor.last_run_stats
            assert stats is not None
            assert cursor.last_run_id is not None
            assert (stats.new, stats.changed, stats.errors) == (0, 0, 0)
            assert stats.records > 0
            # Each listed record was compared, by enrichment or by the sync itself: all unchanged.
            if resource.expandDetails:
                enriched = store.enriched(resource, cursor.last_run_id)
                assert (enriched.new, enriched.changed, enriched.unchanged) == (0, 0, stats.records)
            else:
                assert stats.unchanged == stats.records
