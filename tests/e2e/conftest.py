"""Fixtures: the local stack on a clock the tests drive, and small sandbox stores registered on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mercator_local import LocalStack
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from tests.e2e.support import SteppingClock, Storefront, open_storefront, still_store_time

# Tens of records per resource; with four to a page (Salla, Shopify) each listing takes a few pages.
# WooCommerce answers a per_page over its cap with a 400 and the connector asks for 100, so its pages
# hold 100 records.
SIZES = {"orders": 14, "products": 11, "customers": 9, "carts": 6}
PAGE_CAP: dict[FlavorName, int | None] = {"salla": 4, "shopify": 4, "woocommerce": None}

OpenStore = Callable[..., Storefront]


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def stack(clock: SteppingClock) -> Iterator[LocalStack]:
    with LocalStack(clock=clock, retry_after_seconds=0) as running:
        yield running


@pytest.fixture
def open_store(stack: LocalStack) -> OpenStore:
    """``open_store(flavor, sizes=...)``: a sandbox store of that flavor, served, an integration on it."""

    def open_one(flavor: FlavorName, *, sizes: dict[str, int] | None = None) -> Storefront:
        sandbox = Sandbox(
            flavor,
            seed=11,
            sizes=sizes or SIZES,
            rate_limit=None,
            max_per_page=PAGE_CAP[flavor],
            clock=still_store_time,
        )
        return open_storefront(stack, sandbox)

    return open_one
