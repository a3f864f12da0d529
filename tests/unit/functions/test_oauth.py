"""The OAuth handler: API Gateway proxy events in, redirects, the install cookie or the Integrations API's
envelope out.

The events are events/oauth/*.json. Their state was signed with SAMPLE_STATE_KEY for tenant-demo,
nonce SAMPLE_NONCE, valid until 2026-01-15 09:40 UTC (the events' requests are at 09:29 and 09:30);
the callback event's browser carries the install cookie SAMPLE_SESSION.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from moto import mock_aws

from mercator.services.oauth_state import session_hash
from mercator.settings import OAuthSettings, SettingsError
from mercator.state.oauth_nonces import DynamoOAuthNonces
from tests.fake_aws import use_fake_aws
from tests.integration.oauth.support import REGION, TABLE, OAuthWorld
from tests.unit.functions.conftest import Loader, load_event

BASE_URL = "https://75324b2de6.execute-api.eu-central-1.amazonaws.com/dev"
OAUTH_ENV = {
    "STATE_TABLE": TABLE,
    "OAUTH_STATE_KEY_SECRET": "mercator/oauth-state/key",
    "OAUTH_BASE_URL": BASE_URL,
}
SAMPLE_STATE_KEY = "mercator-sample-oauth-state-key-for-events-0001"
SAMPLE_NONCE = "c2FtcGxlLW5vbmNlLW9mLWFuLWluc3RhbGw"
SAMPLE_SESSION = "c2FtcGxlLXNlc3Npb24tb2YtdGhlLWluc3RhbGxpbmctYnJvd3Nlcg"
SAMPLE_AUTHORIZE = "http://salla.sandbox.test/oauth/authorize?client_id=mercator-salla-app&state=sample"
REQUEST_TIME = 1768469400  # requestTimeEpoch of the events, in seconds
CALLBACK = f"{BASE_URL}/oauth/salla/callback"
COOKIE = "__Secure-mercator-oauth"
ATTACKER = "tenant-mallory"


class Context:
    function_name = "OAuthFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:OAuthFunction"
    aws_request_id = "5b1f7a4e-0000-4000-8000-000000000002"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[OAuthWorld]:
    use_fake_aws(monkeypatch, REGION)
    with mock_aws():
        built = OAuthWorld()
        built.secrets.put_secret_value(SecretId="mercator/oauth-state/key", SecretString=SAMPLE_STATE_KEY)
        yield built


@pytest.fixture
def app(load_app: Loader, world: OAuthWorld) -> ModuleType:
    module = load_app("oauth", OAUTH_ENV)
    lambda_ = world.cold_start(clock=lambda: REQUEST_TIME, base_url=module.settings.base_url)
    module.build_services = lambda settings: lambda_.oauth
    return module


@dataclass
class Answer:
    status: int
    headers: dict[str, list[str]]
    body: Any
    raw: str

    def header(self, name: str) -> str:
        return self.headers[name][-1]


def call(app: ModuleType, event: dict[str, Any]) -> Answer:
    response = app.lambda_handler(event, Context())
    # A REST API proxy answer carries its headers (and each Set-Cookie) as multiValueHeaders
    headers = dict(response.get("multiValueHeaders") or {})
    text = response.get("body") or ""
    body = json.loads(text) if text else None
    return Answer(response["statusCode"], headers, body, json.dumps(response))


def with_query(event: dict[str, Any], **query: str) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["queryStringParameters"] = {**(event["queryStringParameters"] or {}), **query}
    changed["multiValueQueryStringParameters"] = {
        name: [value] for name, value in changed["queryStringParameters"].items()
    }
    return changed


def with_header(event: dict[str, Any], name: str, value: str | None) -> dict[str, Any]:
    """The event with header ``name`` set to ``value`` (removed when None)."""
    changed = copy.deepcopy(event)
    for headers in (changed["headers"], changed["multiValueHeaders"]):
        for present in [key for key in headers if key.lower() == name.lower()]:
            del headers[present]
        if value is not None:
            headers[name] = value if headers is changed["headers"] else [value]
    return changed


def install_event(tenant: str = "tenant-demo") -> dict[str, Any]:
    event = load_event("oauth/install.json")
    event["requestContext"]["authorizer"]["tenantId"] = tenant
    return event


def start_event(start_url: str) -> dict[str, Any]:
    event = load_event("oauth/start.json")
    query = {name: values[0] for name, values in parse_qs(urlsplit(start_url).query).items()}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    return event


def callback_event(query: dict[str, str], cookie: str | None) -> dict[str, Any]:
    event = load_event("oauth/callback.json")
    event["queryStringParameters"] = dict(query)
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    return with_header(event, "Cookie", cookie)


def cookie_attributes(set_cookie: str) -> tuple[str, str, dict[str, str]]:
    """Name, value and attributes (lower-case names) of a Set-Cookie header."""
    pair, *attributes = (part.strip() for part in set_cookie.split(";"))
    name, _, value = pair.partition("=")
    found = {}
    for attribute in attributes:
        key, _, setting = attribute.partition("=")
        found[key.lower()] = setting
    return name, value, found


async def _consent(world: OAuthWorld, authorize_url: str) -> dict[str, str]:
    async with world.http() as http:
        response = await http.get(authorize_url)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return {name: values[0] for name, values in parse_qs(location.query).items()}


@dataclass
class Browser:
    """A merchant's browser against the handler: it follows the start address and keeps its cookie."""

    app: ModuleType
    world: OAuthWorld
    cookie: str | None = None
    answers: list[Answer] = field(default_factory=list)

    def open(self, start_url: str, **headers: str) -> str:
        """Open the start address: keep the install cookie; the consent page the browser is sent to."""
        event = start_event(start_url)
        for name, value in headers.items():
            event = with_header(event, name, value)
        answer = call(self.app, event)
        self.answers.append(answer)
        assert answer.status == 302, answer.body
        (set_cookie,) = answer.headers["Set-Cookie"]
        name, value, _ = cookie_attributes(set_cookie)
        assert name == COOKIE
        self.cookie = f"{name}={value}"
        return answer.header("Location")

    def consent(self, authorize_url: str) -> dict[str, str]:
        """The merchant approves at the platform (the sandbox): the callback's query."""
        # The handler runs its own event loop, as on Lambda: the tests stay synchronous.
        return asyncio.run(_consent(self.world, authorize_url))

    def callback(self, query: dict[str, str]) -> Answer:
        answer = call(self.app, callback_event(query, self.cookie))
        self.answers.append(answer)
        return answer


