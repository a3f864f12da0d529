"""A connector's OAuth app (Mercator's registered client at a platform), parsed from its secret."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


class OAuthConfigurationError(ValueError):
    """A connector cannot go through OAuth as configured; the message says what to change."""


class OAuthApp(BaseModel):
    """Mercator's registered client at one platform, as its secret holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    client_id: str = Field(alias="clientId", min_length=1)
    client_secret: str = Field(alias="clientSecret", min_length=1, repr=False)
    authorize_url: str | None = Field(None, alias="authorizeUrl")
    token_url: str | None = Field(None, alias="tokenUrl")
    credentials: dict[str, str] = Field(default_factory=dict, repr=False)
    settings: dict[str, Any] = Field(default_factory=dict)
    allowed_hosts: list[str] = Field(default_factory=list, alias="allowedHosts")
    scope_separator: Literal[" ", ","] = Field(" ", alias="scopeSeparator")

    @field_validator("authorize_url", "token_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                _HTTP_URL.validate_python(value)
            except ValidationError:
                raise ValueError("must be an http(s) URL") from None
        return value


def parse_app(connector: str, text: str) -> OAuthApp:
    """The OAuth app of ``connector`` from its secret's text; errors name fields, never values."""
    where = f"the OAuth app secret of connector {connector!r}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise OAuthConfigurationError(
            f"{where} is not JSON (expected an object with clientId, clientSecret)"
        ) from None
    try:
        return OAuthApp.model_validate(document)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors(include_input=False)
        ]
        raise OAuthConfigurationError(f"{where} is invalid: {'; '.join(problems)}") from None


NonceRefusal = Literal["unknown", "used", "expired", "started", "not_started", "other_session"]


class NonceRefusedError(Exception):
    """A nonce could not be bound or consumed; ``reason`` says what the stored nonce showed.

    ``unknown``: never handed out (or gone); ``used``: consumed already; ``expired``: past its expiry;
    ``started``: another browser started the install already; ``not_started``: no browser started it;
    ``other_session``: a browser started it, with another session than the one presented.
    """

    def __init__(self, reason: NonceRefusal) -> None:
        super().__init__(f"the install nonce was refused: {reason}")
        self.reason: NonceRefusal = reason


@dataclass(frozen=True)
class NonceRecord:
    """What the install recorded beside its nonce, handed back when the nonce is consumed."""

    authorize_url: str
    sealed_verifier: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TokenGrant:
    """What a token endpoint granted; ``expires_at`` in epoch seconds, None when the token does not expire."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: int | None = None
    scope: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def credentials(self) -> dict[str, str]:
        """The grant as integration credentials: accessToken, refreshToken, expiresAt and extras."""
        found = {"accessToken": self.access_token, **self.extra}
        if self.refresh_token:
            found["refreshToken"] = self.refresh_token
        if self.expires_at is not None:
            found["expiresAt"] = str(self.expires_at)
        return found


class TokenEndpointError(Exception):
    """The token endpoint refused or failed; ``error`` is its OAuth error code (``invalid_grant``...)."""

    def __init__(self, message: str, *, status: int | None, error: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error

    @property
    def permanent(self) -> bool:
        """True when asking again cannot help: the grant or the client was refused."""
        return self.error in {
            "invalid_grant",
            "invalid_client",
            "unauthorized_client",
            "unsupported_grant_type",
        }
