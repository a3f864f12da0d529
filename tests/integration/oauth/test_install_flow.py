"""OAuth installs end to end: install address, the browser's start, the sandbox's consent, the callback,
then a sync with the token.

A refused state (tampered, expired, reused, for another connector) or browser (no install cookie,
another browser's, an install no browser started) creates nothing: no token call, no secret, no
integration, and leaves the genuine install usable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from mercator.domain.entities import Integration
from mercator.domain.oauth_installs import OAuthConfigurationError, TokenEndpointError
from mercator.services.oauth import (
    AuthorizationDeniedError,
    InstallRequestError,
    InstallSessionError,
    OAuthService,
    UnknownConnectorError,
)
from mercator.services.oauth_state import StateRejectedError
from mercator.services.registration import IntegrationConflictError
from mercator.state.oauth_nonces import nonce_key
from tests.integration.oauth.support import (
    BASE_URL,
    CLIENT_ID,
    ORIGIN,
    REDIRECT,
    TABLE,
    TENANT,
    WEBHOOK_SECRET,
    Lambda,
    OAuthWorld,
)

SETUP_SECRETS = sorted(["mercator/oauth-state/key", "mercator/oauth-apps/salla"])
OTHER_TENANT = "tenant-other"


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


@dataclass
class Browser:
    """A merchant's browser: it opens an install's start address, keeps the install cookie, consents."""

    world: OAuthWorld
    oauth: OAuthService
    cookies: list[str] = field(default_factory=list)

    def open(self, start_url: str) -> str:
        """Open the start address: keep the cookie, answer where the browser is sent (the consent page)."""
        parts = urlsplit(start_url)
        base, _, rest = parts.path.partition("/oauth/")
        connector, _, route = rest.partition("/")
        assert f"{parts.scheme}://{parts.netloc}{base}" == BASE_URL and route == "start"
        started = self.oauth.start(connector, state_of(start_url))
        assert started.redirect_uri == f"{BASE_URL}/oauth/{connector}/callback"
        self.cookies = [started.session]
        return started.authorize_url

    async def install(self, start_url: str) -> dict[str, str]:
        """Open the start address and consent: the callback's query the browser comes back with."""
        return await consent(self.world, self.open(start_url))

    async def callback(self, connector: str, query: dict[str, str]) -> Integration:
        return await self.oauth.callback(connector, query, self.cookies)


async def consent(world: OAuthWorld, authorize_url: str) -> dict[str, str]:
    """The merchant approves on the platform: the callback's query the browser comes back with."""
    async with world.http() as http:
        response = await http.get(authorize_url)
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
    browser = Browser(world, lambda_.oauth)

    # When the tenant starts the install
    url = lambda_.oauth.install_url(TENANT, "salla")

    # Then it answers Mercator's own start address, at the configured base
    assert url.startswith(f"{BASE_URL}/oauth/salla/start?state=")

    # And the browser that opens it goes to the app's authorize URL with the app's id, the
    # configured callback, Salla's scope and the state, without PKCE (Salla documents none)
    authorize = browser.open(url)
    parts = urlsplit(authorize)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ORIGIN}/oauth/authorize"
    assert {name: values[0] for name, values in query.items() if name != "state"} == {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "offline_access",
    }
    assert query["state"] == [state_of(url)]

    # When the merchant approves and the platform sends that browser back
    integration = await browser.callback("salla", await consent(world, authorize))

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
    # The first character: every bit of it counts (the last one's low bits are base64 padding, so
    # changing it can leave the signature's bytes as they were).
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [f"{forged}.{signature}", f"{payload}.{flipped}", payload, "", "not.a.state"]