def install(app: ModuleType, tenant: str = "tenant-demo") -> str:
    """The tenant's install request: Mercator's start address."""
    answer = call(app, install_event(tenant))
    assert answer.status == 302, answer.body
    return answer.header("Location")


def sandbox_code(world: OAuthWorld, redirect_uri: str) -> str:
    """A code from the sandbox's consent page for ``redirect_uri``."""

    async def consent() -> str:
        async with world.http() as http:
            response = await http.get(
                "/oauth/authorize",
                params={
                    "client_id": "mercator-salla-app",
                    "redirect_uri": redirect_uri,
                    "response_type": "code",
                },
            )
        return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]

    return asyncio.run(consent())


def sample_install(world: OAuthWorld, *, started: bool = True) -> DynamoOAuthNonces:
    """The install the events' state was issued for; started in the callback event's browser."""
    nonces = DynamoOAuthNonces(world.cold_start().dynamodb, TABLE, clock=lambda: REQUEST_TIME)
    nonces.record(SAMPLE_NONCE, REQUEST_TIME + 600, authorize_url=SAMPLE_AUTHORIZE)
    if started:
        nonces.bind(SAMPLE_NONCE, session_hash(SAMPLE_SESSION))
    return nonces


# --- install and start ----------------------------------------------------------------------------


def test_install_answers_the_start_address_at_the_configured_base(app: ModuleType) -> None:
    answer = call(app, load_event("oauth/install.json"))

    assert answer.status == 302
    location = answer.header("Location")
    assert answer.body == {"success": True, "data": {"url": location}}
    assert location.startswith(f"{BASE_URL}/oauth/salla/start?state=")
    # No cookie for the client that asked: the browser that opens the address gets it
    assert "Set-Cookie" not in answer.headers


