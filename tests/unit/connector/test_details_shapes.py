"""Details endpoints that answer a list (``matchBy``), sub-resources merged into a record's details,
and resources with no list endpoint: what a definition may say, what it is refused, and what the
checklist asks of their samples."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mercator.connector import DefinitionError, load_definition, validate_definition
from mercator.connector.checklist import Finding, check
from mercator.connector.endpoints import DetailsEndpoint
from tests.unit.connector.conftest import ConnectorWriter, definition_doc

Doc = dict[str, Any]
PRODUCTS = "sync.resources.products"
CARTS = "sync.resources.carts"

CART_DELIVERY = {"event": "cart.updated", "data": {"id": 55}}
CART_DETAILS = {"data": [{"cart_id": 55, "total": "19.00", "currency": "sar"}]}


def with_cart_resource(doc: Doc) -> None:
    """Add a carts resource with no list endpoint, fetched through the cart.updated webhook."""
    doc["sync"]["resources"]["carts"] = {
        "name": "carts",
        "displayName": "Carts",
        "contentType": "ecommerce:carts",
        "endpoints": {
            "details": {
                "url": "/carts",
                "params": {"ids": "{id}"},
                "dataProperty": "data",
                "matchBy": "cart_id",
            }
        },
        "apiMapping": {
            "code": {"path": "cart_id", "transform": "toString"},
            "totalAmount": {"path": "total", "transform": "toNumberOrNull"},
            "currency": {"path": "currency", "transform": "uppercase"},
        },
        "samples": {"details": "samples/cart_details.json"},
    }
    doc["sync"]["webhooks"]["handlers"]["cart.updated"] = {
        "recordType": "cart",
        "operation": "upsert",
        "enrich": {"resource": "carts", "idPath": "data.id"},
        "samples": ["samples/cart_updated.json"],
    }
    doc["triggers"].append({"event": "cart.updated", "entityType": "Cart"})


def with_categories(doc: Doc) -> None:
    """Give products a sub-resource: its categories, from /products/{id}/categories."""
    products = doc["sync"]["resources"]["products"]
    products["subResources"] = {
        "categories": {
            "url": "/products/{id}/categories",
            "params": {"per_page": 100},
            "dataProperty": "data",
        }
    }
    # The list sample maps too, and listed products carry no categories: hence the default.
    products["apiMapping"]["categories"] = {"path": "categories", "default": []}
    products["samples"]["subResources"] = {"categories": "samples/product_categories.json"}


def changed(*changes: Callable[[Doc], None]) -> Doc:
    doc = copy.deepcopy(definition_doc())
    for change in changes:
        change(doc)
    return doc


def refusal(doc: Doc) -> tuple[str, str]:
    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")
    problem = caught.value.problems[0]
    return problem.path, problem.message


# What may be said


def test_a_list_shaped_details_endpoint_picks_the_item_whose_match_by_is_the_id() -> None:
    # Given a details endpoint answering {"data": [...]} for GET /carts?ids={id}
    definition = validate_definition(changed(with_cart_resource), "demo.yaml")
    details = definition.resources["carts"].endpoints.details
    assert isinstance(details, DetailsEndpoint)
    body = {"data": [{"cart_id": 54, "total": 1}, {"cart_id": 55, "total": 2}, {"cart_id": "55", "total": 3}]}

    # When the record of id "55" is looked for
    records = details.records_in(body)
    assert records is not None

    # Then the first item whose cart_id reads "55" is the record; an id no item has finds none
    assert details.match(records, "55") == {"cart_id": 55, "total": 2}
    assert details.match(records, "56") is None
    # And an answer with no list where dataProperty points has no records at all
    assert details.records_in({"data": {"cart_id": 55}}) is None


def test_a_resource_without_a_list_endpoint_is_declared_and_never_listed() -> None:
    definition = validate_definition(changed(with_cart_resource), "demo.yaml")

    carts = definition.resources["carts"]
    assert carts.endpoints.list is None
    assert not carts.listed
    assert definition.resources["products"].listed


def test_sub_resources_are_declared_and_each_costs_one_more_request_per_record() -> None:
    definition = validate_definition(changed(with_categories), "demo.yaml")

    products = definition.resources["products"]
    assert list(products.subResources) == ["categories"]
    assert products.subResources["categories"].value_in({"data": ["Mugs"]}) == ["Mugs"]
    assert products.requests_per_record == 2
    assert definition.resources["products"].samples.subResources == {
        "categories": "samples/product_categories.json"
    }


# What is refused, at its place, with the choices


def _set(path: list[str], value: Any) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


def _drop(path: list[str]) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return apply


P = ["sync", "resources", "products"]
C = ["sync", "resources", "carts"]

REFUSALS: list[tuple[str, list[Callable[[Doc], None]], str, str]] = [
    (
        "matchBy that is no path",
        [with_cart_resource, _set([*C, "endpoints", "details", "matchBy"], "cart..id")],
        f"{CARTS}.endpoints.details.matchBy",
        "'cart..id' is not a dot path (fields and [n] indexes); start it with '$' to use JSONPath",
    ),
    (
        "incremental on a resource without a list",
        [with_cart_resource, _set([*C, "incremental"], {"param": "since", "recordUpdatedAt": "updated_at"})],
        f"{CARTS}.incremental",
        "incremental applies to endpoints.list, which this resource does not have (its records come "
        "only from webhooks that enrich from endpoints.details); remove it",
    ),
    (
        "a list sample on a resource without a list",
        [with_cart_resource, _set([*C, "samples", "list"], "samples/carts.json")],
        f"{CARTS}.samples.list",
        "this resource has no endpoints.list, so there is no list response to sample; give samples.details",
    ),
    (
        "a resource without a list that no webhook fetches",
        [with_cart_resource, _drop(["sync", "webhooks", "handlers", "cart.updated"])],
        f"{CARTS}.endpoints",
        "resource 'carts' has no endpoints.list, so the scheduled sync never lists it, and no webhook "
        "handler fetches its records (enrich: {resource: carts, idPath: ...}); add endpoints.list or "
        "such a handler",
    ),
    (
        "sub-resource url without {id}",
        [with_categories, _set([*P, "subResources", "categories", "url"], "/categories")],
        f"{PRODUCTS}.subResources.categories.url",
        "a sub-resource needs the {id} placeholder, in its url (/orders/{id}/products) or in a param "
        '(params: {order_id: "{id}"})',
    ),
    (
        "sub-resource key that is no field name",
        [
            with_categories,
            _set([*P, "subResources"], {"line.items": {"url": "/products/{id}/categories"}}),
            _drop([*P, "samples", "subResources"]),
        ],
        f'{PRODUCTS}.subResources["line.items"]',
        "'line.items' is not a field name; a sub-resource's key is the field of the details its answer "
        "fills: letters, digits, '_' and '-', not starting with a digit (items)",
    ),
    (
        "sub-resources without a details endpoint",
        [with_categories, _drop([*P, "endpoints", "details"]), _set([*P, "expandDetails"], False)],
        f"{PRODUCTS}.subResources",
        "sub-resources are fetched with each record's details: add endpoints.details",
    ),
    (
        "sub-resources of a listed resource that does not expand details",
        [with_categories, _set([*P, "expandDetails"], False)],
        f"{PRODUCTS}.subResources",
        "sub-resources are fetched with each record's details, and without expandDetails the listed "
        "records would be written without them; set expandDetails: true",
    ),
    (
        "a sample of an unknown sub-resource",
        [with_categories, _set([*P, "samples", "subResources"], {"images": "samples/images.json"})],
        f"{PRODUCTS}.samples.subResources.images",
        "unknown sub-resource 'images'; valid: categories",
    ),
    (
        "sub-resource on another host",
        [
            with_categories,
            _set(
                [*P, "subResources", "categories", "url"], "https://cdn.example.net/products/{id}/categories"
            ),
        ],
        f"{PRODUCTS}.subResources.categories.url",
        "'https://cdn.example.net/products/{id}/categories' is on 'https://cdn.example.net', not on "
        "baseUrl's 'https://api.example.com': the connector's credentials would be sent there; use a path "
        "under baseUrl ('/...') or a URL on https://api.example.com",
    ),
    (
        "sub-resource param naming a credential the auth does not give",
        [with_categories, _set([*P, "subResources", "categories", "params"], {"key": "[[apiKey]]"})],
        f"{PRODUCTS}.subResources.categories.params.key",
        "[[apiKey]] is not a credential of this connector's auth; available: accessToken, webhookSecret",
    ),
    (
        "sub-resource url with a malformed placeholder",
        [with_categories, _set([*P, "subResources", "categories", "url"], "/products/{id}/{{accessToken}}")],
        f"{PRODUCTS}.subResources.categories.url",
        "'{{accessToken}}' is not a placeholder the client fills; write [[name]] (two square brackets "
        "each side, no spaces) with a credential of this connector's auth: accessToken, webhookSecret",
    ),
]


@pytest.mark.parametrize(
    ("changes", "path", "message"), [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS]
)
def test_a_definition_that_cannot_be_fetched_as_written_is_refused_at_its_place(
    changes: list[Callable[[Doc], None]], path: str, message: str
) -> None:
    # Given the demo definition with one mistake, When it loads, Then the first problem is that one
    found_path, found_message = refusal(changed(*changes))

    assert found_path == path, found_message
    assert found_message == message


# What the checklist asks of the samples


def findings(path: Path) -> list[Finding]:
    return check(load_definition(path))


def test_a_resource_without_a_list_needs_a_details_sample_and_no_list_sample(
    write_connector: ConnectorWriter,
) -> None:
    # Given the carts resource, without a list, with its details and delivery samples
    path = write_connector(with_cart_resource, cart_details=CART_DETAILS, cart_updated=CART_DELIVERY)

    # Then the connector passes: no list sample is asked for
    assert findings(path) == []


def test_a_resource_without_a_list_whose_details_sample_is_missing_is_a_finding(
    write_connector: ConnectorWriter,
) -> None:
    # Given the carts resource without its details sample file
    path = write_connector(with_cart_resource, cart_updated=CART_DELIVERY)

    # Then the details sample is asked for, and no list sample is
    result = findings(path)
    assert [finding.path for finding in result] == [f"{CARTS}.samples.details"]
    assert result[0].message.startswith("sample 'samples/cart_details.json' not found")


def test_a_list_shaped_details_sample_maps_each_item_it_lists(write_connector: ConnectorWriter) -> None:
    # Given a details sample whose second item has no cart_id (a cart needs a code)
    details = {"data": [CART_DETAILS["data"][0], {"total": "3.00"}]}
    path = write_connector(with_cart_resource, cart_details=details, cart_updated=CART_DELIVERY)

    # Then that item is reported as a record of the details sample
    [finding] = findings(path)
    assert finding.path == f"{CARTS}.samples.details"
    assert finding.message.startswith("record 1: ")
    assert "code" in finding.message


def test_a_sub_resource_sample_is_required_and_merged_into_the_details_sample(
    write_connector: ConnectorWriter,
) -> None:
    # Given products with a categories sub-resource, and its sample missing
    missing = findings(write_connector(with_categories))

    # Then the sub-resource's sample is asked for
    assert [finding.path for finding in missing] == [f"{PRODUCTS}.samples.subResources.categories"]

    # When the sample is there but gives one text where core:product's categories are a list
    broken = findings(write_connector(with_categories, product_categories={"data": "Mugs"}))

    # Then mapping the details sample with it merged fails at the categories field (without the
    # merge, the details sample alone has no categories and maps)
    [finding] = broken
    assert finding.path == f"{PRODUCTS}.samples.details"
    assert "categories" in finding.message

    # And with a sample that lists categories the connector passes
    good = {"data": ["Mugs", "Tea"]}
    assert findings(write_connector(with_categories, product_categories=good)) == []
