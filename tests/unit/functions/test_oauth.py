"""The OAuth handler: API Gateway proxy events in, a redirect or the Integrations API's envelope out.

The events are events/oauth/*.json. The callback event's state was signed with SAMPLE_STATE_KEY for
tenant-demo, nonce SAMPLE_NONCE, valid until 2026-01-15 09:40 UTC (the event's request is at 09:30).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from moto import mock_aws

from mercator.settings import OAuthSettings, SettingsError
from mercator.state.oauth_nonces import DynamoOAuthNonces
from tests.fake_aws import use_fake_aws
from tests.integration.oauth.support import REGION, TABLE, OAuthWorld
from tests.unit.functions.conftest import Loader, load_event

OAUTH_ENV = {"STATE_TABLE": TABLE, "OAUTH_STATE_KEY_SECRET": "mercator/oauth-state/key"}
SAMPLE_STATE_KEY = "mercator-sample-oauth-state-key-for-events-0001"
SAMPLE_NONCE = "c2FtcGxlLW5vbmNlLW9mLWFuLWluc3RhbGw"
REQUEST_TIME = 1768469400  # requestTimeEpoch of the events, in seconds
CALLBACK = "https://75324b2de6.execute-api.eu-central-1.amazonaws.com/dev/oauth/salla/callback"


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
    lambda_ = world.cold_start(clock=lambda: REQUEST_TIME)
    module.build_services = lambda settings: lambda_.oauth
    return module


def call(app: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = app.lambda_handler(event, Context())
    # A REST API proxy answer carries its headers as multiValueHeaders
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], headers, json.loads(response["body"])


def with_query(event: dict[str, Any], **query: str) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["queryStringParameters"] = {**(event["queryStringParameters"] or {}), **query}
    changed["multiValueQueryStringParameters"] = {
        name: [value] for name, value in changed["queryStringParameters"].items()
    }
    return changed


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

    # The handler runs its own event loop, as on Lambda: the tests stay synchronous.
    return asyncio.run(consent())


def test_install_redirects_to_the_consent_page_with_the_callback_of_this_api(app: ModuleType) -> None:
    status, headers, body = call(app, load_event("oauth/install.json"))

    assert status == 302
    location = headers["Location"]
    assert body == {"success": True, "data": {"url": location}}
    query = parse_qs(urlsplit(location).query)
    # The host the client called, with the stage, since it is the API's own execute-api domain
    assert query["redirect_uri"] == [CALLBACK]
    assert query["client_id"] == ["mercator-salla-app"]


def test_install_on_a_custom_domain_leaves_the_stage_out(app: ModuleType) -> None:
    event = load_event("oauth/install.json")
    event["headers"]["Host"] = "api.shop-sync.example"
    _, headers, _ = call(app, event)
    assert parse_qs(urlsplit(headers["Location"]).query)["redirect_uri"] == [
        "https://api.shop-sync.example/oauth/salla/callback"
    ]


def test_install_reads_the_tenant_only_from_the_authorizer(app: ModuleType) -> None:
    event = with_query(load_event("oauth/install.json"), tenantId="tenant-mallory")
    event["headers"]["X-Tenant-Id"] = "tenant-mallory"
    del event["requestContext"]["authorizer"]

    status, _, body = call(app, event)

    assert status == 401
    assert body == {
        "success": False,
        "error": {"code": "UNAUTHORIZED", "message": "the request carries no authorized tenant"},
    }


def test_an_unknown_connector_is_not_found(app: ModuleType) -> None:
    event = load_event("oauth/install.json")
    event["path"] = "/oauth/magento/install"
    event["pathParameters"] = {"connector": "magento"}
    status, _, body = call(app, event)
    assert status == 404
    assert body["error"] == {"code": "NOT_FOUND", "message": "no connector 'magento'"}


def test_the_callback_event_creates_the_integration(app: ModuleType, world: OAuthWorld) -> None:
    # Given the install the callback event's state was issued for, and the code the consent gave
    DynamoOAuthNonces(world.cold_start().dynamodb, TABLE).record(SAMPLE_NONCE, REQUEST_TIME + 600)
    event = with_query(load_event("oauth/callback.json"), code=sandbox_code(world, CALLBACK))

    status, headers, body = call(app, event)

    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    data = body["data"]
    assert body["success"] is True
    assert (data["provider"], data["status"]) == ("salla", "active")
    assert data["connectedAt"].endswith("Z") and len(data["connectedAt"]) == 20
    integration = world.cold_start().integrations.get(data["guid"])
    assert integration is not None and integration.tenant_id == "tenant-demo"
    # The tokens are in the integration's secret, never in the response
    credentials = world.cold_start().vault.credentials(integration)
    assert credentials["accessToken"] not in json.dumps(body)

    # And the same callback again is a refused state
    status, _, body = call(app, event)
    assert status == 400
    assert body["error"]["code"] == "CONFIGURATION_ERROR"
    assert "used already" in body["error"]["message"]


def test_a_tampered_callback_is_a_configuration_error(app: ModuleType, world: OAuthWorld) -> None:
    event = load_event("oauth/callback.json")
    state = event["queryStringParameters"]["state"]
    status, _, body = call(app, with_query(event, state=state[:-2] + "xx"))

    assert status == 400
    assert body == {
        "success": False,
        "error": {
            "code": "CONFIGURATION_ERROR",
            "message": "the state's signature does not match: it was altered or not issued here",
        },
    }
    assert world.cold_start().integrations.for_tenant("tenant-demo") == []


def test_a_second_install_conflicts(app: ModuleType, world: OAuthWorld) -> None:
    DynamoOAuthNonces(world.cold_start().dynamodb, TABLE).record(SAMPLE_NONCE, REQUEST_TIME + 600)
    call(app, with_query(load_event("oauth/callback.json"), code=sandbox_code(world, CALLBACK)))

    status, _, body = call(app, load_event("oauth/install.json"))

    assert status == 409
    assert body["error"]["code"] == "CONFLICT"
    assert "already has integration" in body["error"]["message"]


def test_the_services_are_wired_to_aws_at_cold_start(load_app: Loader, world: OAuthWorld) -> None:
    module = load_app("oauth", OAUTH_ENV)
    assert module.settings.state_ttl_seconds == 600

    service = module.build_services(module.settings)

    # Wired to the state table and the secrets: an install URL of the app registered in Secrets Manager
    url = service.install_url("tenant-demo", "salla", CALLBACK)
    assert parse_qs(urlsplit(url).query)["client_id"] == ["mercator-salla-app"]


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


def test_the_settings_name_every_missing_or_bad_variable() -> None:
    with pytest.raises(SettingsError) as raised:
        OAuthSettings.from_environ({"OAUTH_STATE_TTL_SECONDS": "30"})
    message = str(raised.value)
    assert message.startswith("OAuth cannot start: ")
    assert "environment variable STATE_TABLE is not set" in message
    assert "environment variable OAUTH_STATE_KEY_SECRET is not set" in message
    assert "OAUTH_STATE_TTL_SECONDS" in message