def test_the_start_event_sets_the_install_cookie_for_the_callback_only(
    app: ModuleType, world: OAuthWorld
) -> None:
    sample_install(world, started=False)

    answer = call(app, load_event("oauth/start.json"))

    assert answer.status == 302
    assert answer.header("Location") == SAMPLE_AUTHORIZE
    assert answer.header("Cache-Control") == "no-store"
    (set_cookie,) = answer.headers["Set-Cookie"]
    name, value, attributes = cookie_attributes(set_cookie)
    assert name == COOKIE and len(value) >= 43
    # HttpOnly, Secure, SameSite=Lax, on the callback's path, for the state's remaining ten minutes
    assert attributes == {
        "path": "/dev/oauth/salla/callback",
        "max-age": "600",
        "httponly": "",
        "secure": "",
        "samesite": "Lax",
    }
    # What was stored is the session's hash, never the session
    item = world.cold_start().dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"OAUTHNONCE#{SAMPLE_NONCE}"}, "sk": {"S": "OAUTHNONCE"}}
    )["Item"]
    assert item["session_hash"] == {"S": session_hash(value)} and value not in json.dumps(item)


def test_a_forged_host_gets_the_configured_addresses(app: ModuleType, world: OAuthWorld) -> None:
    # Given requests whose Host and forwarding headers name another site
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    event = install_event()
    for name, value in forged.items():
        event = with_header(event, name, value)

    # When the install is asked for and its start address opened with them
    answer = call(app, event)
    browser = Browser(app, world)
    authorize = browser.open(answer.header("Location"), **forged)

    # Then every address is the configured one: the start address, the redirect_uri, the cookie's path
    assert answer.header("Location").startswith(f"{BASE_URL}/oauth/salla/start?")
    assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == [CALLBACK]
    assert "evil.example" not in answer.raw and "evil.example" not in browser.answers[0].raw
    assert (
        cookie_attributes(browser.answers[0].header("Set-Cookie"))[2]["path"] == "/dev/oauth/salla/callback"
    )


def test_a_start_address_opens_in_one_browser_only(app: ModuleType, world: OAuthWorld) -> None:
    start_url = install(app)
    Browser(app, world).open(start_url)

    answer = call(app, start_event(start_url))

    assert answer.status == 403
    assert answer.body["error"]["code"] == "FORBIDDEN"
    assert "started in a browser already" in answer.body["error"]["message"]
    assert "Set-Cookie" not in answer.headers


def test_install_reads_the_tenant_only_from_the_authorizer(app: ModuleType) -> None:
    event = with_query(load_event("oauth/install.json"), tenantId="tenant-mallory")
    event["headers"]["X-Tenant-Id"] = "tenant-mallory"
    del event["requestContext"]["authorizer"]

    answer = call(app, event)

    assert answer.status == 401
    assert answer.body == {
        "success": False,
        "error": {"code": "UNAUTHORIZED", "message": "the request carries no authorized tenant"},
    }


def test_an_unknown_connector_is_not_found(app: ModuleType) -> None:
    event = load_event("oauth/install.json")
    event["path"] = "/oauth/magento/install"
    event["pathParameters"] = {"connector": "magento"}
    answer = call(app, event)
    assert answer.status == 404
    assert answer.body["error"] == {"code": "NOT_FOUND", "message": "no connector 'magento'"}


# --- the callback and its browser -----------------------------------------------------------------


def test_the_browser_that_started_the_install_completes_it(app: ModuleType, world: OAuthWorld) -> None:
    browser = Browser(app, world)
    query = browser.consent(browser.open(install(app)))

    answer = browser.callback(query)

    assert answer.status == 200, answer.body
    assert answer.header("Cache-Control") == "no-store"
    data = answer.body["data"]
    assert (data["provider"], data["status"]) == ("salla", "active")
    integration = world.cold_start().integrations.get(data["guid"])
    assert integration is not None and integration.tenant_id == "tenant-demo"


def test_the_callback_event_creates_the_integration(app: ModuleType, world: OAuthWorld) -> None:
    # Given the install the callback event's state was issued for, started in the event's browser
    sample_install(world)
    event = with_query(load_event("oauth/callback.json"), code=sandbox_code(world, CALLBACK))

    answer = call(app, event)

    assert answer.status == 200, answer.body
    data = answer.body["data"]
    assert answer.body["success"] is True
    assert (data["provider"], data["status"]) == ("salla", "active")
    assert data["connectedAt"].endswith("Z") and len(data["connectedAt"]) == 20
    integration = world.cold_start().integrations.get(data["guid"])
    assert integration is not None and integration.tenant_id == "tenant-demo"
    # The tokens are in the integration's secret, never in the response
    credentials = world.cold_start().vault.credentials(integration)
    assert credentials["accessToken"] not in answer.raw

    # And the same callback again is a refused state
    again = call(app, event)
    assert again.status == 400
    assert again.body["error"]["code"] == "CONFIGURATION_ERROR"
    assert "used already" in again.body["error"]["message"]


