"""The sandbox's OAuth 2.0 server: consent, codes, expiring access tokens and rotating refresh tokens.

Two routes beside the flavor's API, at the store's origin:

- ``GET /oauth/authorize?client_id&redirect_uri&response_type=code&state[&scope]
  [&code_challenge&code_challenge_method]``: the merchant approves at once; a 302 back to
  ``redirect_uri`` with ``code`` and ``state``.
- ``POST /oauth/token`` (form or JSON; client id and secret in the body or HTTP Basic):
  ``authorization_code`` (the code once, within its lifetime, for the same client and redirect URI,
  with the ``code_verifier`` of its challenge when the consent had one: PKCE, RFC 7636, S256 or
  plain) and ``refresh_token`` grants. Every grant issues a new access token that expires
  ``access_token_seconds`` later on the sandbox's clock and a new refresh token; the refresh token
  used is spent, and presenting it again is ``invalid_grant``, as on Salla.

Errors are RFC 6749's ``{"error", "error_description"}``. With the server on, flavors that take OAuth
tokens accept the ones it issued while they are valid (an expired one gets the platform's 401) and
their sample token; any other token is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mercator_sandbox.timebase import Clock

AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
TokenStatus = Literal["valid", "expired", "unknown"]


class OAuthServerConfig(BaseModel):
    """The app registered with the sandbox, and how long what it grants lasts (seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field("sandbox-client", min_length=1)
    client_secret: str = Field("sandbox-client-secret", min_length=1)
    access_token_seconds: float = Field(3600, gt=0, le=365 * 86400)
    code_seconds: float = Field(600, gt=0, le=3600)


@dataclass
class OAuthCounters:
    """What the OAuth server did: consents, token calls per grant type, refusals per error."""

    authorizations: int = 0
    token_calls: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        return {
            "authorizations": self.authorizations,
            "token_calls": dict(sorted(self.token_calls.items())),
            "refused": dict(sorted(self.refused.items())),
        }

    def reset(self) -> None:
        self.authorizations = 0
        self.token_calls.clear()
        self.refused.clear()


@dataclass(frozen=True)
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    expires_at: float
    challenge: str | None = None
    challenge_method: str = "plain"


@dataclass(frozen=True)
class IssuedTokens:
    """A grant as the token endpoint answers it."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str

    def body(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }


class _RefusedError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class OAuthServer:
    """Issues and checks the sandbox's tokens; safe to share between threads serving requests."""

    def __init__(self, config: OAuthServerConfig, clock: Clock) -> None:
        self.config = config
        self.counters = OAuthCounters()
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, float] = {}  # token -> expiry on the clock
        self._refresh: dict[str, str] = {}  # live refresh token -> scope
        self._spent: set[str] = set()

    def routes(self) -> list[Route]:
        return [
            Route(AUTHORIZE_PATH, self._authorize, methods=["GET"]),
            Route(TOKEN_PATH, self._token, methods=["POST"]),
        ]

    # --- what the flavors ask -------------------------------------------------------------------

    def token_status(self, token: str) -> TokenStatus:
        """Whether ``token`` is an access token this server issued, and still valid."""
        with self._lock:
            expires_at = self._access.get(token)
        if expires_at is None:
            return "unknown"
        return "valid" if self._clock() < expires_at else "expired"

    def issue(self, scope: str = "") -> IssuedTokens:
        """A fresh grant without the consent round trip (for setting up tests and demos)."""
        with self._lock:
            return self._issue(scope)

    # --- routes ---------------------------------------------------------------------------------

    async def _authorize(self, request: Request) -> Response:
        params = request.query_params
        redirect_uri = params.get("redirect_uri", "")
        client_id = params.get("client_id", "")
        # Without a known client and a usable redirect URI nobody may be sent anywhere (RFC 6749 4.1.2.1).
        if client_id != self.config.client_id:
            return self._refusal(_RefusedError("invalid_client", "unknown client_id"))
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return self._refusal(
                _RefusedError("invalid_request", "redirect_uri must be an absolute http(s) URL")
            )
        state = params.get("state")
        if params.get("response_type") != "code":
            self.counters.refused["unsupported_response_type"] += 1
            return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method", "plain")
        if challenge is not None and method not in ("S256", "plain"):
            self.counters.refused["invalid_request"] += 1
            return _redirect(
                redirect_uri,
                {"error": "invalid_request", "error_description": "unsupported code_challenge_method"},
            )
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                client_id,
                redirect_uri,
                params.get("scope", ""),
                self._clock() + self.config.code_seconds,
                challenge,
                method,
            )
            self.counters.authorizations += 1
        return _redirect(redirect_uri, {"code": code, "state": state})

    async def _token(self, request: Request) -> Response:
        try:
            form = await _form(request)
            self._check_client(request, form)
            grant_type = form.get("grant_type", "")
            with self._lock:
                if grant_type == "authorization_code":
                    issued = self._exchange(form)
                elif grant_type == "refresh_token":
                    issued = self._rotate(form)
                else:
                    raise _RefusedError(
                        "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
                    )
                self.counters.token_calls[grant_type] += 1
        except _RefusedError as refused:
            return self._refusal(refused)
        return JSONResponse(issued.body(), headers={"Cache-Control": "no-store"})

    # --- grants (under the lock) ----------------------------------------------------------------

    def _exchange(self, form: Mapping[str, str]) -> IssuedTokens:
        code = self._codes.pop(form.get("code", ""), None)
        if code is None or self._clock() >= code.expires_at:
            raise _RefusedError("invalid_grant", "the authorization code is invalid, expired or used already")
        if code.redirect_uri != form.get("redirect_uri", ""):
            raise _RefusedError("invalid_grant", "redirect_uri is not the one the code was issued for")
        if code.challenge is not None and not _verifies(code, form.get("code_verifier", "")):
            raise _RefusedError("invalid_grant", "code_verifier does not match the code's challenge")
        return self._issue(code.scope)

    def _rotate(self, form: Mapping[str, str]) -> IssuedTokens:
        token = form.get("refresh_token", "")
        scope = self._refresh.pop(token, None)
        if scope is None:
            reason = "was used already" if token in self._spent else "is invalid"
            raise _RefusedError("invalid_grant", f"the refresh token {reason}")
        self._spent.add(token)
        return self._issue(scope)

    def _issue(self, scope: str) -> IssuedTokens:
        lifetime = self.config.access_token_seconds
        issued = IssuedTokens(
            access_token=f"sbx_at_{secrets.token_hex(16)}",
            refresh_token=f"sbx_rt_{secrets.token_hex(16)}",
            expires_in=int(lifetime),
            scope=scope,
        )
        self._access[issued.access_token] = self._clock() + lifetime
        self._refresh[issued.refresh_token] = scope
        return issued

    def _check_client(self, request: Request, form: Mapping[str, str]) -> None:
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and not client_id:
            try:
                client_id, _, client_secret = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise _RefusedError("invalid_client", "the Basic credentials are malformed", 401) from None
        config = self.config
        if not (
            secrets.compare_digest(client_id.encode(), config.client_id.encode())
            and secrets.compare_digest(client_secret.encode(), config.client_secret.encode())
        ):
            raise _RefusedError("invalid_client", "client authentication failed", 401)

    def _refusal(self, refused: _RefusedError) -> Response:
        self.counters.refused[refused.error] += 1
        return JSONResponse(
            {"error": refused.error, "error_description": refused.description},
            status_code=refused.status,
            headers={"Cache-Control": "no-store"},
        )


def _verifies(code: _Code, verifier: str) -> bool:
    """RFC 7636 section 4.6: the verifier, transformed by the challenge's method, is the challenge."""
    if code.challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
        verifier = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return bool(verifier) and secrets.compare_digest(verifier.encode(), (code.challenge or "").encode())


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        try:
            document = json.loads(body)
        except ValueError:
            raise _RefusedError("invalid_request", "the body is not JSON") from None
        if not isinstance(document, dict):
            raise _RefusedError("invalid_request", "the body must be a JSON object")
        return {str(name): str(value) for name, value in document.items() if value is not None}
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _redirect(redirect_uri: str, extra: Mapping[str, str | None]) -> RedirectResponse:
    parts = urlsplit(redirect_uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True)]
    query += [(name, value) for name, value in extra.items() if value is not None]
    target = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return RedirectResponse(target, status_code=302)
