"""The sample API: a definition's samples answered as its store would, the listing ending after them.

Each case asks what the sync would ask of a shipped connector or the docs' example, and reads the
answer against the sample files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mercator.connector import ConnectorDefinition, load_definition, load_shipped
from mercator_local.sample_api import SampleApi, base_path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example-connector.yaml"


def _sample(definition: ConnectorDefinition, relative: str) -> Any:
    return json.loads(definition.resolve(relative).read_text())


@pytest.mark.parametrize(
    ("base_url", "path"),
    [
        ("https://api.example.com/v2", "/v2"),
        ("https://[[shopDomain]]/admin/api/2025-01", "/admin/api/2025-01"),
        ("[[storeUrl]]/wp-json/wc/v3", "/wp-json/wc/v3"),
        ("https://api.example.com", ""),
        ("https://api.example.com/[[storeId]]/v1", ""),
    ],
)
def test_the_api_answers_under_the_path_of_the_base_url(base_url: str, path: str) -> None:
    assert base_path(base_url) == path


def test_a_listing_is_the_list_sample_then_an_empty_page_and_says_it_ends() -> None:
    salla = load_shipped("salla")
    api = SampleApi(salla)
    sample = _sample(salla, "samples/salla/orders_list.json")

    status, _, first = api.answer("GET", "/admin/v2/orders", {"page": "1", "per_page": "60"})
    _, _, second = api.answer("GET", "/admin/v2/orders", {"page": "2", "per_page": "60"})

    assert status == 200
    assert first["data"] == sample["data"]
    # Whatever the sample was copied from, its paging says this is the whole listing.
    assert first["pagination"]["total"] == len(sample["data"])
    assert first["pagination"]["totalPages"] == 1
    assert second["data"] == []
    assert api.requests[("orders", "list")] == 2


def test_totals_in_headers_and_a_next_url_are_rewritten_too() -> None:
    woocommerce, zid = load_shipped("woocommerce"), load_shipped("zid")

    _, headers, body = SampleApi(woocommerce).answer(
        "GET", "/wp-json/wc/v3/products", {"orderby": "id", "order": "asc"}
    )
    _, _, page = SampleApi(zid).answer("GET", "/v1/products/", {})

    assert headers == {"X-WP-Total": str(len(body)), "X-WP-TotalPages": "1"}
    assert page["next"] is None
    assert page["results"] == _sample(zid, "samples/zid/products_list.json")["results"]


def test_the_fixed_parameters_of_an_endpoint_tell_apart_two_on_one_path() -> None:
    api = SampleApi(load_shipped("woocommerce"))

    _, _, trash = api.answer(
        "GET", "/wp-json/wc/v3/products", {"status": "trash", "orderby": "id", "order": "asc"}
    )

    assert trash == []
    assert api.requests[("products", "deletions")] == 1
    assert api.requests[("products", "list")] == 0


def test_details_keep_each_records_own_listed_values() -> None:
    example = load_definition(EXAMPLE)
    api = SampleApi(example)
    details = _sample(example, "example-samples/product_details.json")

    _, _, described = api.answer("GET", "/v2/products/101", {})
    _, _, listed = api.answer("GET", "/v2/products/102", {})
    _, _, unknown = api.answer("GET", "/v2/products/999", {})

    assert described == details
    # 102's list entry over the details sample: its own name and price, the sample's stock.
    assert listed == {
        "id": 102,
        "name": "Dates, Sukkari, 1 kg",
        "price": {"amount": 60.0, "currency": "SAR"},
        "stock": 12,
    }
    assert unknown == {**details, "id": 999}


def test_a_request_no_endpoint_answers_is_refused_and_kept() -> None:
    api = SampleApi(load_definition(EXAMPLE))

    status, _, body = api.answer("GET", "/v2/customers", {})

    assert status == 404
    assert body == {"error": "no endpoint of the definition answers GET /v2/customers"}
    assert api.unmatched == ["GET /v2/customers"]