def test_a_callback_without_the_install_cookie_is_refused(app: ModuleType, world: OAuthWorld) -> None:
    # Given an install started in a browser, and its consent
    browser = Browser(app, world)
    query = browser.consent(browser.open(install(app)))

    # When the callback arrives without the cookie, or with a cookie of another name or a made-up value
    refusals = [
        call(app, callback_event(query, cookie))
        for cookie in (None, f"session={SAMPLE_SESSION}", f"{COOKIE}={SAMPLE_SESSION}", f"{COOKIE}=")
    ]

    # Then each is forbidden, saying why, and nothing is stored
    assert [answer.status for answer in refusals] == [403] * 4
    assert {answer.body["error"]["code"] for answer in refusals} == {"FORBIDDEN"}
    assert "no install cookie" in refusals[0].body["error"]["message"]
    assert "another browser" in refusals[2].body["error"]["message"]
    assert world.cold_start().integrations.for_tenant("tenant-demo") == []
    assert world.oauth_server.counters.token_calls == {}
    # And the browser that started it still completes it
    assert browser.callback(query).status == 200


def test_one_tenants_consent_cannot_complete_another_tenants_install(
    app: ModuleType, world: OAuthWorld
) -> None:
    # Given tenant A's merchant starting an install, and tenant B starting one and consenting
    victim = Browser(app, world)
    victim_authorize = victim.open(install(app, "tenant-demo"))
    attacker = Browser(app, world)
    attacker_query = attacker.consent(attacker.open(install(app, ATTACKER)))
    victim_state = parse_qs(urlsplit(victim_authorize).query)["state"][0]
    secrets_before = world.secret_names()

    # When B's consent code is delivered with A's unused state: from B's browser, and with no cookie
    forged = {**attacker_query, "state": victim_state}
    from_attacker = attacker.callback(forged)
    cookieless = call(app, callback_event(forged, None))

    # Then both are refused, and nothing is stored for either tenant: no token call, no secret
    for answer in (from_attacker, cookieless):
        assert answer.status == 403
        assert answer.body["error"]["code"] == "FORBIDDEN"
    assert "another browser" in from_attacker.body["error"]["message"]
    lambda_ = world.cold_start()
    assert lambda_.integrations.for_tenant("tenant-demo") == []
    assert lambda_.integrations.for_tenant(ATTACKER) == []
    assert world.secret_names() == secrets_before
    assert world.oauth_server.counters.token_calls == {}
    # And A's install is still A's to finish
    assert victim.callback(victim.consent(victim_authorize)).status == 200


def test_a_tampered_callback_is_a_configuration_error(app: ModuleType, world: OAuthWorld) -> None:
    sample_install(world)
    event = load_event("oauth/callback.json")
    state = event["queryStringParameters"]["state"]
    answer = call(app, with_query(event, state=state[:-2] + "xx"))

    assert answer.status == 400
    assert answer.body == {
        "success": False,
        "error": {
            "code": "CONFIGURATION_ERROR",
            "message": "the state's signature does not match: it was altered or not issued here",
        },
    }
    assert world.cold_start().integrations.for_tenant("tenant-demo") == []


def test_a_second_install_conflicts(app: ModuleType, world: OAuthWorld) -> None:
    sample_install(world)
    call(app, with_query(load_event("oauth/callback.json"), code=sandbox_code(world, CALLBACK)))

    answer = call(app, load_event("oauth/install.json"))

    assert answer.status == 409
    assert answer.body["error"]["code"] == "CONFLICT"
    assert "already has integration" in answer.body["error"]["message"]


# --- PKCE -----------------------------------------------------------------------------------------


