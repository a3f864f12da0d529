"""A connector's OAuth 2.0 app and its token endpoint: codes and refresh tokens in, tokens out.

An OAuth app (the client Mercator is registered as with the platform) lives in Secrets Manager under
``mercator/oauth-apps/<connector>`` as a JSON object::

    {"clientId": "...", "clientSecret": "...",
     "authorizeUrl": "...", "tokenUrl": "...",     optional: replace the connector's (a staging host)
     "credentials": {"webhookSecret": "..."},       optional: app-wide credentials every install gets
     "settings": {"baseUrl": "..."},                optional: settings every install gets
     "allowedHosts": ["*.myshopify.com"],           hosts a store-specific URL ([[shopDomain]]) may name
     "scopeSeparator": ","}                         optional: how scopes are joined (default a space)

A URL whose host comes from a placeholder is only used when the filled host matches ``allowedHosts``:
otherwise a made-up store domain would receive the app's client secret at the token call.

Token requests are form posts with the client's id and secret in the body (RFC 6749 section 2.3.1),
the way Salla, Zid and Shopify document them. No token, code or secret ever reaches a message or log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx

from mercator.domain.oauth_installs import OAuthApp, TokenEndpointError, TokenGrant
from mercator.domain.pkce import check_verifier
from mercator.providers.egress import guarded_async_clients
from mercator.providers.redaction import Redactor

HttpFactory = Callable[[], httpx.AsyncClient]

TOKEN_TIMEOUT_SECONDS = 15.0
# Token-response fields some platforms add beside the standard ones, and the credential each becomes:
# Zid returns the store's ``authorization`` token next to its ``access_token``.
_EXTRA_CREDENTIALS = {"authorization": "authorizationToken"}
_DESCRIPTION_LIMIT = 200
_EPOCH_FLOOR = 1_000_000_000  # an "expires" below this is a duration, not a moment


class OAuthTokenClient:
    """Calls token endpoints over httpx; each call opens a client from ``http_factory`` and closes it."""

    def __init__(
        self,
        http_factory: HttpFactory | None = None,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = TOKEN_TIMEOUT_SECONDS,
    ) -> None:
        self._http_factory = http_factory or guarded_async_clients(
            timeout=timeout, headers={"User-Agent": "Mercator"}
        )
        self._clock = clock
        self._timeout = timeout

    async def exchange_code(
        self,
        token_url: str,
        app: OAuthApp,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
    ) -> TokenGrant:
        """Trade an authorization code for tokens (the ``redirect_uri`` the code was issued for), with
        the install's PKCE ``code_verifier`` when its consent carried a challenge."""
        if not code:
            raise ValueError("an authorization code must not be empty")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier is None:
            return await self._request(token_url, app, form, secrets=[code])
        check_verifier(code_verifier)
        # The verifier is redacted from every message like the code.
        form["code_verifier"] = code_verifier
        return await self._request(token_url, app, form, secrets=[code, code_verifier])

    async def refresh(self, token_url: str, app: OAuthApp, *, refresh_token: str) -> TokenGrant:
        """New tokens for a refresh token; platforms that rotate refresh tokens return a new one."""
        if not refresh_token:
            raise ValueError("a refresh token must not be empty")
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._request(token_url, app, form, secrets=[refresh_token])

    async def _request(
        self, token_url: str, app: OAuthApp, form: dict[str, str], *, secrets: list[str]
    ) -> TokenGrant:
        redactor = Redactor({"clientSecret": app.client_secret}, extra=secrets)
        shown = redactor.url(token_url)
        body = {**form, "client_id": app.client_id, "client_secret": app.client_secret}
        try:
            async with self._http_factory() as http:
                response = await http.post(
                    token_url, data=body, headers={"Accept": "application/json"}, timeout=self._timeout
                )
        except httpx.HTTPError as exc:
            raise TokenEndpointError(
                f"the token endpoint {shown} could not be reached: {type(exc).__name__}",
                status=None,
                error=None,
            ) from None
        try:
            document = response.json()
        except ValueError:
            document = None
        if not 200 <= response.status_code < 300:
            raise _refusal(shown, response.status_code, document, redactor)
        return self._grant(shown, response.status_code, document)

    def _grant(self, shown: str, status: int, document: object) -> TokenGrant:
        if not isinstance(document, dict):
            raise TokenEndpointError(
                f"the token endpoint {shown} answered {status} without a JSON object",
                status=status,
                error=None,
            )
        access = document.get("access_token")
        if not isinstance(access, str) or not access:
            raise TokenEndpointError(
                f"the token endpoint {shown} answered {status} without an access_token",
                status=status,
                error=None,
            )
        refresh = document.get("refresh_token")
        scope = document.get("scope")
        extra = {
            name: value
            for field_name, name in _EXTRA_CREDENTIALS.items()
            if isinstance(value := document.get(field_name), str) and value
        }
        return TokenGrant(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=self._expires_at(document),
            scope=scope if isinstance(scope, str) else None,
            extra=extra,
        )

    def _expires_at(self, document: Mapping[str, object]) -> int | None:
        lifetime = _number(document.get("expires_in"))
        if lifetime is not None and lifetime > 0:
            return int(self._clock() + lifetime)
        # Salla's app events carry ``expires`` as a moment in epoch seconds.
        moment = _number(document.get("expires"))
        if moment is not None and moment > 0:
            return int(moment) if moment >= _EPOCH_FLOOR else int(self._clock() + moment)
        return None


def _refusal(shown: str, status: int, document: object, redactor: Redactor) -> TokenEndpointError:
    error: str | None = None
    description = ""
    if isinstance(document, dict):
        code = document.get("error")
        error = code if isinstance(code, str) and code else None
        text = document.get("error_description") or document.get("message")
        if isinstance(text, str):
            description = redactor.text(" ".join(text.split()))[:_DESCRIPTION_LIMIT]
    reason = ": ".join(part for part in (error, description) if part) or "no reason given"
    return TokenEndpointError(
        f"the token endpoint {shown} refused the request ({status}): {reason}", status=status, error=error
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
