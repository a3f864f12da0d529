"""The services wired to fakes of the ports and to a sandbox store in process.

Provider calls go through the real ProviderSessionFactory: each session's HTTP client talks to the
sandbox over ``httpx.ASGITransport`` and its shared rate bucket lives in an in-memory table whose
clock only moves when the bucket sleeps, so pacing at the connector's rate costs no real time.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from botocore.exceptions import ClientError

from mercator.connector import ConnectorDefinition, shipped_definitions, validate_definition
from mercator.domain.entities import Integration
from mercator.domain.messages import SyncJob
from mercator.domain.pages import ClientStats, DetailResult, Page
from mercator.services.connectors import ConnectorCatalog
from mercator.services.enrich import EnrichmentService
from mercator.services.ports import ProviderSession, ProviderSessions
from mercator.services.sync_runs import SyncService
from mercator.services.writer import RecordWriter
from mercator.wiring.sessions import HttpFactory, ProviderSessionFactory
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from tests.integration.providers.support import STOREFRONTS, AutoTime, FrozenClock, fast_retries
from tests.sandbox_egress import SANDBOX_EGRESS
from tests.unit.services.fakes import (
    FakeClock,
    FakeCursors,
    FakeIntegrations,
    FakeQueue,
    FakeRecords,
    FakeRunLog,
    FakeTracking,
    FakeVault,
)

TENANT = "tenant-7"
STATE_TABLE = "mercator-state"
CREATED = datetime(2024, 11, 1, tzinfo=UTC)


def secret_arn(integration_id: str) -> str:
    return (
        f"arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/{TENANT}/{integration_id}-Ab12Cd"
    )


def make_integration(
    flavor: FlavorName | str,
    sandbox: Sandbox | None = None,
    *,
    integration_id: str | None = None,
    status: str = "active",
    resources: list[str] | None = None,
) -> Integration:
    """An integration of ``flavor``'s connector; with a sandbox, its base URL points there."""
    identifier = integration_id or f"{flavor}-store"
    settings: dict[str, Any] = {}
    storefront = dict(STOREFRONTS).get(str(flavor))
    if sandbox is not None and storefront is not None and storefront.origin:
        settings["baseUrl"] = storefront.base_url(sandbox)
    return Integration.model_validate(
        {
            "id": identifier,
            "tenant_id": TENANT,
            "connector": flavor,
            "status": status,
            "settings": settings,
            "resources": resources,
            "credentials_arn": secret_arn(identifier),
            "created_at": CREATED,
        }
    )


def tweaked_connector(name: str, change: Callable[[dict[str, Any]], None]) -> ConnectorDefinition:
    """A shipped connector with ``change`` applied to its document (samples stay resolvable)."""
    path: Path = next(path for path in shipped_definitions() if path.stem == name)
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    definition = validate_definition(document, str(path))
    definition._source = path.resolve()
    return definition


def page_size(size: int) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        for resource in document["sync"]["resources"].values():
            resource["pagination"]["defaultLimit"] = size

    return change


def batch_size(size: int) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["sync"]["syncConfiguration"]["batchSize"] = size

    return change


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        for one in changes:
            one(document)

    return change


class BucketTable:
    """The rate-bucket item operations of a DynamoDB client, in memory, with their two conditions."""

    class exceptions:  # noqa: N801 - boto3's attribute name
        ClientError = ClientError

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()  # the bucket calls from worker threads

    def get_item(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            item = self.items.get(self._key(request["Key"]))
            return {"Item": dict(item)} if item is not None else {}

    def put_item(self, **request: Any) -> dict[str, Any]:
        item = request["Item"]
        key = self._key(item)
        with self._lock:
            stored = self.items.get(key)
            condition = request.get("ConditionExpression", "")
            if condition.startswith("attribute_not_exists"):
                allowed = stored is None
            elif condition:
                expected = request["ExpressionAttributeValues"][":version"]["N"]
                allowed = stored is not None and stored["version"]["N"] == expected
            else:
                allowed = True
            if not allowed:
                raise ClientError(
                    {"Error": {"Code": "ConditionalCheckFailedException", "Message": "condition"}}, "PutItem"
                )
            self.items[key] = dict(item)
        return {}

    @staticmethod
    def _key(key: dict[str, Any]) -> tuple[str, str]:
        return (key["pk"]["S"], key["sk"]["S"])


def sandbox_http(sandbox: Sandbox) -> HttpFactory:
    return lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app))


