"""OAuth installs end to end: install URL, the sandbox's consent, the callback, then a sync with the token.

A refused state (tampered, expired, reused, for another connector) creates nothing: no token call, no
secret, no integration.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from mercator.providers.oauth_tokens import OAuthConfigurationError, TokenEndpointError
from mercator.services.oauth import AuthorizationDeniedError, InstallRequestError, UnknownConnectorError
from mercator.services.oauth_state import StateRejectedError
from mercator.state.registration import IntegrationConflictError
from tests.integration.oauth.support import (
    CLIENT_ID,
    ORIGIN,
    REDIRECT,
    TENANT,
    WEBHOOK_SECRET,
    Lambda,
    OAuthWorld,
)

SETUP_SECRETS = sorted(["mercator/oauth-state/key", "mercator/oauth-apps/salla"])


async def consent(world: OAuthWorld, install_url: str) -> dict[str, str]:
    """The merchant approves on the platform: the callback's query the browser comes back with."""
    async with world.http() as http:
        response = await http.get(install_url)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def assert_nothing_created(world: OAuthWorld, lambda_: Lambda) -> None:
    assert lambda_.integrations.for_tenant(TENANT) == []
    assert world.secret_names() == SETUP_SECRETS
    assert world.oauth_server.counters.token_calls == {}


@pytest.mark.anyio
async def test_install_consent_and_callback_make_an_integration_that_syncs(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()

    # When the tenant starts the install
    url = lambda_.oauth.install_url(TENANT, "salla", REDIRECT)

    # Then it goes to the app's authorize URL with the app's id, the callback, Salla's scope and a state
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ORIGIN}/oauth/authorize"
    assert {name: values[0] for name, values in query.items() if name != "state"} == {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "offline_access",
    }

    # When the merchant approves and the platform calls back
    integration = await lambda_.oauth.callback("salla", await consent(world, url))

    # Then the tenant has an active Salla integration pointed at the app's store settings
    assert (integration.tenant_id, integration.connector, integration.status) == (TENANT, "salla", "active")
    stored = lambda_.integrations.get(integration.id)
    assert stored is not None and stored.credentials_arn == integration.credentials_arn
    assert integration.settings["baseUrl"] == world.sandbox.base_url(ORIGIN)
    # And its tokens and the app's webhook secret are its credentials, in its own secret
    assert world.secret_names() == sorted([*SETUP_SECRETS, f"mercator/credentials/{TENANT}/{integration.id}"])
    credentials = lambda_.vault.credentials(integration)
    assert sorted(credentials) == ["accessToken", "expiresAt", "refreshToken", "webhookSecret"]
    assert credentials["webhookSecret"] == WEBHOOK_SECRET
    assert world.oauth_server.token_status(credentials["accessToken"]) == "valid"
    assert abs(int(credentials["expiresAt"]) - (time.time() + 3600)) < 60
    assert world.oauth_server.counters.snapshot()["token_calls"] == {"authorization_code": 1}

    # And a session of the integration lists every order with the issued token
    async with lambda_.sessions.open(world.definition, integration, credentials) as session:
        listed = [
            record["id"] async for page in session.pages("orders", page_size=5) for record in page.records
        ]
    assert sorted(listed) == sorted(world.sandbox.store.ids("orders"))
    assert world.sandbox.counters.statuses.get(401, 0) == 0


def tampered(state: str) -> list[str]:
    """The state with its payload changed (another tenant), its signature changed, or cut."""
    payload, signature = state.split(".")
    import base64  # noqa: PLC0415 - only this helper decodes states

    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["t"] = "tenant-mallory"
    forged = base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return [f"{forged}.{signature}", f"{payload}.{flipped}", payload, "", "not.a.state"]


