"""sync.actions.updateStatus: validated at load with the path of the mistake; filled per record."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mercator.connector import DefinitionError, load_shipped, validate_definition
from tests.unit.connector.test_invalid_definitions import valid_definition

BLOCK = {"recordType": "order", "url": "/orders/{id}/status", "method": "POST", "body": {"slug": "{status}"}}


def with_block(block: Any) -> dict[str, Any]:
    doc = copy.deepcopy(valid_definition())
    doc["sync"]["actions"] = {"updateStatus": block}
    return doc


def test_a_valid_block_is_read() -> None:
    definition = validate_definition(with_block(BLOCK), "demo.yaml")

    endpoint = definition.sync.actions.updateStatus
    assert endpoint is not None
    assert (endpoint.recordType, endpoint.method, endpoint.contentType) == (
        "order",
        "POST",
        "ecommerce:orders",
    )


def test_without_the_block_there_is_no_update_status() -> None:
    assert validate_definition(valid_definition(), "demo.yaml").sync.actions.updateStatus is None


def test_the_method_defaults_to_post() -> None:
    block = {key: value for key, value in BLOCK.items() if key != "method"}
    endpoint = validate_definition(with_block(block), "demo.yaml").sync.actions.updateStatus
    assert endpoint is not None and endpoint.method == "POST"


CASES: list[tuple[str, Any, str, list[str]]] = [
    ("url without {id}", {**BLOCK, "url": "/orders/status"}, "sync.actions.updateStatus.url", ["{id}"]),
    (
        "relative url",
        {**BLOCK, "url": "orders/{id}"},
        "sync.actions.updateStatus.url",
        ["must start with '/'"],
    ),
    (
        "unknown url placeholder",
        {**BLOCK, "url": "/orders/{id}/{state}"},
        "sync.actions.updateStatus.url",
        ["unknown placeholder {state}", "valid: {id}"],
    ),
    (
        "method",
        {**BLOCK, "method": "DELETE"},
        "sync.actions.updateStatus.method",
        ["'POST', 'PUT' or 'PATCH'"],
    ),
    (
        "record type",
        {**BLOCK, "recordType": "invoice"},
        "sync.actions.updateStatus.recordType",
        ["'order', 'customer', 'product', 'cart' or 'shipment'"],
    ),
    (
        "body without status",
        {**BLOCK, "body": {"slug": "completed"}},
        "sync.actions.updateStatus.body",
        ['must carry "{status}"'],
    ),
    (
        "unknown body placeholder",
        {**BLOCK, "body": {"slug": "{status}", "note": "{reason}"}},
        "sync.actions.updateStatus.body",
        ["unknown placeholder {reason}", "{status}, {id}"],
    ),
    (
        "missing body",
        {k: v for k, v in BLOCK.items() if k != "body"},
        "sync.actions.updateStatus.body",
        ["required"],
    ),
    (
        "misspelt key",
        {**BLOCK, "methd": "PUT"},
        "sync.actions.updateStatus.methd",
        ["unknown key 'methd'", "did you mean 'method'?"],
    ),
    (
        "credential the auth does not give",
        {**BLOCK, "url": "/stores/[[shopHost]]/orders/{id}"},
        "sync.actions.updateStatus.url",
        ["[[shopHost]] is not a credential", "accessToken"],
    ),
    (
        "url on another host than baseUrl",
        {**BLOCK, "url": "https://[[shopHost]]/orders/{id}"},
        "sync.actions.updateStatus.url",
        ["is on 'https://[[shopHost]]', not on baseUrl's", "credentials would be sent there"],
    ),
]


@pytest.mark.parametrize(("block", "path", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mistakes_name_their_path_and_what_is_valid(block: Any, path: str, fragments: list[str]) -> None:
    with pytest.raises(DefinitionError) as caught:
        validate_definition(with_block(block), "demo.yaml")

    problem = caught.value.problems[0]
    assert problem.path == path, caught.value.render()
    for fragment in fragments:
        assert fragment in problem.message, problem.message


def test_an_unknown_action_is_refused() -> None:
    doc = copy.deepcopy(valid_definition())
    doc["sync"]["actions"] = {"cancelOrder": BLOCK}
    with pytest.raises(DefinitionError) as caught:
        validate_definition(doc, "demo.yaml")
    assert caught.value.problems[0].path == "sync.actions.cancelOrder"
    assert "valid keys: updateStatus" in caught.value.problems[0].message


def test_the_record_code_is_escaped_into_the_path_and_put_into_the_body() -> None:
    block = {
        **BLOCK,
        "body": {"order": {"id": "{id}", "tags": ["set by Mercator: {status}"]}, "slug": "{status}"},
    }
    endpoint = validate_definition(with_block(block), "demo.yaml").sync.actions.updateStatus
    assert endpoint is not None

    assert endpoint.path_for("A/7 x") == "/orders/A%2F7%20x/status"
    assert endpoint.body_for("delivered", "A/7") == {
        "order": {"id": "A/7", "tags": ["set by Mercator: delivered"]},
        "slug": "delivered",
    }
    assert endpoint.body == block["body"]  # the template itself is left as written


@pytest.mark.parametrize(
    ("name", "method", "path", "body"),
    [
        ("salla", "POST", "/orders/42/status", {"slug": "completed"}),
        ("woocommerce", "PUT", "/orders/42", {"status": "completed"}),
        ("zid", "POST", "/managers/store/orders/42/change-order-status", {"order_status": "completed"}),
    ],
)
def test_shipped_connectors_describe_their_status_endpoint(
    name: str, method: str, path: str, body: dict[str, str]
) -> None:
    endpoint = load_shipped(name).sync.actions.updateStatus
    assert endpoint is not None
    assert (endpoint.recordType, endpoint.method) == ("order", method)
    assert endpoint.path_for("42") == path
    assert endpoint.body_for("completed", "42") == body


def test_shopify_has_no_status_endpoint() -> None:
    assert load_shipped("shopify").sync.actions.updateStatus is None
