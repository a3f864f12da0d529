"""CatalogPush's service against a scripted store: exactly one product per source product, nothing sent
for unchanged ones, refusals dead-lettered while page-mates go on, runs that checkpoint and continue."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from mercator.connector import ConnectorDefinition
from mercator.domain.entities import Integration, PushedProduct, PushRun, StoredRecord
from mercator.domain.messages import ChangeEvent, PushJob
from mercator.domain.pages import ClientStats
from mercator.domain.provider_errors import ProviderHTTPError, ProviderTimeoutError
from mercator.services.catalog_push import (
    CatalogPushService,
    PushBusyError,
    PushConfigurationError,
)
from mercator.services.push_echoes import PushEchoes
from tests.unit.services.fakes import FakeClock, FakeIntegrations, FakeQueue, FakeVault
from tests.unit.services.support import tweaked_connector

TENANT = "acme"
STORE_UPDATED = "2025-01-01T06:00:00"  # the fake store's time, UTC without a zone as WooCommerce writes it

PUSH = {
    "products": {
        "key": "sku",
        "find": {"endpoint": {"url": "/products", "params": {"sku": "{key}"}}, "match": "sku"},
        "create": {
            "endpoint": {"method": "POST", "url": "/products"},
            "body": {
                "name": "name",
                "sku": "store.key",
                "regular_price": {"path": "unitPrice", "transform": "toString"},
                "status": {
                    "path": "visible",
                    "transform": "compute",
                    "fn": "lookup",
                    "args": {"table": {"false": "draft", "true": "publish"}},
                    "default": "publish",
                },
            },
        },
        "update": {
            "endpoint": {"method": "PUT", "url": "/products/{id}"},
            "body": {
                "name": "name",
                "regular_price": {"path": "unitPrice", "transform": "toString"},
                "status": {
                    "path": "visible",
                    "transform": "compute",
                    "fn": "lookup",
                    "args": {"table": {"false": "draft", "true": "publish"}},
                    "default": "publish",
                },
            },
        },
        "ids": {"id": "id"},
        "refusal": "data.params",
    }
}


def definition() -> ConnectorDefinition:
    def add_push(document: dict[str, Any]) -> None:
        document["push"] = PUSH

    return tweaked_connector("woocommerce", add_push)


class FakeStoreSession:
    """A store's product API in memory, with its faults: answers lost after the write landed, field
    refusals, a product deleted behind Mercator's back."""

    def __init__(self) -> None:
        self.products: dict[int, dict[str, Any]] = {}
        self.next_id = 501
        self.stats = ClientStats()
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.lose_create_answers = 0
        self.refuse_names: set[str] = set()

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any],
        body: Any = None,
        once: bool = False,
        where: str = "push",
    ) -> Any:
        self.stats.requests += 1
        self.calls.append((method, url, dict(params), body))
        if method == "GET" and url == "/products":
            return [p for p in self.products.values() if p["sku"] == params.get("sku")]
        if body is not None and body.get("name") in self.refuse_names:
            answer = {"code": "rest_invalid_param", "data": {"status": 400, "params": {"name": "is refused"}}}
            raise ProviderHTTPError(400, method, url, json.dumps(answer), answer=answer)
        if method == "POST" and url == "/products":
            product = {"id": self.next_id, **body, "date_modified_gmt": STORE_UPDATED}
            self.products[self.next_id] = product
            self.next_id += 1
            if self.lose_create_answers:
                self.lose_create_answers -= 1
                raise ProviderTimeoutError(method, url, 10.0)
            return dict(product)
        if method == "PUT" and url.startswith("/products/"):
            product_id = int(url.rsplit("/", 1)[1])
            if product_id not in self.products:
                raise ProviderHTTPError(404, method, url, "not found")
            self.products[product_id] |= body
            return dict(self.products[product_id])
        raise AssertionError(f"unexpected call {method} {url}")

    async def details(self, resource_key: str, record_id: str | int) -> dict[str, Any]:
        return dict(self.products[int(record_id)])

    async def aclose(self) -> None:
        return None

    def writes(self) -> list[tuple[str, str]]:
        return [(method, url) for method, url, _, _ in self.calls if method != "GET"]