@pytest.mark.anyio
async def test_a_tampered_state_creates_nothing(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    query = await consent(world, lambda_.oauth.install_url(TENANT, "salla", REDIRECT))

    for state in tampered(query["state"]):
        with pytest.raises(StateRejectedError):
            await lambda_.oauth.callback("salla", {**query, "state": state})

    assert_nothing_created(world, lambda_)
    # The genuine state was not used up by the refusals
    assert (await lambda_.oauth.callback("salla", query)).tenant_id == TENANT


@pytest.mark.anyio
async def test_an_expired_state_creates_nothing(world: OAuthWorld) -> None:
    started = time.time()
    lambda_ = world.cold_start(clock=lambda: started)
    query = await consent(world, lambda_.oauth.install_url(TENANT, "salla", REDIRECT))
    late = world.cold_start(clock=lambda: started + 600)  # exactly ten minutes later

    with pytest.raises(StateRejectedError, match="expired"):
        await late.oauth.callback("salla", query)

    assert_nothing_created(world, lambda_)


@pytest.mark.anyio
async def test_a_reused_state_creates_nothing_more(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    query = await consent(world, lambda_.oauth.install_url(TENANT, "salla", REDIRECT))
    first = await lambda_.oauth.callback("salla", query)
    secrets_after_first = world.secret_names()

    with pytest.raises(StateRejectedError, match="used already"):
        await world.cold_start().oauth.callback("salla", query)

    assert [found.id for found in lambda_.integrations.for_tenant(TENANT)] == [first.id]
    assert world.secret_names() == secrets_after_first
    assert world.oauth_server.counters.token_calls == {"authorization_code": 1}


@pytest.mark.anyio
async def test_a_state_for_another_connector_creates_nothing(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    query = await consent(world, lambda_.oauth.install_url(TENANT, "salla", REDIRECT))

    with pytest.raises(StateRejectedError, match="another connector"):
        await lambda_.oauth.callback("zid", query)

    assert_nothing_created(world, lambda_)


@pytest.mark.anyio
async def test_a_declined_consent_is_reported_and_creates_nothing(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    query = await consent(world, lambda_.oauth.install_url(TENANT, "salla", REDIRECT))
    declined = {
        "state": query["state"],
        "error": "access_denied",
        "error_description": "The merchant said no",
    }

    with pytest.raises(AuthorizationDeniedError, match=r"access_denied \(The merchant said no\)"):
        await lambda_.oauth.callback("salla", declined)

    assert_nothing_created(world, lambda_)


@pytest.mark.anyio
async def test_a_code_the_platform_refuses_is_a_configuration_error(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    query = await consent(world, lambda_.oauth.install_url(TENANT, "salla", REDIRECT))

    with pytest.raises(TokenEndpointError, match="invalid_grant"):
        await lambda_.oauth.callback("salla", {**query, "code": "a-code-never-issued"})

    assert lambda_.integrations.for_tenant(TENANT) == []
    assert world.secret_names() == SETUP_SECRETS


@pytest.mark.anyio
async def test_a_second_install_of_the_same_connector_conflicts_before_any_token_call(
    world: OAuthWorld,
) -> None:
    lambda_ = world.cold_start()
    # Two installs started before either came back
    first = await consent(world, lambda_.oauth.install_url(TENANT, "salla", REDIRECT))
    second = await consent(world, lambda_.oauth.install_url(TENANT, "salla", REDIRECT))
    installed = await lambda_.oauth.callback("salla", first)

    with pytest.raises(IntegrationConflictError, match=installed.id):
        await lambda_.oauth.callback("salla", second)
    with pytest.raises(IntegrationConflictError):
        lambda_.oauth.install_url(TENANT, "salla", REDIRECT)

    assert world.oauth_server.counters.token_calls == {"authorization_code": 1}
    assert [found.id for found in lambda_.integrations.for_tenant(TENANT)] == [installed.id]


def shopify_app(world: OAuthWorld, **extra: object) -> None:
    document = {"clientId": "shopify-app", "clientSecret": "shpss_0a1b2c3d", **extra}
    world.secrets.create_secret(Name="mercator/oauth-apps/shopify", SecretString=json.dumps(document))


def test_a_shopify_install_needs_an_allowed_shop(world: OAuthWorld) -> None:
    shopify_app(world, allowedHosts=["*.myshopify.com"])
    oauth = world.cold_start().oauth

    url = oauth.install_url(TENANT, "shopify", REDIRECT, {"shop": "acme.myshopify.com", "host": "ignored"})

    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://acme.myshopify.com/admin/oauth/authorize"
    )
    assert parse_qs(parts.query)["scope"] == ["read_products read_customers read_orders"]
    with pytest.raises(InstallRequestError, match="needs the install parameter"):
        oauth.install_url(TENANT, "shopify", REDIRECT)
    with pytest.raises(OAuthConfigurationError, match="not one the OAuth app allows"):
        oauth.install_url(TENANT, "shopify", REDIRECT, {"shop": "shop.evil.example"})
    with pytest.raises(InstallRequestError, match="host name or a plain value"):
        oauth.install_url(TENANT, "shopify", REDIRECT, {"shop": "acme.myshopify.com/admin?x="})


@pytest.mark.anyio
async def test_a_callback_for_another_shop_than_the_installs_is_refused(world: OAuthWorld) -> None:
    shopify_app(world, allowedHosts=["*.myshopify.com"], scopeSeparator=",")
    oauth = world.cold_start().oauth
    url = oauth.install_url(TENANT, "shopify", REDIRECT, {"shop": "acme.myshopify.com"})
    state = parse_qs(urlsplit(url).query)["state"][0]
    assert parse_qs(urlsplit(url).query)["scope"] == ["read_products,read_customers,read_orders"]

    with pytest.raises(StateRejectedError, match="callback's shop"):
        await oauth.callback("shopify", {"state": state, "code": "c", "shop": "other.myshopify.com"})


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda o: o.install_url(TENANT, "woocommerce", REDIRECT), OAuthConfigurationError, "OAuth 2.0"),
        (lambda o: o.install_url(TENANT, "magento", REDIRECT), UnknownConnectorError, "magento"),
        (lambda o: o.install_url(TENANT, "../salla", REDIRECT), UnknownConnectorError, "salla"),
        (lambda o: o.install_url("bad tenant", "salla", REDIRECT), InstallRequestError, "tenant"),
        (lambda o: o.install_url(TENANT, "salla", "/relative"), InstallRequestError, "absolute"),
        (lambda o: o.install_url(TENANT, "zid", REDIRECT), OAuthConfigurationError, "has no OAuth app"),
    ],
)
def test_installs_that_cannot_start_say_why(
    world: OAuthWorld, call: Callable[..., object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(world.cold_start().oauth)
    assert world.secret_names() == SETUP_SECRETS


def test_the_install_url_keeps_the_authorize_urls_own_query(world: OAuthWorld) -> None:
    world.secrets.put_secret_value(
        SecretId="mercator/oauth-apps/salla",
        SecretString=json.dumps(
            {"clientId": "c", "clientSecret": "s", "authorizeUrl": f"{ORIGIN}/oauth/authorize?prompt=consent"}
        ),
    )
    url = world.cold_start().oauth.install_url(TENANT, "salla", REDIRECT)
    assert urlsplit(url).query.startswith(urlencode({"prompt": "consent"}) + "&client_id=c&")