@dataclass
class World:
    """Every port a service needs, as fakes, around one sandbox store (or another transport)."""

    http: HttpFactory
    integrations: FakeIntegrations
    connectors: ConnectorCatalog
    clock: FakeClock = field(default_factory=FakeClock)
    time: AutoTime = field(default_factory=AutoTime)
    tracking: FakeTracking = field(default_factory=FakeTracking)
    records: FakeRecords = field(default_factory=FakeRecords)
    run_log: FakeRunLog = field(default_factory=FakeRunLog)
    triggers: FakeQueue = field(default_factory=lambda: FakeQueue("trigger"))
    sync_jobs: FakeQueue = field(default_factory=lambda: FakeQueue("sync-jobs"))
    enrich: FakeQueue = field(default_factory=lambda: FakeQueue("enrich"))
    dead_letters: FakeQueue = field(default_factory=lambda: FakeQueue("enrich-dlq"))
    bucket_table: BucketTable = field(default_factory=BucketTable)
    page_prefetch: int = 4

    def __post_init__(self) -> None:
        self.cursors = FakeCursors(self.clock)
        self.vault = FakeVault(
            {
                integration.credentials_arn: dict(STOREFRONTS)[integration.connector].credentials
                for integration in self.integrations.items.values()
                if integration.connector in STOREFRONTS
            }
        )
        self.sessions: ProviderSessions = ProviderSessionFactory(
            self.bucket_table,
            STATE_TABLE,
            http_factory=self.http,
            retry_factory=fast_retries,
            clock=self.time.clock,
            sleep=self.time.sleeper("bucket"),
            page_prefetch=self.page_prefetch,
            egress=SANDBOX_EGRESS,
        )
        self.writer = RecordWriter(self.records, self.tracking, self.triggers, clock=self.clock)

    def sync_service(self, *, margin: float = 30.0) -> SyncService:
        return SyncService(
            integrations=self.integrations,
            vault=self.vault,
            connectors=self.connectors,
            sessions=self.sessions,
            cursors=self.cursors,
            run_log=self.run_log,
            writer=self.writer,
            sync_jobs=self.sync_jobs,
            enrich=self.enrich,
            dead_letters=self.dead_letters,
            deadline_margin_seconds=margin,
            clock=self.clock,
        )

    def enrichment_service(self) -> EnrichmentService:
        return EnrichmentService(
            integrations=self.integrations,
            vault=self.vault,
            connectors=self.connectors,
            sessions=self.sessions,
            writer=self.writer,
            run_log=self.run_log,
            dead_letters=self.dead_letters,
            clock=self.clock,
        )


def world(
    sandbox: Sandbox,
    *integrations: Integration,
    definitions: Iterable[ConnectorDefinition] = (),
    page_prefetch: int = 4,
) -> World:
    return World(
        http=sandbox_http(sandbox),
        integrations=FakeIntegrations(*integrations),
        connectors=ConnectorCatalog({definition.name: definition for definition in definitions}),
        page_prefetch=page_prefetch,
    )


def woo_products_world(
    sandbox: Sandbox, page: int, *, page_prefetch: int = 4
) -> tuple[World, Integration, SyncJob]:
    """A WooCommerce integration on ``sandbox`` listing products ``page`` at a time, and its job."""
    integration = make_integration("woocommerce", sandbox)
    definition = tweaked_connector("woocommerce", page_size(page))
    built = world(sandbox, integration, definitions=[definition], page_prefetch=page_prefetch)
    return built, integration, new_job(integration, "products")


def woo_products_store(products: int, seed: int) -> Sandbox:
    """A WooCommerce store of ``products`` products (no orders or customers) on frozen time."""
    sizes = {"products": products, "orders": 0, "customers": 0}
    return Sandbox("woocommerce", seed=seed, sizes=sizes, rate_limit=None, clock=FrozenClock())


def plenty() -> float:
    """A deadline that never nears: ten minutes left, always."""
    return 600.0


def deadlines(*seconds: float) -> Callable[[], float]:
    """A deadline that answers ``seconds`` in turn, then plenty."""
    answers: Iterator[float] = iter(seconds)
    return lambda: next(answers, 600.0)


def new_job(integration: Integration, resource: str) -> SyncJob:
    return SyncJob(integration_id=integration.id, resource=resource)


def epoch_utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class ChangingSessions:
    """Sessions whose listings let ``change`` alter the store after the consumer is done with a page.

    ``pages``: how many pages (counted over every listing of every session, after the first
    ``skip``) are followed by a change; the store changes before the next page is asked for, as a
    merchant's edit would.
    """

    def __init__(
        self, inner: ProviderSessions, change: Callable[[], None], *, pages: int = 1, skip: int = 0
    ) -> None:
        self.inner = inner
        self.change = change
        self.left = pages
        self.skip = skip

    def open(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> _ChangingSession:
        return _ChangingSession(self.inner.open(definition, integration, credentials), self)


class _ChangingSession:
    def __init__(self, inner: ProviderSession, owner: ChangingSessions) -> None:
        self.inner = inner
        self.owner = owner

    @property
    def stats(self) -> ClientStats:
        return self.inner.stats

    async def pages(self, resource_key: str, **options: Any) -> AsyncIterator[Page]:
        pages = self.inner.pages(resource_key, **options)
        try:
            async for page in pages:
                yield page
                if self.owner.skip > 0:
                    self.owner.skip -= 1
                elif self.owner.left > 0:
                    self.owner.left -= 1
                    self.owner.change()
        finally:
            await pages.aclose()  # type: ignore[attr-defined]  # the client's pages are a generator

    def details_many(
        self, resource_key: str, ids: Iterable[str], **options: Any
    ) -> AsyncIterator[DetailResult]:
        return self.inner.details_many(resource_key, ids, **options)

    async def aclose(self) -> None:
        await self.inner.aclose()
