"""The provider client wired to the sandbox store in process, and what the tests expect of a listing.

Each flavor's shipped connector talks to a sandbox store of that flavor through
``httpx.ASGITransport``: no socket is opened. Credentials are made-up values in the platform's form,
long and distinctive so that any leak into a message or a log line is caught.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import yaml

from mercator.connector import ConnectorDefinition, load_shipped, shipped_definitions, validate_definition
from mercator.domain.rate_limits import RateLimiter
from mercator.providers.client import ProviderClient
from mercator.providers.retries import RetryPolicy, Sleep
from mercator.providers.token_bucket import TokenBucket
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from mercator_sandbox.flavors import flavor_class

FLAVORS: tuple[FlavorName, ...] = ("salla", "shopify", "woocommerce")
PAGE_NUMBER_FLAVORS: tuple[FlavorName, ...] = ("salla", "woocommerce")

# Connector resource keys whose sandbox resource has another name.
SANDBOX_RESOURCE = {"abandoned_carts": "carts"}
# Connector resources whose records are items of another resource's listed records
# (responseMapping.each): the sandbox resource their list pages through. Shopify has no list of
# fulfillments of its own; the connector lists the orders and maps each one's fulfillments.
LISTED_FROM: dict[tuple[FlavorName, str], str] = {("shopify", "shipments"): "orders"}


@dataclass(frozen=True)
class Storefront:
    """What one flavor's connector needs to reach its sandbox store."""

    credentials: dict[str, str]
    # Set when the connector's baseUrl names the platform's own host rather than the store's.
    origin: str | None = None
    secrets: tuple[str, ...] = ()

    def base_url(self, sandbox: Sandbox) -> str | None:
        return sandbox.base_url(self.origin) if self.origin else None


_WOO_KEY, _WOO_SECRET = "ck_4b1d9e2f7a6c3b58", "cs_8e3a5c7f0d2b9a41"

STOREFRONTS: dict[FlavorName, Storefront] = {
    "salla": Storefront(
        {"accessToken": "salla-at-7Qm2xV9kLp4RzT"},
        origin="http://salla.sandbox.test",
    ),
    "shopify": Storefront(
        {"accessToken": "shpat_9f8e7d6c5b4a3f2e1d", "shopDomain": "mercator-sandbox.myshopify.com"},
    ),
    "woocommerce": Storefront(
        {"consumerKey": _WOO_KEY, "consumerSecret": _WOO_SECRET, "storeUrl": "https://woo-sandbox.test"},
        # The Basic credentials as they travel in the Authorization header.
        secrets=(base64.b64encode(f"{_WOO_KEY}:{_WOO_SECRET}".encode()).decode(),),
    ),
}


def secret_values(flavor: FlavorName) -> list[str]:
    """Every value that must never appear in a message, a log line or a stored checkpoint."""
    storefront = STOREFRONTS[flavor]
    return [*storefront.credentials.values(), *storefront.secrets]


def sandbox_resource(key: str) -> str:
    return SANDBOX_RESOURCE.get(key, key)


def listed_resource(flavor: FlavorName, key: str) -> str:
    """The sandbox resource whose list the connector's resource pages through."""
    return LISTED_FROM.get((flavor, key), sandbox_resource(key))


def served_keys(flavor: FlavorName) -> list[str]:
    """Keys of the shipped connector's resources that the flavor's sandbox serves."""
    served = flavor_class(flavor).specs
    return [key for key in load_shipped(flavor).resources if listed_resource(flavor, key) in served]


def connector(
    flavor: FlavorName, *, page_size: int | None = None, timeout_ms: int | None = None
) -> ConnectorDefinition:
    """The shipped connector, or a copy with a smaller page size or timeout (nothing else changed)."""
    if page_size is None and timeout_ms is None:
        return load_shipped(flavor)
    path = next(path for path in shipped_definitions() if path.stem == flavor)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    sync = data["sync"]
    if page_size is not None:
        for resource in sync["resources"].values():
            resource["pagination"]["defaultLimit"] = page_size
    if timeout_ms is not None:
        sync["syncConfiguration"]["timeout"] = timeout_ms
    return validate_definition(data, str(path))


def fast_retries(max_attempts: int = 5) -> RetryPolicy:
    """Retries with millisecond backoffs, so a retried fault costs the suite next to nothing."""
    return RetryPolicy(max_attempts=max_attempts, base_delay=0.001, max_delay=0.01)


def make_client(
    sandbox: Sandbox,
    http: httpx.AsyncClient,
    *,
    definition: ConnectorDefinition | None = None,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    page_prefetch: int = 4,
) -> ProviderClient:
    """A client of the sandbox's flavor; a fast limiter and fast retries unless the test says otherwise."""
    flavor = sandbox.config.flavor
    storefront = STOREFRONTS[flavor]
    return ProviderClient(
        definition or connector(flavor),
        storefront.credentials,
        limiter=limiter or TokenBucket(10_000),
        http=http,
        base_url=storefront.base_url(sandbox),
        retry=retry or fast_retries(),
        page_prefetch=page_prefetch,
    )


