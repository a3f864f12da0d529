"""A Crystal catalog source and one store, served to the local stack, with the tenant's integrations on
them: the catalog source (``catalogSource``) and the store that receives it (``syncProducts``).

``CatalogWorld.sync_source()`` lists the source through the real ScheduledSync into the canonical
catalog; ``push()`` fires CatalogPush's schedule and works its queue; ``compare()`` reads the store's
products (``Sandbox.products()``) and the source's (``Crystal.source_products()``) and says, by SKU,
what differs, in the fields the store's push block writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mercator.connector import load_shipped
from mercator.services.registration import register_integration
from mercator.state.integrations import DynamoIntegrations
from mercator.state.secrets import SecretsVault
from mercator_local import LocalStack, RunReport
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from mercator_sandbox.catalog_check import Mismatch, compare
from mercator_sandbox.flavors.crystal import Crystal
from mercator_sandbox.flavors.zid import Zid
from tests.e2e.support import CREDENTIALS, RATE_LIMIT, TENANT, SteppingClock, still_store_time

PUSH_FUNCTION = "CatalogPushFunction"
SYNC_FUNCTION = "ScheduledSyncFunction"
SOURCE_ID = f"{TENANT}-crystal"
# Zid takes images as uploaded files only, so its push block sends none (see catalog_check).
PUSH_FLAVORS: tuple[FlavorName, ...] = ("salla", "shopify", "woocommerce", "zid")
STORE_CREDENTIALS: dict[FlavorName, dict[str, str]] = {
    **CREDENTIALS,
    "zid": {
        "authorizationToken": "zid-e2e-authorization",
        "accessToken": "zid-e2e-manager-token",
        "storeId": "31415",
    },
}


@dataclass
class CatalogWorld:
    stack: LocalStack
    source: Sandbox
    store: Sandbox
    store_id: str

    @property
    def crystal(self) -> Crystal:
        flavor = self.source.flavor
        assert isinstance(flavor, Crystal)
        return flavor

    @property
    def flavor(self) -> FlavorName:
        return self.store.config.flavor

    def sync_source(self) -> RunReport:
        """List the source's products into the canonical catalog (and the store's, as a schedule does)."""
        self.stack.runner.invoke_schedule(SYNC_FUNCTION, "products")
        report = self.stack.runner.run_until_idle(skip=["TriggerQueue", "PushJobsQueue"])
        assert report.idle, "the queues did not drain"
        return report

    def push(self) -> RunReport:
        """Fire CatalogPush's schedule and work its jobs until none is left."""
        self.stack.runner.invoke(PUSH_FUNCTION, {"push": "products"})
        report = self.stack.runner.run_until_idle(skip=["TriggerQueue", "SyncJobsQueue", "EnrichQueue"])
        assert report.idle, "the push jobs did not drain"
        return report

    def writes(self) -> int:
        """Write requests the store has answered so far (every method but GET)."""
        requests: dict[str, int] = self.store.counters.snapshot()["requests"]
        return sum(count for name, count in requests.items() if not name.startswith("GET "))

    def requests(self) -> int:
        requests: dict[str, int] = self.store.counters.snapshot()["requests"]
        return sum(requests.values())

    def throttled(self) -> int:
        throttled: int = self.store.counters.snapshot()["throttled"]
        return throttled

    def store_code(self, product_id: int) -> str:
        """The code Mercator keeps a store product under (Zid's products are known by a uuid)."""
        flavor = self.store.flavor
        if isinstance(flavor, Zid):
            return flavor.product_uuid(product_id)
        return str(product_id)

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(message["Body"]) for message in self.stack.receive_all("PushDLQ")]

    def compare(self) -> Mismatch:
        """The store's products against the source's, by SKU (see mercator_sandbox.catalog_check)."""
        return compare(self.store, self.source)


@contextmanager
def catalog_world(
    flavor: FlavorName, *, products: int = 12, store_rate_limit: bool = False
) -> Iterator[CatalogWorld]:
    """A fresh stack with a Crystal source of ``products`` and an empty ``flavor`` store.

    ``store_rate_limit``: the store enforces its platform's rate limit, and the integration keeps to
    the connector's own budget (else neither limits, so tests run fast).
    """
    with LocalStack(clock=SteppingClock(), retry_after_seconds=0) as stack:
        source = Sandbox(
            "crystal", seed=31, sizes={"products": products}, rate_limit=None, clock=still_store_time
        )
        store = Sandbox(
            flavor,
            seed=32,
            sizes={"orders": 0, "products": 0, "customers": 0, "carts": 0},
            rate_limit="platform" if store_rate_limit else None,
            # A store that enforces its rate limit needs time to pass, for its bucket to leak.
            clock=time.monotonic if store_rate_limit else still_store_time,
        )
        source_origin = stack.serve_sandbox(source)
        store_origin = stack.serve_sandbox(store)
        integrations = DynamoIntegrations(stack.client("dynamodb"), stack.table_name("StateTable"))
        vault = SecretsVault(stack.client("secretsmanager"))
        register_integration(
            integrations,
            vault,
            load_shipped("crystal"),
            tenant_id=TENANT,
            integration_id=SOURCE_ID,
            credentials={"baseUrl": source.base_url(source_origin), "apiKey": "crystal-e2e-key"},
            settings={"catalogSource": True, "rateLimitPerSecond": RATE_LIMIT},
        )
        settings: dict[str, Any] = {"baseUrl": store.base_url(store_origin), "syncProducts": True}
        if not store_rate_limit:
            settings["rateLimitPerSecond"] = RATE_LIMIT
        target = register_integration(
            integrations,
            vault,
            load_shipped(flavor),
            tenant_id=TENANT,
            integration_id=f"{TENANT}-{flavor}",
            credentials=STORE_CREDENTIALS[flavor],
            settings=settings,
        )
        yield CatalogWorld(stack, source, store, target.id)