def test_pkce_sends_the_verifier_to_the_token_endpoint_and_nowhere_else(
    load_app: Loader,
    world: OAuthWorld,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a connector declaring auth.pkce: true, and a token endpoint that records what it gets
    token_requests: list[httpx.Request] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        token_requests.append(request)
        return httpx.Response(200, json={"access_token": "at-pkce", "refresh_token": "rt-pkce"})

    module = load_app("oauth", {**OAUTH_ENV, "POWERTOOLS_LOG_LEVEL": "DEBUG"})
    lambda_ = world.cold_start(
        clock=lambda: REQUEST_TIME,
        base_url=module.settings.base_url,
        pkce=True,
        token_http=lambda: httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint)),
    )
    module.build_services = lambda settings: lambda_.oauth
    caplog.set_level(logging.DEBUG)

    # When an install goes through: install, start, consent, callback
    answers = [call(module, install_event())]
    browser = Browser(module, world)
    authorize = browser.open(answers[0].header("Location"))
    answers.append(browser.callback(browser.consent(authorize)))
    answers.extend(browser.answers)

    # Then the verifier went to the token endpoint with the code
    assert answers[1].status == 200, answers[1].body
    (request,) = token_requests
    form = {name: values[0] for name, values in parse_qs(request.content.decode()).items()}
    verifier = form["code_verifier"]
    assert form["grant_type"] == "authorization_code" and form["redirect_uri"] == CALLBACK
    # And the consent carried its challenge: BASE64URL(SHA256(verifier)), unpadded, method S256
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge"] == [challenge] and query["code_challenge_method"] == ["S256"]
    # And the verifier is in no response and no log line
    assert all(verifier not in answer.raw for answer in answers)
    logged = capsys.readouterr()
    assert caplog.records and verifier not in caplog.text
    assert verifier not in logged.out and verifier not in logged.err


# --- wiring and settings ---------------------------------------------------------------------------


def test_the_services_are_wired_to_aws_at_cold_start(load_app: Loader, world: OAuthWorld) -> None:
    module = load_app("oauth", OAUTH_ENV)
    assert module.settings.state_ttl_seconds == 600
    assert module.settings.base_url == BASE_URL

    service = module.build_services(module.settings)

    # Wired to the state table, the secrets and the configured base: the start address of an install
    url = service.install_url("tenant-demo", "salla")
    assert url.startswith(f"{BASE_URL}/oauth/salla/start?state=")
    assert service.redirect_uri("salla") == CALLBACK


@pytest.mark.parametrize(
    "secret", ["mercator/oauth-state-key", "mercator/credentials/t/i", "oauth-state/key"]
)
def test_the_state_key_must_be_a_secret_of_its_kind(secret: str) -> None:
    # The OAuth function may read the state key it is given (mercator/oauth-state/...) and no other secret.
    with pytest.raises(
        SettingsError, match="OAUTH_STATE_KEY_SECRET: must name a secret under mercator/oauth-state/"
    ):
        OAuthSettings.from_environ({**OAUTH_ENV, "OAUTH_STATE_KEY_SECRET": secret})

    arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/oauth-state/key-dev-Ab12Cd"
    assert OAuthSettings.from_environ({**OAUTH_ENV, "OAUTH_STATE_KEY_SECRET": arn}).state_key_secret == arn


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("  ", None),
        (f"{BASE_URL}/", BASE_URL),
        ("https://api.shop-sync.example", "https://api.shop-sync.example"),
    ],
)
def test_the_base_url_is_optional_and_kept_without_a_trailing_slash(value: str, expected: str | None) -> None:
    assert OAuthSettings.from_environ({**OAUTH_ENV, "OAUTH_BASE_URL": value}).base_url == expected


@pytest.mark.parametrize(
    "value",
    [
        "http://api.shop-sync.example",
        "api.shop-sync.example",
        "https://api.example/?x=1",
        "https://a@b.example",
    ],
)
def test_a_base_url_that_is_not_a_plain_https_address_stops_the_cold_start(value: str) -> None:
    with pytest.raises(SettingsError, match="OAUTH_BASE_URL"):
        OAuthSettings.from_environ({**OAUTH_ENV, "OAUTH_BASE_URL": value})


def test_the_settings_name_every_missing_or_bad_variable() -> None:
    with pytest.raises(SettingsError) as raised:
        OAuthSettings.from_environ({"OAUTH_STATE_TTL_SECONDS": "30"})
    message = str(raised.value)
    assert message.startswith("OAuth cannot start: ")
    assert "environment variable STATE_TABLE is not set" in message
    assert "environment variable OAUTH_STATE_KEY_SECRET is not set" in message
    assert "OAUTH_STATE_TTL_SECONDS" in message
