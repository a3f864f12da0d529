"""Token endpoint calls and OAuth apps: what is sent, how grants are read, refusals without secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from mercator.connector import load_shipped
from mercator.connector.oauth_endpoints import authorize_url_of, oauth_auth, token_url_of
from mercator.domain.oauth_installs import (
    OAuthApp,
    OAuthConfigurationError,
    TokenEndpointError,
    TokenGrant,
    parse_app,
)
from mercator.providers.oauth_tokens import OAuthTokenClient

APP = OAuthApp(clientId="client-1", clientSecret="cs_9a8b7c6d5e4f3a2b1c0d")
TOKEN_URL = "https://accounts.example/oauth2/token"
NOW = 1_700_000_000.0
REFRESH = "rt_1f2e3d4c5b6a79880716"
CODE = "code_a1b2c3d4e5f60718"


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> OAuthTokenClient:
    return OAuthTokenClient(
        lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler)), clock=lambda: NOW
    )


@pytest.mark.anyio
async def test_a_refresh_posts_the_form_and_reads_the_grant() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        body = {
            "access_token": "at-new",
            "refresh_token": "rt-new",
            "expires_in": 1209600,
            "scope": "offline_access",
        }
        return httpx.Response(200, json=body)

    grant = await client_for(handler).refresh(TOKEN_URL, APP, refresh_token=REFRESH)

    assert grant == TokenGrant("at-new", "rt-new", int(NOW) + 1209600, "offline_access")
    assert grant.credentials() == {
        "accessToken": "at-new",
        "refreshToken": "rt-new",
        "expiresAt": "1701209600",
    }
    (request,) = sent
    assert request.method == "POST" and str(request.url) == TOKEN_URL
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
        "client_id": ["client-1"],
        "client_secret": ["cs_9a8b7c6d5e4f3a2b1c0d"],
    }


@pytest.mark.anyio
async def test_a_code_exchange_sends_the_redirect_uri() -> None:
    forms: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(parse_qs(request.content.decode()))
        return httpx.Response(200, json={"access_token": "shpat_x", "scope": "read_orders"})

    grant = await client_for(handler).exchange_code(
        TOKEN_URL, APP, code=CODE, redirect_uri="https://m.example/cb"
    )

    assert forms[0]["grant_type"] == ["authorization_code"]
    assert forms[0]["code"] == [CODE] and forms[0]["redirect_uri"] == ["https://m.example/cb"]
    # Shopify's offline tokens neither expire nor come with a refresh token
    assert grant.credentials() == {"accessToken": "shpat_x"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "expires_at"),
    [
        ({"expires_in": "3600"}, int(NOW) + 3600),
        ({"expires": 1_800_000_000}, 1_800_000_000),  # a moment, as Salla's app events give it
        ({"expires_in": 0}, None),
        ({"expires_in": "soon"}, None),
    ],
)
async def test_expiry_comes_from_expires_in_or_expires(
    body: dict[str, object], expires_at: int | None
) -> None:
    grant = await client_for(lambda request: httpx.Response(200, json={"access_token": "a", **body})).refresh(
        TOKEN_URL, APP, refresh_token=REFRESH
    )
    assert grant.expires_at == expires_at


@pytest.mark.anyio
async def test_zids_authorization_token_becomes_a_credential() -> None:
    body = {
        "access_token": "manager-token",
        "authorization": "store-bearer",
        "refresh_token": "r",
        "expires_in": 60,
    }
    grant = await client_for(lambda request: httpx.Response(200, json=body)).refresh(
        TOKEN_URL, APP, refresh_token=REFRESH
    )
    assert grant.credentials()["authorizationToken"] == "store-bearer"
    assert grant.credentials()["accessToken"] == "manager-token"


@pytest.mark.anyio
async def test_a_refusal_carries_the_oauth_error_and_never_the_secrets() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # A careless endpoint that echoes what it was sent
        text = f"refresh token {REFRESH} of client secret cs_9a8b7c6d5e4f3a2b1c0d is spent"
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": text})

    with pytest.raises(TokenEndpointError) as raised:
        await client_for(handler).refresh(TOKEN_URL, APP, refresh_token=REFRESH)

    error = raised.value
    assert (error.status, error.error, error.permanent) == (400, "invalid_grant", True)
    assert "refused the request (400): invalid_grant" in str(error)
    assert REFRESH not in str(error) and "cs_9a8b7c6d5e4f3a2b1c0d" not in str(error)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(200, text="<html>"), "without a JSON object"),
        (httpx.Response(200, json={"token_type": "bearer"}), "without an access_token"),
        (httpx.Response(503, text="down"), r"refused the request \(503\): no reason given"),
    ],
)
async def test_unusable_answers_are_errors(response: httpx.Response, message: str) -> None:
    with pytest.raises(TokenEndpointError, match=message) as raised:
        await client_for(lambda request: response).refresh(TOKEN_URL, APP, refresh_token=REFRESH)
    assert not raised.value.permanent


@pytest.mark.anyio
async def test_an_unreachable_endpoint_is_a_transient_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(TokenEndpointError, match="could not be reached: ConnectError") as raised:
        await client_for(handler).refresh(TOKEN_URL, APP, refresh_token=REFRESH)
    assert raised.value.status is None and not raised.value.permanent


def test_an_app_secret_is_parsed_with_its_overrides() -> None:
    app = parse_app(
        "salla",
        json.dumps(
            {
                "clientId": "c",
                "clientSecret": "cs_distinct_0918",
                "tokenUrl": "http://127.0.0.1:8900/oauth/token",
                "credentials": {"webhookSecret": "whsec_distinct_7261"},
                "settings": {"baseUrl": "http://127.0.0.1:8900/admin/v2"},
            }
        ),
    )
    assert app.token_url == "http://127.0.0.1:8900/oauth/token"
    assert app.credentials == {"webhookSecret": "whsec_distinct_7261"}
    assert token_url_of(load_shipped("salla"), app, {}) == "http://127.0.0.1:8900/oauth/token"
    assert authorize_url_of(load_shipped("salla"), app, {}) == "https://accounts.salla.sa/oauth2/auth"
    assert "cs_distinct_0918" not in repr(app) and "whsec_distinct_7261" not in repr(app)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not JSON"),
        ('{"clientId": "c"}', "clientSecret: Field required"),
        (
            '{"clientId": "c", "clientSecret": "topsecret", "tokenUrl": "ftp://x"}',
            "tokenUrl: Value error, must be",
        ),
        ('{"clientId": "c", "clientSecret": "topsecret", "colour": "red"}', "colour: Extra inputs"),
    ],
)
def test_a_malformed_app_secret_is_named_without_its_values(text: str, message: str) -> None:
    with pytest.raises(OAuthConfigurationError, match=message) as raised:
        parse_app("salla", text)
    assert "topsecret" not in str(raised.value)


def test_a_store_host_from_a_placeholder_must_be_allowed() -> None:
    shopify = load_shipped("shopify")
    allowed = APP.model_copy(update={"allowed_hosts": ["*.myshopify.com"]})

    assert (
        token_url_of(shopify, allowed, {"shopDomain": "acme.myshopify.com"})
        == "https://acme.myshopify.com/admin/oauth/access_token"
    )
    for host in ("evil.example", "acme.myshopify.com.evil.example", "x.myshopify.com@evil.example"):
        with pytest.raises(OAuthConfigurationError, match="not one the OAuth app allows"):
            token_url_of(shopify, allowed, {"shopDomain": host})
    with pytest.raises(OAuthConfigurationError, match="set allowedHosts"):
        authorize_url_of(shopify, APP, {"shopDomain": "acme.myshopify.com"})


def test_only_oauth_connectors_have_an_oauth_block() -> None:
    assert oauth_auth(load_shipped("salla")).auto_refresh
    with pytest.raises(OAuthConfigurationError, match=r"does not authenticate with OAuth 2\.0"):
        oauth_auth(load_shipped("woocommerce"))
