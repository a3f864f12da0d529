"""The credentials check: one list request at the smallest page size, against the sandbox stores."""

from __future__ import annotations

import json

import httpx
import pytest

from mercator.domain.provider_errors import ProviderCredentialsError, ProviderHTTPError
from mercator.providers.client import ProviderClient, refusal_reason
from mercator.providers.token_bucket import TokenBucket
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from tests.integration.providers.support import (
    FLAVORS,
    STOREFRONTS,
    connector,
    fast_retries,
    make_client,
    secret_values,
)

# The list request of each connector's first enabled resource, and its page-size parameter.
FIRST_LISTING = {
    "salla": ("/admin/v2/orders", "per_page"),
    "shopify": ("/admin/api/2025-01/products.json", "limit"),
    "woocommerce": ("/wp-json/wc/v3/products", "per_page"),
}


class Recorded(httpx.AsyncBaseTransport):
    """The sandbox in process, keeping every request sent to it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._inner = httpx.ASGITransport(app=sandbox.app)
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self._inner.handle_async_request(request)


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_a_probe_is_one_list_request_for_one_record(flavor: FlavorName) -> None:
    sandbox = Sandbox(flavor, seed=5, sizes={"orders": 40, "products": 40}, rate_limit=None)
    recorded = Recorded(sandbox)

    async with httpx.AsyncClient(transport=recorded) as http, make_client(sandbox, http) as client:
        await client.probe()

    path, size = FIRST_LISTING[flavor]
    assert [(r.method, r.url.path, r.url.params.get(size)) for r in recorded.sent] == [("GET", path, "1")]


@pytest.mark.anyio
async def test_a_token_the_store_did_not_issue_is_refused_with_its_reason() -> None:
    # A Salla store with its OAuth server on accepts only the tokens it issued.
    sandbox = Sandbox("salla", seed=5, sizes={"orders": 3}, rate_limit=None, oauth={})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as http:
        client = make_client(sandbox, http)
        with pytest.raises(ProviderCredentialsError) as caught:
            await client.probe()

    refused = caught.value
    assert (refused.status, refused.reason) == (401, "The access token should be a valid one")
    assert refused.attempts == 1  # a refusal is not asked again
    for secret in secret_values("salla"):
        assert secret not in str(refused)


@pytest.mark.anyio
async def test_a_blank_woocommerce_secret_is_refused_with_the_stores_reason() -> None:
    sandbox = Sandbox("woocommerce", seed=5, sizes={"products": 3}, rate_limit=None)
    credentials = {**STOREFRONTS["woocommerce"].credentials, "consumerSecret": " "}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as http:
        client = ProviderClient(
            connector("woocommerce"),
            credentials,
            limiter=TokenBucket(10_000),
            http=http,
            retry=fast_retries(),
        )
        with pytest.raises(ProviderCredentialsError) as caught:
            await client.probe()

    assert (caught.value.status, caught.value.reason) == (401, "Sorry, you cannot list resources.")
    assert STOREFRONTS["woocommerce"].credentials["consumerKey"] not in str(caught.value)


def answering(status: int, body: object) -> httpx.AsyncClient:
    payload = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(status, content=payload))
    )


@pytest.mark.anyio
async def test_a_403_is_a_credentials_refusal_too() -> None:
    # Shopify's answer to a token without the scope the listing needs.
    body = {"errors": "[API] This action requires merchant approval for read_products scope."}
    async with answering(403, body) as http:
        client = ProviderClient(
            connector("shopify"), STOREFRONTS["shopify"].credentials, limiter=TokenBucket(10_000), http=http
        )
        with pytest.raises(ProviderCredentialsError) as caught:
            await client.probe()

    assert (caught.value.status, caught.value.reason) == (
        403,
        "[API] This action requires merchant approval for read_products scope.",
    )


@pytest.mark.anyio
async def test_other_refusals_are_not_credentials_errors() -> None:
    # A store address that is not a WooCommerce API: 404.
    async with answering(404, {"code": "rest_no_route", "message": "No route was found"}) as http:
        client = ProviderClient(
            connector("woocommerce"),
            STOREFRONTS["woocommerce"].credentials,
            limiter=TokenBucket(10_000),
            http=http,
        )
        with pytest.raises(ProviderHTTPError) as caught:
            await client.probe()

    assert not isinstance(caught.value, ProviderCredentialsError)
    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("excerpt", "reason"),
    [
        (
            '{"status":401,"success":false,"error":{"code":"Unauthorized","message":"Token expired"}}',
            "Token expired",
        ),
        ('{"errors":"[API] Invalid API key or access token"}', "[API] Invalid API key or access token"),
        ('{"errors":["first problem","second problem"]}', "first problem; second problem"),
        ('{"error":"invalid_token","error_description":"The token has expired"}', "The token has expired"),
        (
            '{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources."}',
            "Sorry, you cannot list resources.",
        ),
        ('{"error":{"code":401}}', None),
        # Nothing but a JSON body's message field: whatever else the address answers is not echoed
        ("<html><body>Forbidden</body></html>", None),
        ('{"message": "cut sho...', None),
        ("   ", None),
        ("x" * 250, None),
        ('{"message": "' + "x" * 250 + '"}', "x" * 200 + "..."),
    ],
)
def test_the_reason_is_the_providers_own_message(excerpt: str, reason: str | None) -> None:
    assert refusal_reason(excerpt) == reason