def transport(sandbox: Sandbox) -> httpx.AsyncClient:
    """An HTTP client whose every request goes to the sandbox app in process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app))


def route(sandbox: Sandbox, resource: str, kind: str) -> tuple[str, str]:
    """The sandbox counters' key of a resource's list or details endpoint."""
    path = next(
        endpoint.path
        for endpoint in sandbox.flavor.endpoints
        if endpoint.resource == resource and endpoint.kind == kind
    )
    return ("GET", path)


def listing_order(sandbox: Sandbox, key: str, ids: Iterable[int] | None = None) -> list[int]:
    """The ids the connector's list endpoint shows, in the order the platform shows them.

    Salla lists newest first (by creation, ties by id); Shopify pages by id; the WooCommerce
    connector asks for ``orderby=id&order=asc``. For a resource listed from another (LISTED_FROM),
    ``ids`` are the listed records' (Shopify's orders) and the answer is their shipments' ids, order
    by order, each order's as the platform lists them.
    """
    flavor = sandbox.config.flavor
    resource = listed_resource(flavor, key)
    store = sandbox.store
    chosen = store.ids(resource) if ids is None else ids
    if (flavor, key) in LISTED_FROM:
        return [view["id"] for order_id in sorted(chosen) for view in sandbox.shipments(order_id)]
    if flavor == "salla":
        return sorted(chosen, key=lambda i: (store.get(resource, i).created, i), reverse=True)
    return sorted(chosen)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def listed_ids(pages: AsyncIterator[Any]) -> tuple[list[int], int]:
    """The record ids of every page in the order served, and how many pages there were."""
    ids: list[int] = []
    count = 0
    async for page in pages:
        count += 1
        ids += [int(record["id"]) for record in page.records]
    return ids, count


class FrozenClock:
    """A store clock that stands still, so record times and touches are the same on every run."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class AutoTime:
    """Fake time shared by the sandbox and the client: a sleep moves it on at once, never waits.

    ``sleeps`` keeps each sleeper's waits by name (``sleeper("retry")``), so a test can tell a
    retry's wait from the limiter's.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: dict[str, list[float]] = {}

    def clock(self) -> float:
        return self.now

    def sleeper(self, name: str) -> Sleep:
        waits = self.sleeps.setdefault(name, [])

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            self.now += max(0.0, seconds)
            await asyncio.sleep(0)

        return sleep


# An incremental listing's cursor, and the first moment each platform's filter lets through for it,
# worked out from the platform's own rule (the connector's overlap is taken off the cursor first):
# - Salla filters orders by creation day: from_date is the Riyadh date of SINCE less one day
#   (2024-12-01 22:30 UTC is 2024-12-02 01:30 in Riyadh), included from its midnight in Riyadh,
#   2024-12-02 00:00+03:00, which is 2024-12-01 21:00 UTC.
# - Salla filters shipments by creation day too, with a week's overlap (604800 s): SINCE less 7 days
#   is 2024-11-25 22:30 UTC, 2024-11-26 01:30 in Riyadh, so from_date=2024-11-26, included from
#   2024-11-26 00:00+03:00, which is 2024-11-25 21:00 UTC.
# - Shopify: updated_at_min is SINCE less 300 s, inclusive: 22:25:00 UTC (for shipments too: the
#   filter is on the orders they are listed from).
# - WooCommerce: modified_after is SINCE less 300 s in GMT, exclusive: from 22:25:01 UTC.
SINCE = datetime(2024, 12, 2, 22, 30, tzinfo=UTC)
FIRST_LISTED: dict[FlavorName, tuple[str, datetime]] = {
    "salla": ("created", datetime(2024, 12, 1, 21, 0, tzinfo=UTC)),
    "shopify": ("updated", datetime(2024, 12, 2, 22, 25, tzinfo=UTC)),
    "woocommerce": ("updated", datetime(2024, 12, 2, 22, 25, 1, tzinfo=UTC)),
}
# Resources whose filter starts elsewhere than their flavor's FIRST_LISTED.
FIRST_LISTED_OF: dict[tuple[FlavorName, str], tuple[str, datetime]] = {
    ("salla", "shipments"): ("created", datetime(2024, 11, 25, 21, 0, tzinfo=UTC)),
}


def first_listed(flavor: FlavorName, key: str) -> tuple[str, datetime]:
    """The field the platform's incremental filter reads for the resource, and its first instant."""
    return FIRST_LISTED_OF.get((flavor, key), FIRST_LISTED[flavor])


def selected_since(sandbox: Sandbox, key: str) -> frozenset[int]:
    """The live ids the platform's incremental filter selects for SINCE, read from the store's state
    (for a resource listed from another, the listed records' ids: see listing_order)."""
    flavor = sandbox.config.flavor
    field_name, first = first_listed(flavor, key)
    resource = listed_resource(flavor, key)
    store = sandbox.store
    return frozenset(
        i for i in store.ids(resource) if store.get(resource, i).value(field_name) >= epoch(first)
    )