class FakeSessions:
    def __init__(self, session: FakeStoreSession) -> None:
        self.session = session

    def open(self, definition: ConnectorDefinition, integration: Integration, credentials: Any) -> Any:
        return self.session


class FakeLedger:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], PushedProduct] = {}
        self.echoes: dict[tuple[str, str], datetime | None] = {}
        self.runs: dict[str, PushRun] = {}
        self.finished: list[PushRun] = []
        self.fail_saves_after_create = 0

    def between(self, integration_id: str, first: str, last: str) -> dict[str, PushedProduct]:
        return {
            code: entry
            for (owner, code), entry in self.entries.items()
            if owner == integration_id and first <= code <= last
        }

    def get(self, integration_id: str, source_code: str) -> PushedProduct | None:
        return self.entries.get((integration_id, source_code))

    def save(self, entry: PushedProduct) -> None:
        if entry.state == "pushed" and self.fail_saves_after_create:
            self.fail_saves_after_create -= 1
            raise RuntimeError("the state table is unreachable")
        self.entries[(entry.integration_id, entry.source_code)] = entry

    def save_echo(
        self, integration_id: str, provider_id: str, source_code: str, store_updated_at: datetime | None
    ) -> None:
        self.echoes[(integration_id, provider_id)] = store_updated_at

    def echo_until(self, integration_id: str, provider_id: str) -> datetime | None:
        return self.echoes.get((integration_id, provider_id))

    def run(self, integration_id: str) -> PushRun | None:
        return self.runs.get(integration_id)

    def new_run(self, run_id: str, started_at: datetime) -> PushRun:
        return PushRun(run_id, None, started_at)

    def save_run(self, integration_id: str, run: PushRun) -> None:
        self.runs[integration_id] = PushRun(
            run.run_id, run.after, run.started_at, run.stats, run.continuation
        )

    def finish_run(self, integration_id: str, run: PushRun) -> None:
        self.runs.pop(integration_id, None)
        self.finished.append(run)


class FakeCatalog:
    def __init__(self) -> None:
        self.records: dict[str, StoredRecord] = {}

    def put(self, code: str, *, deleted: bool = False, **fields: Any) -> None:
        record = {"code": code, "name": f"Product {code}", "sku": f"SKU-{code}", "unitPrice": 10.5} | fields
        self.records[code] = StoredRecord(
            tenant_id=TENANT,
            content_type="core:product",
            code=code,
            record=record,
            content_hash=json.dumps(record, sort_keys=True),
            integration_id="acme-crystal",
            version=1,
            deleted=deleted,
        )

    def written_by(
        self, tenant_id: str, content_type: str, integration_id: str, *, after: str | None, limit: int
    ) -> list[StoredRecord]:
        codes = sorted(code for code in self.records if after is None or code > after)
        return [self.records[code] for code in codes[:limit]]


@dataclass
class FakeLocks:
    held: dict[str, str] = field(default_factory=dict)

    def acquire(self, name: str, owner: str, lease_seconds: float) -> bool:
        if self.held.get(name, owner) != owner:
            return False
        self.held[name] = owner
        return True

    def release(self, name: str, owner: str) -> bool:
        return self.held.pop(name, None) == owner