@pytest.mark.anyio
async def test_a_tampered_state_creates_nothing(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    browser = Browser(world, lambda_.oauth)
    query = await browser.install(lambda_.oauth.install_url(TENANT, "salla"))

    for state in tampered(query["state"]):
        with pytest.raises(StateRejectedError):
            await browser.callback("salla", {**query, "state": state})

    assert_nothing_created(world, lambda_)
    # The genuine state was not used up by the refusals
    assert (await browser.callback("salla", query)).tenant_id == TENANT


@pytest.mark.anyio
async def test_an_expired_state_creates_nothing(world: OAuthWorld) -> None:
    started = time.time()
    lambda_ = world.cold_start(clock=lambda: started)
    browser = Browser(world, lambda_.oauth)
    query = await browser.install(lambda_.oauth.install_url(TENANT, "salla"))
    late = world.cold_start(clock=lambda: started + 600)  # exactly ten minutes later

    with pytest.raises(StateRejectedError, match="expired"):
        await late.oauth.callback("salla", query, browser.cookies)
    with pytest.raises(StateRejectedError, match="expired"):
        late.oauth.start("salla", query["state"])

    assert_nothing_created(world, lambda_)


@pytest.mark.anyio
async def test_a_reused_state_creates_nothing_more(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    browser = Browser(world, lambda_.oauth)
    query = await browser.install(lambda_.oauth.install_url(TENANT, "salla"))
    first = await browser.callback("salla", query)
    secrets_after_first = world.secret_names()

    with pytest.raises(StateRejectedError, match="used already"):
        await world.cold_start().oauth.callback("salla", query, browser.cookies)
    with pytest.raises(StateRejectedError, match="used already"):
        lambda_.oauth.start("salla", query["state"])

    assert [found.id for found in lambda_.integrations.for_tenant(TENANT)] == [first.id]
    assert world.secret_names() == secrets_after_first
    assert world.oauth_server.counters.token_calls == {"authorization_code": 1}


@pytest.mark.anyio
async def test_a_state_for_another_connector_creates_nothing(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    browser = Browser(world, lambda_.oauth)
    query = await browser.install(lambda_.oauth.install_url(TENANT, "salla"))

    with pytest.raises(StateRejectedError, match="another connector"):
        await browser.callback("zid", query)

    assert_nothing_created(world, lambda_)


@pytest.mark.anyio
async def test_a_declined_consent_is_reported_and_creates_nothing(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    browser = Browser(world, lambda_.oauth)
    query = await browser.install(lambda_.oauth.install_url(TENANT, "salla"))
    declined = {
        "state": query["state"],
        "error": "access_denied",
        "error_description": "The merchant said no",
    }

    with pytest.raises(AuthorizationDeniedError, match=r"access_denied \(The merchant said no\)"):
        await browser.callback("salla", declined)

    assert_nothing_created(world, lambda_)


@pytest.mark.anyio
async def test_a_code_the_platform_refuses_is_a_configuration_error(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    browser = Browser(world, lambda_.oauth)
    query = await browser.install(lambda_.oauth.install_url(TENANT, "salla"))

    with pytest.raises(TokenEndpointError, match="invalid_grant"):
        await browser.callback("salla", {**query, "code": "a-code-never-issued"})

    assert lambda_.integrations.for_tenant(TENANT) == []
    assert world.secret_names() == SETUP_SECRETS


@pytest.mark.anyio
async def test_a_second_install_of_the_same_connector_conflicts_before_any_token_call(
    world: OAuthWorld,
) -> None:
    lambda_ = world.cold_start()
    # Two installs started (in two tabs of the merchant's browser) before either came back
    tabs = Browser(world, lambda_.oauth), Browser(world, lambda_.oauth)
    first = await tabs[0].install(lambda_.oauth.install_url(TENANT, "salla"))
    second = await tabs[1].install(lambda_.oauth.install_url(TENANT, "salla"))
    installed = await tabs[0].callback("salla", first)

    with pytest.raises(IntegrationConflictError, match=installed.id):
        await tabs[1].callback("salla", second)
    with pytest.raises(IntegrationConflictError):
        lambda_.oauth.install_url(TENANT, "salla")

    assert world.oauth_server.counters.token_calls == {"authorization_code": 1}
    assert [found.id for found in lambda_.integrations.for_tenant(TENANT)] == [installed.id]


def shopify_app(world: OAuthWorld, **extra: object) -> None:
    document = {"clientId": "shopify-app", "clientSecret": "shpss_0a1b2c3d", **extra}
    world.secrets.create_secret(Name="mercator/oauth-apps/shopify", SecretString=json.dumps(document))


def test_a_shopify_install_needs_an_allowed_shop(world: OAuthWorld) -> None:
    shopify_app(world, allowedHosts=["*.myshopify.com"])
    oauth = world.cold_start().oauth

    url = oauth.install_url(TENANT, "shopify", {"shop": "acme.myshopify.com", "host": "ignored"})

    parts = urlsplit(Browser(world, oauth).open(url))
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://acme.myshopify.com/admin/oauth/authorize"
    )
    query = parse_qs(parts.query)
    assert query["scope"] == [
        "read_products write_products write_inventory read_customers read_orders read_fulfillments "
        "write_merchant_managed_fulfillment_orders"
    ]
    assert query["redirect_uri"] == [f"{BASE_URL}/oauth/shopify/callback"]
    # Shopify's authorization code grant documents no PKCE: shopify.yaml declares pkce: false
    assert "code_challenge" not in query and "code_challenge_method" not in query
    with pytest.raises(InstallRequestError, match="needs the install parameter"):
        oauth.install_url(TENANT, "shopify")
    with pytest.raises(OAuthConfigurationError, match="not one the OAuth app allows"):
        oauth.install_url(TENANT, "shopify", {"shop": "shop.evil.example"})
    with pytest.raises(InstallRequestError, match="host name or a plain value"):
        oauth.install_url(TENANT, "shopify", {"shop": "acme.myshopify.com/admin?x="})


@pytest.mark.anyio
async def test_a_callback_for_another_shop_than_the_installs_is_refused(world: OAuthWorld) -> None:
    shopify_app(world, allowedHosts=["*.myshopify.com"], scopeSeparator=",")
    oauth = world.cold_start().oauth
    browser = Browser(world, oauth)
    authorize = browser.open(oauth.install_url(TENANT, "shopify", {"shop": "acme.myshopify.com"}))
    state = state_of(authorize)
    scope = (
        "read_products,write_products,write_inventory,read_customers,read_orders,read_fulfillments,"
        "write_merchant_managed_fulfillment_orders"
    )
    assert parse_qs(urlsplit(authorize).query)["scope"] == [scope]

    with pytest.raises(StateRejectedError, match="callback's shop"):
        await browser.callback("shopify", {"state": state, "code": "c", "shop": "other.myshopify.com"})


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda o: o.install_url(TENANT, "woocommerce"), OAuthConfigurationError, "OAuth 2.0"),
        (lambda o: o.install_url(TENANT, "magento"), UnknownConnectorError, "magento"),
        (lambda o: o.install_url(TENANT, "../salla"), UnknownConnectorError, "salla"),
        (lambda o: o.install_url("bad tenant", "salla"), InstallRequestError, "tenant"),
        (lambda o: o.install_url(TENANT, "zid"), OAuthConfigurationError, "has no OAuth app"),
        (lambda o: o.start("salla", "not.a.state"), StateRejectedError, "malformed"),
        (lambda o: o.start("magento", "not.a.state"), UnknownConnectorError, "magento"),
    ],
)
def test_installs_that_cannot_start_say_why(
    world: OAuthWorld, call: Callable[..., object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(world.cold_start().oauth)
    assert world.secret_names() == SETUP_SECRETS


def test_installs_need_the_configured_base_url(world: OAuthWorld) -> None:
    # Without OAUTH_BASE_URL there is no address to give the platform: refused, saying what to set
    with pytest.raises(OAuthConfigurationError, match="OAuthBaseUrl"):
        world.cold_start(base_url=None).oauth.install_url(TENANT, "salla")
    for bad in ("http://api.mercator.test/dev", "https://api.mercator.test/dev?x=1", "/dev"):
        with pytest.raises(ValueError, match="https address"):
            world.cold_start(base_url=bad)


def test_the_install_url_keeps_the_authorize_urls_own_query(world: OAuthWorld) -> None:
    world.secrets.put_secret_value(
        SecretId="mercator/oauth-apps/salla",
        SecretString=json.dumps(
            {"clientId": "c", "clientSecret": "s", "authorizeUrl": f"{ORIGIN}/oauth/authorize?prompt=consent"}
        ),
    )
    oauth = world.cold_start().oauth
    authorize = Browser(world, oauth).open(oauth.install_url(TENANT, "salla"))
    assert urlsplit(authorize).query.startswith(urlencode({"prompt": "consent"}) + "&client_id=c&")


# --- the browser that consents ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_one_tenants_consent_cannot_complete_another_tenants_install(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    # Given tenant A's merchant, and tenant B (the attacker), each starting an install in their browser
    victim = Browser(world, lambda_.oauth)
    victim_authorize = victim.open(lambda_.oauth.install_url(TENANT, "salla"))
    attacker = Browser(world, lambda_.oauth)
    attacker_query = await attacker.install(lambda_.oauth.install_url(OTHER_TENANT, "salla"))

    # When B's consent code is delivered to A's unused state: from B's browser, and with no cookie
    forged = {**attacker_query, "state": state_of(victim_authorize)}
    with pytest.raises(InstallSessionError, match="another browser"):
        await attacker.callback("salla", forged)
    with pytest.raises(InstallSessionError, match="no install cookie"):
        await lambda_.oauth.callback("salla", forged, [])

    # Then nothing is stored for either tenant, and no code reached the token endpoint
    assert lambda_.integrations.for_tenant(TENANT) == []
    assert lambda_.integrations.for_tenant(OTHER_TENANT) == []
    assert world.secret_names() == SETUP_SECRETS
    assert world.oauth_server.counters.token_calls == {}
    # And each genuine install still completes, each for its own tenant, in its own browser
    mine = await victim.callback("salla", await consent(world, victim_authorize))
    theirs = await attacker.callback("salla", attacker_query)
    assert (mine.tenant_id, theirs.tenant_id) == (TENANT, OTHER_TENANT)


@pytest.mark.anyio
async def test_an_install_address_opens_in_one_browser_only(world: OAuthWorld) -> None:
    lambda_ = world.cold_start()
    url = lambda_.oauth.install_url(TENANT, "salla")
    first, second = Browser(world, lambda_.oauth), Browser(world, lambda_.oauth)
    query = await first.install(url)

    with pytest.raises(InstallSessionError, match="started in a browser already"):
        second.open(url)

    assert_nothing_created(world, lambda_)
    assert (await first.callback("salla", query)).tenant_id == TENANT


@pytest.mark.anyio
async def test_a_state_taken_from_the_install_address_without_starting_is_refused(world: OAuthWorld) -> None:
    # Given an install whose start address no browser opened, and a browser with a cookie of its own
    lambda_ = world.cold_start()
    state = state_of(lambda_.oauth.install_url(TENANT, "salla"))
    other = Browser(world, lambda_.oauth)
    await other.install(lambda_.oauth.install_url(OTHER_TENANT, "salla"))

    # When a callback presents that state with that cookie, a made-up one, or malformed ones
    for cookies in (other.cookies, ["A" * 43], ["", "x;y", "é" * 43]):
        with pytest.raises(InstallSessionError):
            await lambda_.oauth.callback("salla", {"state": state, "code": "c"}, cookies)

    # Then it is refused, saying why when a cookie was there
    with pytest.raises(InstallSessionError, match="never started"):
        await lambda_.oauth.callback("salla", {"state": state, "code": "c"}, other.cookies)
    assert lambda_.integrations.for_tenant(TENANT) == []
    assert world.oauth_server.counters.token_calls == {}


# --- PKCE -----------------------------------------------------------------------------------------


def b64url_sha256(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("ascii")).digest()).decode().rstrip("=")


def nonce_of(state: str) -> str:
    payload = state.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["n"])


@pytest.mark.anyio
async def test_a_pkce_connector_sends_the_challenge_and_then_its_verifier(world: OAuthWorld) -> None:
    # Given a Salla connector declaring auth.pkce: true, and a token endpoint that records its requests
    token_requests: list[dict[str, str]] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        token_requests.append({name: values[0] for name, values in form.items()})
        return httpx.Response(200, json={"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 60})

    lambda_ = world.cold_start(
        pkce=True, token_http=lambda: httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint))
    )
    browser = Browser(world, lambda_.oauth)

    # When an install goes through
    start_url = lambda_.oauth.install_url(TENANT, "salla")
    authorize_url = browser.open(start_url)
    query = await consent(world, authorize_url)
    integration = await browser.callback("salla", query)

    # Then the consent carried the S256 challenge of the verifier the token endpoint received
    (sent,) = token_requests
    verifier = sent["code_verifier"]
    assert 43 <= len(verifier) <= 128
    authorize = parse_qs(urlsplit(authorize_url).query)
    assert authorize["code_challenge"] == [b64url_sha256(verifier)]
    assert authorize["code_challenge_method"] == ["S256"]
    assert (sent["code"], sent["redirect_uri"], sent["grant_type"]) == (
        query["code"],
        REDIRECT,
        "authorization_code",
    )
    assert integration.tenant_id == TENANT
    # And the verifier never left Mercator but for the token endpoint: not in an address, and the
    # nonce's item holds it sealed, never in clear
    assert verifier not in start_url and verifier not in authorize_url
    stored = lambda_.dynamodb.get_item(TableName=TABLE, Key=nonce_key(nonce_of(query["state"])))["Item"]
    assert "verifier" in stored and verifier not in json.dumps(stored)


@pytest.mark.anyio
async def test_a_pkce_install_completes_at_a_server_that_checks_the_verifier(world: OAuthWorld) -> None:
    # The sandbox's OAuth server checks RFC 7636 (S256) whenever a consent carried a challenge.
    lambda_ = world.cold_start(pkce=True)
    browser = Browser(world, lambda_.oauth)
    query = await browser.install(lambda_.oauth.install_url(TENANT, "salla"))

    integration = await browser.callback("salla", query)

    assert integration.tenant_id == TENANT
    assert world.oauth_server.counters.snapshot()["token_calls"] == {"authorization_code": 1}
    assert world.oauth_server.counters.refused == {}
