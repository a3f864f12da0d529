"""A sandbox PIM sending its catalog to the local stack, and one store that receives it.

``PimWorld.send()`` synchronizes the PIM (its pending changes as signed requests) and PUTs them to the
CatalogEvents route served over HTTP; ``apply()`` works the CatalogEvents FIFO queue (CatalogApply)
until it is empty; ``push()`` fires CatalogPush; ``catalog()`` reads Mercator's catalog state as the
PIM's own ``snapshot()`` shape; ``canonical()`` the PIM integration's core:product records.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from mercator.connector import load_shipped
from mercator.services.registration import register_integration
from mercator.state.catalog_items import DynamoCatalog
from mercator.state.integrations import DynamoIntegrations
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator_local import LocalStack, RunReport
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from mercator_sandbox.pim import CatalogRequest, PimConfig, SandboxPim
from tests.e2e.catalog import STORE_CREDENTIALS
from tests.e2e.support import RATE_LIMIT, TENANT, SteppingClock, still_store_time

PIM_ID = f"{TENANT}-pim"
APP_SECRET = "pim-e2e-app-secret-of-thirty-two-bytes"
INSTALLATION = "pim-e2e-installation"
APPLY_QUEUE = "CatalogEventsQueue"


@dataclass
class PimWorld:
    stack: LocalStack
    pim: SandboxPim
    store: Sandbox | None
    store_id: str | None
    api: str
    integration_id: str = PIM_ID

    def send(self, requests: Sequence[CatalogRequest] | None = None) -> list[int]:
        """PUT the PIM's pending changes (or ``requests``) to Mercator; the answers' statuses."""
        sent = self.pim.synchronize() if requests is None else list(requests)

        async def deliver() -> list[int]:
            async with httpx.AsyncClient(timeout=30) as client:
                return await self.pim.deliver(sent, client)

        return asyncio.run(deliver())

    def put(self, name: str, body: bytes, token: str) -> httpx.Response:
        """One raw request to the CatalogEvents route."""
        url = f"{self.api}/pim/{self.integration_id}/consume/{name}"
        headers = {"X-APP-TOKEN": token, "Content-Type": "application/json"}
        return httpx.put(url, content=body, headers=headers, timeout=30)

    def apply(self) -> RunReport:
        """Work the CatalogEvents queue (and nothing downstream) until it is empty."""
        report = self.stack.runner.drain(APPLY_QUEUE)
        assert report.idle, "the catalog requests did not drain"
        return report

    def push(self) -> RunReport:
        self.stack.runner.invoke("CatalogPushFunction", {"push": "products"})
        report = self.stack.runner.run_until_idle(skip=["TriggerQueue", "SyncJobsQueue", "EnrichQueue"])
        assert report.idle, "the push jobs did not drain"
        return report

    def catalog(self) -> dict[str, Any]:
        """Mercator's catalog state, in the PIM's snapshot shape."""
        store = DynamoCatalog(self.stack.client("dynamodb"), self.stack.table_name("StateTable"))
        return store.snapshot(self.integration_id)

    def canonical(self) -> dict[str, dict[str, Any]]:
        """The PIM's live core:product records, by code."""
        records = DynamoRecords(self.stack.client("dynamodb"), self.stack.table_name("RecordsTable"))
        found: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while page := records.written_by(TENANT, "core:product", self.integration_id, after=after, limit=100):
            for stored in page:
                if not stored.deleted:
                    found[stored.code] = stored.record
            after = page[-1].code
        return found

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(message["Body"]) for message in self.stack.receive_all("CatalogDLQ")]

    def change_events(self) -> list[dict[str, Any]]:
        return [json.loads(message["Body"]) for message in self.stack.receive_all("TriggerQueue")]


@contextmanager
def pim_world(
    store_flavor: FlavorName | None = None, *, duplicate_rate: float = 0, shuffle: bool = False, seed: int = 5
) -> Iterator[PimWorld]:
    """A fresh stack with a PIM integration (the tenant's catalog source) and, when asked, an empty store."""
    with LocalStack(clock=SteppingClock(), retry_after_seconds=0) as stack:
        integrations = DynamoIntegrations(stack.client("dynamodb"), stack.table_name("StateTable"))
        vault = SecretsVault(stack.client("secretsmanager"))
        register_integration(
            integrations,
            vault,
            load_shipped("pim"),
            tenant_id=TENANT,
            integration_id=PIM_ID,
            credentials={"appSecret": APP_SECRET, "installationId": INSTALLATION},
            settings={"catalogSource": True},
        )
        store: Sandbox | None = None
        store_id: str | None = None
        if store_flavor is not None:
            store = Sandbox(
                store_flavor,
                seed=32,
                sizes={"orders": 0, "products": 0, "customers": 0, "carts": 0},
                rate_limit=None,
                clock=still_store_time,
            )
            origin = stack.serve_sandbox(store)
            store_id = register_integration(
                integrations,
                vault,
                load_shipped(store_flavor),
                tenant_id=TENANT,
                integration_id=f"{TENANT}-{store_flavor}",
                credentials=STORE_CREDENTIALS[store_flavor],
                settings={
                    "baseUrl": store.base_url(origin),
                    "syncProducts": True,
                    "rateLimitPerSecond": RATE_LIMIT,
                },
            ).id
        api = stack.serve_api("WebhookApi")
        config = PimConfig(
            secret=APP_SECRET,
            installation_id=INSTALLATION,
            url=f"{api}/pim/{PIM_ID}",
            duplicate_rate=duplicate_rate,
            shuffle=shuffle,
            seed=seed,
        )
        yield PimWorld(stack, SandboxPim(config), store, store_id, api)