def integration(integration_id: str, connector: str, **settings: Any) -> Integration:
    return Integration(
        id=integration_id,
        tenant_id=TENANT,
        connector=connector,
        settings=settings,
        credentials_arn=f"arn:{integration_id}",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


class Connectors:
    def __init__(self, definitions: Iterable[ConnectorDefinition]) -> None:
        self.definitions = {d.name: d for d in definitions}

    def get(self, name: str) -> ConnectorDefinition:
        return self.definitions[name]


@dataclass
class World:
    store: FakeStoreSession = field(default_factory=FakeStoreSession)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    locks: FakeLocks = field(default_factory=FakeLocks)
    push_jobs: FakeQueue = field(default_factory=lambda: FakeQueue("PushJobs"))
    dead_letters: FakeQueue = field(default_factory=lambda: FakeQueue("PushDLQ"))
    integrations: FakeIntegrations = field(
        default_factory=lambda: FakeIntegrations(
            integration("acme-woo", "woocommerce", syncProducts=True),
            integration("acme-crystal", "woocommerce", catalogSource=True),
        )
    )

    def service(self, **options: Any) -> CatalogPushService:
        vault = FakeVault({f"arn:{i}": {"consumerKey": "k"} for i in self.integrations.items})
        return CatalogPushService(
            integrations=self.integrations,
            vault=vault,
            connectors=Connectors([definition()]),
            sessions=FakeSessions(self.store),
            records=self.catalog,
            ledger=self.ledger,
            locks=self.locks,
            push_jobs=self.push_jobs,
            dead_letters=self.dead_letters,
            clock=FakeClock(),
            **options,
        )

    async def push(self, **options: Any) -> Any:
        return await self.service(**options).run_push_job(PushJob(integration_id="acme-woo"), lambda: 300.0)


def plenty() -> float:
    return 300.0


@pytest.mark.anyio
async def test_a_first_push_creates_each_product_once_after_looking_it_up() -> None:
    # Given a catalog of three products and an empty store
    world = World()
    for code in ("p1", "p2", "p3"):
        world.catalog.put(code)

    # When the store is pushed
    outcome = await world.push()

    # Then each product was looked up by its SKU, then created once, with the block's body
    assert outcome.status == "finished"
    assert (outcome.stats.created, outcome.stats.updated, outcome.stats.unchanged) == (3, 0, 0)
    assert outcome.stats.requests == 6
    assert world.store.writes() == [("POST", "/products")] * 3
    assert sorted(p["sku"] for p in world.store.products.values()) == ["SKU-p1", "SKU-p2", "SKU-p3"]
    created = world.store.calls[1]
    assert created[3] == {"name": "Product p1", "sku": "SKU-p1", "regular_price": "10.5", "status": "publish"}
    # And the ledger holds each store id, the echo its store time
    entry = world.ledger.get("acme-woo", "p1")
    assert entry is not None
    assert (entry.provider_id, entry.state, entry.key) == ("501", "pushed", "SKU-p1")
    assert world.ledger.echo_until("acme-woo", "501") == datetime(2025, 1, 1, 6, 0, tzinfo=UTC)


@pytest.mark.anyio
async def test_a_second_push_sends_nothing_for_unchanged_products_and_updates_the_edited_one() -> None:
    # Given a pushed catalog of three, one of which is then edited at the source
    world = World()
    for code in ("p1", "p2", "p3"):
        world.catalog.put(code)
    await world.push()
    world.catalog.put("p2", unitPrice=12.0)
    calls = len(world.store.calls)

    # When the store is pushed again
    outcome = await world.push()

    # Then one request went out: the update of p2 by its store id
    assert world.store.calls[calls:] == [
        ("PUT", "/products/502", {}, {"name": "Product p2", "regular_price": "12", "status": "publish"})
    ]
    assert (outcome.stats.updated, outcome.stats.unchanged, outcome.stats.requests) == (1, 2, 1)


@pytest.mark.anyio
async def test_a_create_whose_answer_was_lost_is_found_instead_of_created_again() -> None:
    # Given a store that takes a create but whose answer never arrives
    world = World()
    world.catalog.put("p1")
    world.store.lose_create_answers = 1

    # When the product is pushed
    outcome = await world.push()

    # Then the push looked again, found the product it had created, and created no second one
    assert len(world.store.products) == 1
    assert world.store.writes() == [("POST", "/products"), ("PUT", "/products/501")]
    assert (outcome.stats.created, outcome.stats.updated) == (0, 1)
    entry = world.ledger.get("acme-woo", "p1")
    assert entry is not None and entry.provider_id == "501"


@pytest.mark.anyio
async def test_a_crash_between_the_create_and_the_ledger_write_does_not_duplicate_on_retry() -> None:
    # Given a push that crashes after the store created the product, before the ledger knew its id
    world = World()
    world.catalog.put("p1")
    world.ledger.fail_saves_after_create = 1
    with pytest.raises(RuntimeError):
        await world.push()
    creating = world.ledger.get("acme-woo", "p1")
    assert creating is not None and creating.state == "creating"

    # When the job is delivered again
    await world.push()

    # Then the product was found by its SKU and updated: still one product in the store
    assert len(world.store.products) == 1
    assert world.store.writes() == [("POST", "/products"), ("PUT", "/products/501")]


@pytest.mark.anyio
async def test_a_refused_product_is_dead_lettered_with_the_stores_reasons_and_its_page_mates_go_on() -> None:
    # Given three products, the store refusing the second's name
    world = World()
    for code in ("p1", "p2", "p3"):
        world.catalog.put(code)
    world.store.refuse_names = {"Product p2"}

    # When the store is pushed
    outcome = await world.push()

    # Then p1 and p3 are in the store, and p2 is in the DLQ with the store's field errors
    assert sorted(p["sku"] for p in world.store.products.values()) == ["SKU-p1", "SKU-p3"]
    assert (outcome.stats.created, outcome.stats.refused) == (2, 1)
    (letter,) = world.dead_letters.documents()
    assert letter["detail"] == {"source_code": "p2", "key": "SKU-p2", "store": {"name": "is refused"}}
    assert letter["resource"] == "products:push"
    assert "400" in letter["reason"]

    # And it is not tried again before it changes
    calls = len(world.store.calls)
    await world.push()
    assert world.store.calls[calls:] == []
    world.store.refuse_names = set()
    world.catalog.put("p2", name="Product p2 renamed")
    again = await world.push()
    assert again.stats.created == 1


@pytest.mark.anyio
async def test_a_product_the_source_no_longer_offers_is_unpublished_not_deleted() -> None:
    # Given a pushed product that the source then stops offering (a tombstone)
    world = World()
    world.catalog.put("p1")
    await world.push()
    world.catalog.put("p1", deleted=True)

    # When the store is pushed
    outcome = await world.push()

    # Then the product was updated as a draft, and is still in the store
    assert world.store.products[501]["status"] == "draft"
    assert outcome.stats.unpublished == 1
    # And a tombstone never pushed costs nothing
    world.catalog.put("p9", deleted=True)
    calls = len(world.store.calls)
    await world.push()
    assert world.store.calls[calls:] == []


@pytest.mark.anyio
async def test_a_product_deleted_in_the_store_is_created_again() -> None:
    world = World()
    world.catalog.put("p1")
    await world.push()
    world.store.products.clear()
    world.catalog.put("p1", unitPrice=11.0)

    await world.push()

    assert [p["regular_price"] for p in world.store.products.values()] == ["11"]


@pytest.mark.anyio
async def test_a_product_without_a_key_is_dead_lettered_once() -> None:
    world = World()
    world.catalog.put("p1", sku=None)

    await world.push()
    await world.push()

    assert world.store.calls == []
    (letter,) = world.dead_letters.documents()
    assert "no key" in letter["reason"]


@pytest.mark.anyio
async def test_a_run_near_its_deadline_checkpoints_and_continues_from_the_next_page() -> None:
    # Given 60 products (two pages of 50) and an invocation with too little time left after a page
    world = World()
    for index in range(60):
        world.catalog.put(f"p{index:02d}")
    service = world.service(deadline_margin_seconds=30)

    # When the job runs with 10 s left
    outcome = await service.run_push_job(PushJob(integration_id="acme-woo"), lambda: 10.0)

    # Then it pushed the first page and sent its continuation
    assert outcome.status == "continued"
    assert outcome.stats.created == 50
    (body,) = world.push_jobs.take()
    job = PushJob.parse(body)
    assert (job.after, job.run_id, job.continuation) == ("p49", outcome.run_id, 1)

    # When the continuation runs, it pushes the rest and finishes the same run
    done = await service.run_push_job(job, plenty)
    assert done.status == "finished"
    assert done.run_id == outcome.run_id
    assert done.stats.created == 60
    assert len(world.store.products) == 60


@pytest.mark.anyio
async def test_a_second_push_of_the_same_store_waits_for_the_first() -> None:
    world = World()
    world.catalog.put("p1")
    world.locks.held["push#acme-woo"] = "another-invocation"

    with pytest.raises(PushBusyError):
        await world.push()
    assert world.store.calls == []


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"syncProducts": False}, "syncProducts"),
        ({"syncProducts": "yes"}, "syncProducts"),
    ],
)
@pytest.mark.anyio
async def test_a_store_that_does_not_receive_products_is_refused(
    settings: dict[str, Any], problem: str
) -> None:
    world = World()
    world.integrations.put(integration("acme-woo", "woocommerce", **settings))
    with pytest.raises(PushConfigurationError, match=problem):
        await world.push()


