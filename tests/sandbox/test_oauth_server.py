"""The sandbox's OAuth server: consent redirects, code and refresh grants, rotation, expiry, client checks."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mercator_sandbox import OAuthServerConfig, Sandbox
from tests.sandbox.conftest import FakeClock

CLIENT = OAuthServerConfig(client_id="app-1", client_secret="app-1-secret", access_token_seconds=3600)
REDIRECT = "https://mercator.example/oauth/salla/callback"
SIZES = {"orders": 3, "products": 0, "customers": 0, "carts": 0}


def oauth_store(clock: FakeClock, flavor: str = "salla") -> Sandbox:
    return Sandbox(flavor, sizes=SIZES, rate_limit=None, clock=clock, oauth=CLIENT)  # type: ignore[arg-type]


def http(sandbox: Sandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url="http://store.test")


async def authorize(client: httpx.AsyncClient, **overrides: str) -> httpx.Response:
    params = {"client_id": "app-1", "redirect_uri": REDIRECT, "response_type": "code", "state": "s-1"}
    params.update(overrides)
    return await client.get("/oauth/authorize", params=params)


async def code_of(client: httpx.AsyncClient) -> str:
    response = await authorize(client)
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


async def token(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    body = {"client_id": "app-1", "client_secret": "app-1-secret", **form}
    return await client.post("/oauth/token", data=body)


@pytest.mark.anyio
async def test_consent_redirects_back_with_a_code_and_the_state(clock: FakeClock) -> None:
    sandbox = oauth_store(clock)
    async with http(sandbox) as client:
        response = await authorize(client, redirect_uri=REDIRECT + "?keep=1")

    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    query = parse_qs(target.query)
    assert query["keep"] == ["1"] and query["state"] == ["s-1"] and len(query["code"][0]) >= 20
    assert sandbox.oauth is not None and sandbox.oauth.counters.authorizations == 1


@pytest.mark.anyio
async def test_consent_refuses_an_unknown_client_without_redirecting(clock: FakeClock) -> None:
    async with http(oauth_store(clock)) as client:
        response = await authorize(client, client_id="someone-else")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


@pytest.mark.anyio
async def test_a_code_gives_tokens_once_and_they_work_until_they_expire(clock: FakeClock) -> None:
    # Given a code from the consent page
    sandbox = oauth_store(clock)
    async with http(sandbox) as client:
        code = await code_of(client)

        # When it is traded, and traded again
        first = await token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
        again = await token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)

        # Then the first call gets bearer tokens for an hour, the second invalid_grant
        grant = first.json()
        assert first.status_code == 200
        assert grant["token_type"] == "bearer" and grant["expires_in"] == 3600
        assert grant["access_token"] != grant["refresh_token"]
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

        # And the store takes the token for 3599 s of its clock, then answers Salla's 401
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        clock.advance(3599)
        assert (await client.get("/admin/v2/orders", headers=headers)).status_code == 200
        clock.advance(1)
        expired = await client.get("/admin/v2/orders", headers=headers)
    assert expired.status_code == 401
    assert expired.json() == {
        "status": 401,
        "success": False,
        "error": {"code": "Unauthorized", "message": "The access token should be a valid one"},
    }


@pytest.mark.anyio
async def test_a_refresh_token_rotates_and_is_refused_after_use(clock: FakeClock) -> None:
    sandbox = oauth_store(clock)
    issued = sandbox.oauth.issue() if sandbox.oauth else None
    assert issued is not None
    async with http(sandbox) as client:
        renewed = await token(client, grant_type="refresh_token", refresh_token=issued.refresh_token)
        reused = await token(client, grant_type="refresh_token", refresh_token=issued.refresh_token)
        chained = await token(
            client, grant_type="refresh_token", refresh_token=renewed.json()["refresh_token"]
        )

    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != issued.refresh_token
    assert renewed.json()["access_token"] != issued.access_token
    assert reused.status_code == 400
    assert reused.json() == {
        "error": "invalid_grant",
        "error_description": "the refresh token was used already",
    }
    assert chained.status_code == 200
    assert sandbox.oauth is not None
    assert sandbox.oauth.counters.snapshot()["token_calls"] == {"refresh_token": 2}
    assert sandbox.oauth.counters.refused["invalid_grant"] == 1


@pytest.mark.anyio
async def test_the_client_secret_is_checked_in_the_body_and_in_basic(clock: FakeClock) -> None:
    sandbox = oauth_store(clock)
    assert sandbox.oauth is not None
    issued = sandbox.oauth.issue()
    async with http(sandbox) as client:
        wrong = await client.post(
            "/oauth/token",
            data={
                "client_id": "app-1",
                "client_secret": "guess",
                "grant_type": "refresh_token",
                "refresh_token": issued.refresh_token,
            },
        )
        basic = base64.b64encode(b"app-1:app-1-secret").decode()
        right = await client.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": issued.refresh_token},
            headers={"Authorization": f"Basic {basic}"},
        )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    # The refused call did not spend the refresh token
    assert right.status_code == 200


@pytest.mark.anyio
async def test_a_code_is_bound_to_its_redirect_uri_and_lifetime(clock: FakeClock) -> None:
    sandbox = oauth_store(clock)
    async with http(sandbox) as client:
        elsewhere = await token(
            client, grant_type="authorization_code", code=await code_of(client), redirect_uri=REDIRECT + "x"
        )
        late_code = await code_of(client)
        clock.advance(600)
        late = await token(client, grant_type="authorization_code", code=late_code, redirect_uri=REDIRECT)
        unknown_grant = await token(client, grant_type="password")
    assert elsewhere.status_code == 400 and elsewhere.json()["error"] == "invalid_grant"
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert unknown_grant.status_code == 400 and unknown_grant.json()["error"] == "unsupported_grant_type"


@pytest.mark.anyio
async def test_a_code_with_a_pkce_challenge_needs_its_verifier(clock: FakeClock) -> None:
    # Given codes whose consents carried the S256 challenge of a verifier
    verifier = "v3rifier-of-the-sandbox-consent_0123456789~."
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    async with http(oauth_store(clock)) as client:
        codes = []
        for _ in range(3):
            consent = await authorize(client, code_challenge=challenge, code_challenge_method="S256")
            codes.append(parse_qs(urlsplit(consent.headers["location"]).query)["code"][0])
        exchange = {"grant_type": "authorization_code", "redirect_uri": REDIRECT}

        # When each is traded without the verifier, with another one, and with its own
        missing = await token(client, code=codes[0], **exchange)
        other = await token(client, code=codes[1], code_verifier="o" * 43, **exchange)
        right = await token(client, code=codes[2], code_verifier=verifier, **exchange)
        # And a consent names a method RFC 7636 does not define
        odd = await authorize(client, code_challenge=challenge, code_challenge_method="S512")

    # Then only the verifier of the challenge gets tokens
    assert [missing.status_code, other.status_code, right.status_code] == [400, 400, 200]
    assert missing.json()["error"] == other.json()["error"] == "invalid_grant"
    assert parse_qs(urlsplit(odd.headers["location"]).query)["error"] == ["invalid_request"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("flavor", "header", "sample"),
    [
        ("salla", "Authorization", "Bearer sandbox-token"),
        ("shopify", "X-Shopify-Access-Token", "shpat_sandbox"),
    ],
)
async def test_with_the_server_on_only_issued_tokens_and_the_sample_token_are_taken(
    clock: FakeClock, flavor: str, header: str, sample: str
) -> None:
    sandbox = oauth_store(clock, flavor)
    assert sandbox.oauth is not None
    issued = sandbox.oauth.issue().access_token
    path = sandbox.flavor.prefix + "/orders.json" if flavor == "shopify" else "/admin/v2/orders"
    issued_value = f"Bearer {issued}" if flavor == "salla" else issued
    made_up = "Bearer made-up-token" if flavor == "salla" else "made-up-token"
    async with http(sandbox) as client:
        statuses = [
            (await client.get(path, headers={header: value})).status_code
            for value in (sample, issued_value, made_up)
        ]
    assert statuses == [200, 200, 401]


@pytest.mark.anyio
async def test_without_the_server_any_token_is_taken_as_before(clock: FakeClock) -> None:
    sandbox = Sandbox("salla", sizes=SIZES, rate_limit=None, clock=clock)
    async with http(sandbox) as client:
        listed = await client.get("/admin/v2/orders", headers={"Authorization": "Bearer anything"})
        consent = await client.get("/oauth/authorize", params={"client_id": "app-1"})
    assert listed.status_code == 200
    assert consent.status_code == 404
    assert sandbox.oauth is None
