"""Configuring sends nothing to a host the connector does not name, and echoes no store's body.

The world's policy is the tests': hosts under ``*.sandbox.test`` stand for the operator's extra
patterns (EGRESS_ALLOWED_HOSTS) and loopback is allowed, as the local stack allows it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from mercator.api.schemas import ConfigureWorkflowRequest
from mercator.domain.workflows import trigger_id
from mercator.services.management import ConfigurationError
from tests.fake_aws import use_fake_aws
from tests.unit.services.management_world import CREDENTIALS, REGION, ManagementWorld, management_world
from tests.unit.services.test_management import A, refused_configuration, request, workflow_request

LEAK = "internal admin: db=10.0.3.7 user=root"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementWorld]:
    use_fake_aws(monkeypatch, REGION)
    with management_world() as built:
        yield built


def answering(world: ManagementWorld, host: str, status: int, body: str | dict[str, Any]) -> None:
    """``host`` answers every request with ``status`` and ``body``."""
    content = json.dumps(body) if isinstance(body, dict) else body
    kind = "application/json" if isinstance(body, dict) else "text/html"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content.encode(), headers={"Content-Type": kind})

    world.answering[host] = httpx.MockTransport(answer)


# Host patterns


@pytest.mark.parametrize(
    ("connector", "change", "where", "host", "allowed"),
    [
        (
            "salla",
            {"baseUrl": "https://admin.internal.example.org/admin/v2"},
            "settings.baseUrl",
            "admin.internal.example.org",
            "api.salla.dev, *.sandbox.test",
        ),
        (
            "zid",
            {"baseUrl": "https://169.254.169.254/latest"},
            "settings.baseUrl",
            "169.254.169.254",
            "api.zid.sa, *.sandbox.test",
        ),
        (
            "shopify",
            {"credentials": {**CREDENTIALS["shopify"], "shopDomain": "vault.corp.example"}},
            "the credential shopDomain (sync.baseUrl https://[[shopDomain]]/admin/api/2025-01)",
            "vault.corp.example",
            "*.myshopify.com, *.sandbox.test",
        ),
    ],
)
def test_a_store_address_on_a_host_the_connector_does_not_name_is_refused_before_any_request(  # noqa: PLR0917
    world: ManagementWorld,
    connector: str,
    change: dict[str, Any],
    where: str,
    host: str,
    allowed: str,
) -> None:
    made_up = {"accessToken": "at-1", "authorizationToken": "az-1", "storeId": "7"}
    credentials = change.pop("credentials", made_up)
    configure = request(connector, credentials=credentials, **change)

    message = refused_configuration(world, configure)

    assert message.startswith(f"the {connector.capitalize()} store address cannot be used: {where} ")
    assert f"names the host {host!r}" in message
    assert message.endswith(f"allowed hosts: {allowed}")
    assert world.sent == []


def test_woocommerce_stores_may_be_anywhere_their_address_is_public(world: ManagementWorld) -> None:
    # The pattern "*" passes every host to the address guard; here the store answers in process.
    integration = world.service.configure(A, request("woocommerce"))

    assert integration.connector == "woocommerce"
    assert {request.url.host for request in world.sent} == {"woo.sandbox.test"}


# Nothing of a store's body is echoed


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            401,
            f"<html><body>{LEAK}</body></html>",
            "Invalid credentials: Salla refused them (401): no reason given",
        ),
        (
            403,
            {"error": {"message": "Token expired"}, "debug": LEAK},
            "Invalid credentials: Salla refused them (403): Token expired",
        ),
        (
            401,
            {"message": "x" * 500, "debug": LEAK},
            f"Invalid credentials: Salla refused them (401): {'x' * 200}...",
        ),
        (
            404,
            f"<pre>{LEAK}</pre>",
            "the Salla store could not be checked with these settings: "
            "GET http://leaky.sandbox.test/admin/v2/orders?per_page=1&page=1 answered 404",
        ),
        (
            400,
            {"message": "Unknown parameter", "trace": LEAK},
            "the Salla store could not be checked with these settings: "
            "GET http://leaky.sandbox.test/admin/v2/orders?per_page=1&page=1 answered 400; "
            "the store says: Unknown parameter",
        ),
    ],
)
def test_a_refusal_shows_the_stores_own_message_field_at_most(
    world: ManagementWorld, status: int, body: str | dict[str, Any], expected: str
) -> None:
    answering(world, "leaky.sandbox.test", status, body)

    message = refused_configuration(world, request(baseUrl="http://leaky.sandbox.test/admin/v2"))

    assert message == expected
    assert LEAK not in message and "10.0.3.7" not in message


# Workflow webhooks


def webhook(url: str = "https://hooks.example.com/mercator", **headers: str) -> dict[str, Any]:
    return {
        "type": "webhook",
        "url": url,
        "secretName": "mercator/tenant-a/webhook-keys/signing",
        "headers": headers,
    }


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.com/mercator", "http://hooks.example.com is not https"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("https://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("https://[::ffff:a9fe:a9fe]/hook", "::ffff:a9fe:a9fe is a link-local address"),
    ],
)
def test_a_webhook_address_that_cannot_be_called_is_refused_when_the_workflow_is_configured(
    world: ManagementWorld, url: str, problem: str
) -> None:
    world.service.configure(A, request())

    with pytest.raises(ConfigurationError) as caught:
        world.service.configure_workflow(A, workflow_request(action=webhook(url)))

    assert str(caught.value).startswith(f"action.url cannot be called: {problem}")
    assert world.workflows.for_tenant(A) == []


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "host",
        "Connection",
        "Keep-Alive",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
    ],
)
def test_host_and_hop_by_hop_headers_are_refused_naming_the_header(name: str) -> None:
    body = {
        "name": "Tell the warehouse",
        "entityType": "Order",
        "triggerId": trigger_id("salla", "order.created"),
        "action": webhook(**{name: "internal.example"}),
    }

    with pytest.raises(ValidationError) as caught:
        ConfigureWorkflowRequest.model_validate(body)

    message = caught.value.errors()[0]["msg"]
    assert message.startswith(f"headers: {name!r} cannot be set by a workflow")


def test_other_headers_are_kept(world: ManagementWorld) -> None:
    world.service.configure(A, request())

    workflow = world.service.configure_workflow(
        A, workflow_request(action=webhook(**{"X-Api-Key": "k-1", "Authorization": "Bearer t"}))
    )

    assert workflow.action.headers == {"X-Api-Key": "k-1", "Authorization": "Bearer t"}  # type: ignore[union-attr]
