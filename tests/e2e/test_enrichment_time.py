"""DetailEnrichment plans a batch's time at the pace its session keeps: the integration's own rate."""

from __future__ import annotations

from mercator.state.integrations import DynamoIntegrations
from mercator_local import LocalStack
from tests.e2e.conftest import SIZES, OpenStore
from tests.e2e.support import SYNC_FUNCTION, SteppingClock

ENRICH_FUNCTION = "DetailEnrichmentFunction"


def test_a_batch_that_fits_the_time_left_at_the_integrations_rate_is_enriched(
    open_store: OpenStore, stack: LocalStack, clock: SteppingClock
) -> None:
    # Given a Salla store on a plan of 1000 requests/s (the connector's default is 2), whose orders
    # sync handed one batch of four orders to enrichment
    store = open_store("salla", sizes={**SIZES, "orders": 4})
    integrations = DynamoIntegrations(stack.client("dynamodb"), stack.table_name("StateTable"))
    integration = integrations.get(store.integration_id)
    assert integration is not None
    assert (integration.rate_limit(), store.definition.sync.syncConfiguration.rateLimitPerSecond) == (1000, 2)
    stack.runner.invoke_schedule(SYNC_FUNCTION, "orders")
    stack.runner.drain("SyncJobsQueue")
    assert stack.runner.depth("EnrichQueue") == 1

    # When DetailEnrichment gets the batch with 11 s left: four detail calls take 4 ms at 1000/s,
    # inside the 10 s kept free for writes (at 2/s they would take 2 s and overrun it)
    clock.step = stack.functions[ENRICH_FUNCTION].timeout_seconds - 11
    outcome = stack.runner.poll_once("EnrichQueue")
    clock.step = 0.0

    # Then it enriched and wrote the batch instead of failing it for want of time
    assert outcome is not None
    assert (outcome.failed, outcome.error) == (0, None)
    expected = store.expected("orders")
    assert len(expected.records) == 4
    assert store.records("orders") == expected.records