@pytest.mark.anyio
async def test_a_tenant_without_a_catalog_source_is_refused() -> None:
    world = World()
    world.integrations.put(integration("acme-crystal", "woocommerce", syncProducts=False))
    with pytest.raises(PushConfigurationError, match="catalog source"):
        await world.push()


def test_the_fan_out_sends_one_job_per_store_that_receives_products() -> None:
    world = World()
    world.integrations.put(integration("acme-woo-2", "woocommerce", syncProducts=True))
    world.integrations.put(integration("acme-woo-3", "woocommerce", syncProducts=False))
    other = integration("other-woo", "woocommerce", syncProducts=True).model_copy(
        update={"tenant_id": "other"}
    )
    world.integrations.put(other)  # a tenant without a catalog source

    assert world.service().fan_out() == 2
    assert sorted(PushJob.parse(body).integration_id for body in world.push_jobs.take()) == [
        "acme-woo",
        "acme-woo-2",
    ]


def test_the_plan_says_what_a_push_would_do_without_a_request() -> None:
    world = World()
    for code in ("p1", "p2", "p3"):
        world.catalog.put(code)
    world.ledger.save(
        PushedProduct(
            integration_id="acme-woo", source_code="p2", key="SKU-p2", provider_id="9", pushed_hash="old"
        )
    )
    world.catalog.put("p4", sku="")

    plan = world.service().plan("acme-woo")

    assert [(p.source_code, p.action) for p in plan] == [
        ("p1", "create"),
        ("p2", "update"),
        ("p3", "create"),
        ("p4", "refuse"),
    ]
    assert world.store.calls == []


