"""PKCE (RFC 7636): verifiers, their S256 challenge worked out by hand, and the token call that sends one."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs

import httpx
import pytest

from mercator.domain.oauth_installs import OAuthApp, TokenEndpointError
from mercator.domain.pkce import code_challenge, new_code_verifier
from mercator.providers.oauth_tokens import OAuthTokenClient

APP = OAuthApp(clientId="client-1", clientSecret="cs_9a8b7c6d5e4f3a2b1c0d")
TOKEN_URL = "https://accounts.example/oauth2/token"
UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def test_verifiers_are_fresh_and_of_the_rfcs_alphabet_and_length() -> None:
    verifiers = {new_code_verifier() for _ in range(50)}

    assert len(verifiers) == 50
    assert all(43 <= len(verifier) <= 128 and set(verifier) <= UNRESERVED for verifier in verifiers)


def test_the_challenge_is_the_unpadded_base64url_of_the_verifiers_sha256() -> None:
    verifier = new_code_verifier()

    by_hand = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode()
    assert code_challenge(verifier) == by_hand.rstrip("=")
    assert len(code_challenge(verifier)) == 43 and "=" not in code_challenge(verifier)


@pytest.mark.parametrize("verifier", ["", "short", "a" * 129, "a" * 42 + "/", "é" * 43])
def test_what_is_not_a_verifier_has_no_challenge(verifier: str) -> None:
    with pytest.raises(ValueError, match="43 to 128 unreserved"):
        code_challenge(verifier)


@pytest.mark.anyio
async def test_the_code_exchange_sends_the_verifier_and_keeps_it_out_of_refusals() -> None:
    verifier = new_code_verifier()
    forms: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(parse_qs(request.content.decode()))
        if len(forms) == 1:
            return httpx.Response(200, json={"access_token": "at-1"})
        # A platform that echoes the request into its refusal
        return httpx.Response(
            400, json={"error": "invalid_grant", "error_description": f"bad verifier {verifier}"}
        )

    client = OAuthTokenClient(lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    grant = await client.exchange_code(
        TOKEN_URL, APP, code="code-1", redirect_uri="https://m.example/cb", code_verifier=verifier
    )
    with pytest.raises(TokenEndpointError) as refused:
        await client.exchange_code(
            TOKEN_URL, APP, code="code-2", redirect_uri="https://m.example/cb", code_verifier=verifier
        )

    assert grant.access_token == "at-1"
    assert forms[0] == {
        "grant_type": ["authorization_code"],
        "code": ["code-1"],
        "redirect_uri": ["https://m.example/cb"],
        "code_verifier": [verifier],
        "client_id": ["client-1"],
        "client_secret": ["cs_9a8b7c6d5e4f3a2b1c0d"],
    }
    assert "invalid_grant" in str(refused.value) and verifier not in str(refused.value)


@pytest.mark.anyio
async def test_without_a_verifier_the_exchange_is_the_plain_one() -> None:
    forms: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(parse_qs(request.content.decode()))
        return httpx.Response(200, json={"access_token": "at-1"})

    client = OAuthTokenClient(lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    await client.exchange_code(TOKEN_URL, APP, code="code-1", redirect_uri="https://m.example/cb")

    assert "code_verifier" not in forms[0]
    with pytest.raises(ValueError, match="43 to 128"):
        await client.exchange_code(
            TOKEN_URL, APP, code="code-1", redirect_uri="https://m.example/cb", code_verifier="short"
        )
