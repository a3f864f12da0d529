"""The shipped Crystal connector: a polled catalog source whose samples map into valid core:product."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.connector.auth import ApiKeyAuth
from mercator.connector.checklist import check
from mercator.connector.mapper import map_details_response, map_list_response
from mercator.connector.pagination import PageNumberPagination
from mercator.connector.sync import SWEEP
from mercator.domain.content_types import validate_record
from tests.unit.providers.conftest import make_client

FRONT = "https://files.crystal.example/attachments/7f3c2a9e/front.jpg"
SIDE = "https://files.crystal.example/attachments/7f3c2a9e/side.jpg"
CREDENTIALS = {"baseUrl": "https://erp.example.com/api", "apiKey": "crystal-key-0001"}

TRAIL_RUNNER = {
    "code": "7f3c2a9e-4b1d-5e8f-9a2b-3c4d5e6f7a8b",
    "sku": "CR-000123",
    "name": "Trail Runner 2",
    "description": "<p>A light trail shoe with a grippy sole.</p>",
    "shortDescription": "Light trail shoe.",
    "unitPrice": 49.5,
    "quantity": 12.0,
    "visible": True,
    "allowBackorder": False,
    "vendor": "Acme",
    "productType": "Shoes",
    # position 0 first, whatever order Crystal lists the attachments in
    "images": [FRONT, SIDE],
    "imageUrl": FRONT,
    "categories": [],
    "tags": ["Shoes", "Outdoor"],
    "createdAt": "2024-11-02T10:00:00Z",
    "updatedAt": "2024-12-01T08:30:00Z",
    "attributes": {
        "vendorId": "0b1c2d3e-4f50-5a6b-8c7d-9e0f1a2b3c4d",
        "vendorCode": "ACME",
        "itemTypeId": "5d6e7f80-9a1b-5c2d-8e3f-4a5b6c7d8e9f",
    },
}
CANVAS_TOTE = {
    "code": "a2b3c4d5-e6f7-5809-8a1b-2c3d4e5f6a7b",
    "sku": "CR-000124",
    "name": "Canvas Tote",
    "description": "<p>Heavy canvas tote bag.</p>",
    "shortDescription": "Canvas tote.",
    "unitPrice": 18.0,
    "quantity": 0.0,
    "visible": True,
    "allowBackorder": True,
    "vendor": "Desert Rose",
    "productType": "Bags",
    "images": [],
    "categories": [],
    "tags": [],
    "createdAt": "2024-11-05T12:15:00Z",
    "updatedAt": "2024-12-01T09:05:42Z",
    "attributes": {
        "vendorId": "1c2d3e4f-5061-5b7c-9d8e-0f1a2b3c4d5e",
        "vendorCode": "DESROS",
        "itemTypeId": "6e7f8091-ab2c-5d3e-9f40-5b6c7d8e9fa0",
    },
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sample(relative: str) -> Any:
    return json.loads(load_shipped("crystal").resolve(relative).read_text(encoding="utf-8"))


def test_the_shipped_definition_validates_and_passes_the_checklist() -> None:
    definition = load_shipped("crystal")

    assert check(definition) == []
    assert isinstance(definition.auth, ApiKeyAuth)
    assert definition.auth.provides() == {"baseUrl", "apiKey"}
    assert definition.sync.baseUrl == "[[baseUrl]]"
    assert definition.sync.headers["Authorization"] == "Bearer [[apiKey]]"
    assert definition.sync.store_hosts() == ["*"]


def test_crystal_is_polled_it_receives_no_webhooks_and_offers_no_triggers() -> None:
    definition = load_shipped("crystal")

    assert definition.webhook is None
    assert definition.handlers == {}
    assert definition.triggers == []
    assert definition.push is None
    assert list(definition.resources) == ["products"]


def test_the_list_sample_maps_into_the_expected_products() -> None:
    definition = load_shipped("crystal")
    resource = definition.resources["products"]

    outcome = map_list_response(definition, "products", sample(resource.samples.list or ""))

    assert outcome.failures == []
    assert outcome.content_type == "core:product"
    assert outcome.records == [TRAIL_RUNNER, CANVAS_TOTE]
    for record in outcome.records:
        assert validate_record("core:product", record) == record


def test_the_details_sample_maps_into_the_same_product_as_its_listing() -> None:
    definition = load_shipped("crystal")
    resource = definition.resources["products"]

    outcome = map_details_response(definition, "products", sample(resource.samples.details or ""))

    assert outcome.failures == []
    assert outcome.records == [TRAIL_RUNNER]
    assert resource.endpoints.details is not None
    assert resource.endpoints.details.url == "/ecom/products/{id}"


def test_images_follow_their_position_not_the_order_crystal_lists_them_in() -> None:
    definition = load_shipped("crystal")
    listed = copy.deepcopy(sample("samples/crystal/products_list.json"))
    product = listed["data"][0]
    product["images"] = [
        {"url": "https://files.crystal.example/c.jpg", "position": 2},
        {"url": "https://files.crystal.example/a.jpg", "position": 0},
        {"url": "https://files.crystal.example/b.jpg", "position": 1},
    ]

    (record, _) = map_list_response(definition, "products", listed).records

    assert record["images"] == [
        "https://files.crystal.example/a.jpg",
        "https://files.crystal.example/b.jpg",
        "https://files.crystal.example/c.jpg",
    ]
    assert record["imageUrl"] == "https://files.crystal.example/a.jpg"


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        # the cursor less the 300 s of overlap, in UTC with Z, whole seconds
        (datetime(2024, 12, 1, 8, 35, tzinfo=UTC), "2024-12-01T08:30:00Z"),
        (datetime(2024, 12, 1, 8, 35, 0, 999_999, tzinfo=UTC), "2024-12-01T08:30:00Z"),
        (datetime(2024, 12, 1, 11, 35, tzinfo=timezone(timedelta(hours=3))), "2024-12-01T08:30:00Z"),
    ],
)
def test_the_incremental_query_is_updated_since_in_utc_with_z(since: datetime, expected: str) -> None:
    resource = load_shipped("crystal").resources["products"]
    assert resource.incremental is not None

    assert resource.incremental.query(since) == {"updated_since": expected}


def test_records_are_placed_by_their_updated_at() -> None:
    resource = load_shipped("crystal").resources["products"]

    updated = resource.updated_at(sample("samples/crystal/products_list.json")["data"][1])

    assert updated == datetime(2024, 12, 1, 9, 5, 42, tzinfo=UTC)


def test_pages_are_numbered_at_most_100_long_and_the_total_is_read_from_meta() -> None:
    resource = load_shipped("crystal").resources["products"]
    pagination = resource.pagination
    listed = sample("samples/crystal/products_list.json")

    assert isinstance(pagination, PageNumberPagination)
    assert (pagination.pageParam, pagination.paramName, pagination.startPage) == ("page", "per_page", 1)
    assert (pagination.page_size(), pagination.page_size(500)) == (50, 100)
    assert pagination.totalPagesProperty == "meta.last_page"
    assert resource.responseMapping.total_in(listed) == 2
    assert resource.responseMapping.records_in(listed) == listed["data"]


def test_an_hourly_sweep_of_the_whole_listing_finds_products_unmarked_for_e_commerce() -> None:
    resource = load_shipped("crystal").resources["products"]

    assert resource.deletions is not None and resource.deletions.sweep is not None
    assert resource.deletions.feed is None
    assert resource.deletions.sweep.everySeconds == 3600
    sweep = resource.derived(SWEEP)
    assert sweep is not None
    assert sweep.endpoints.list is not None and sweep.endpoints.list.url == "/ecom/products"
    assert sweep.incremental is None
    assert sweep.code_of(sample("samples/crystal/products_list.json")["data"][0]) == TRAIL_RUNNER["code"]


@pytest.mark.anyio
async def test_an_incremental_listing_asks_the_erp_for_updated_since_page_by_page() -> None:
    definition = load_shipped("crystal")
    first = sample("samples/crystal/products_list.json")
    pages = {
        "1": {
            **first,
            "meta": {"current_page": 1, "per_page": 1, "total": 2, "last_page": 2},
            "data": first["data"][:1],
        },
        "2": {
            **first,
            "meta": {"current_page": 2, "per_page": 1, "total": 2, "last_page": 2},
            "data": first["data"][1:],
        },
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pages[dict(parse_qsl(request.url.query.decode()))["page"]])

    client = make_client(definition, handler, credentials=CREDENTIALS, page_prefetch=1)
    async with client:
        listed = [
            page
            async for page in client.pages(
                "products", since=datetime(2024, 12, 1, 8, 35, tzinfo=UTC), page_size=1
            )
        ]

    assert [len(page.records) for page in listed] == [1, 1]
    assert len(seen) == 2
    for number, request in enumerate(seen, start=1):
        url = urlsplit(str(request.url))
        assert f"{url.scheme}://{url.netloc}{url.path}" == "https://erp.example.com/api/ecom/products"
        assert dict(parse_qsl(url.query)) == {
            "page": str(number),
            "per_page": "1",
            "updated_since": "2024-12-01T08:30:00Z",
        }
        assert request.headers["Authorization"] == "Bearer crystal-key-0001"