def change(
    code: str, updated_at: str, *, change: str = "updated", content_type: str = "core:product"
) -> ChangeEvent:
    return ChangeEvent(
        change=change,  # type: ignore[arg-type]
        integration_id="acme-woo",
        tenant_id=TENANT,
        connector="woocommerce",
        content_type=content_type,
        code=code,
        record={"code": code, "name": "x", "updatedAt": updated_at},
        content_hash="h",
        source="webhook",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def test_a_stores_product_as_mercator_wrote_it_is_an_echo_and_a_later_edit_is_not() -> None:
    ledger = FakeLedger()
    ledger.save_echo("acme-woo", "501", "p1", datetime(2025, 1, 1, 6, 0, tzinfo=UTC))
    echoes = PushEchoes(ledger)

    assert echoes.is_echo(change("501", "2025-01-01T06:00:00+00:00"))
    assert echoes.is_echo(change("501", "2025-01-01T05:59:00+00:00"))
    assert not echoes.is_echo(change("501", "2025-01-01T06:00:01+00:00"))  # the merchant edited it since
    assert not echoes.is_echo(change("502", "2025-01-01T06:00:00+00:00"))  # never written by Mercator
    assert not echoes.is_echo(change("501", "2025-01-01T06:00:00+00:00", change="deleted"))
    assert not echoes.is_echo(change("501", "2025-01-01T06:00:00+00:00", content_type="ecommerce:orders"))
