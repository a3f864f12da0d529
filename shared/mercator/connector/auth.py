"""How an integration authenticates to its provider, and which credentials that gives."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, AnyHttpUrl, Field, TypeAdapter, ValidationError

from mercator.connector.base import DefinitionModel, tag_check
from mercator.connector.placeholders import PLACEHOLDER

CredentialName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]

_HTTP_URL = TypeAdapter(AnyHttpUrl)


def _templated_url(value: str) -> str:
    # Per-store URLs (https://[[shopDomain]]/admin/oauth/authorize) are checked with a stand-in host.
    try:
        _HTTP_URL.validate_python(PLACEHOLDER.sub("store.example", value))
    except ValidationError:
        raise ValueError(f"{value!r} is not an http(s) URL (it may hold [[placeholders]])") from None
    return value


TemplatedUrl = Annotated[str, AfterValidator(_templated_url)]


class OAuth2Auth(DefinitionModel):
    """OAuth 2.0 authorization code; with ``auto_refresh`` the token is renewed before it expires."""

    type: Literal["oauth2"]
    authorizeUrl: TemplatedUrl
    tokenUrl: TemplatedUrl
    scopes: list[str] = Field(default_factory=list)
    auto_refresh: bool = Field(False, description="refresh the access token before it expires or on a 401")
    pkce: bool = Field(
        True,
        description="send a PKCE challenge (RFC 7636, S256) with the consent and its verifier with the code; "
        "false for platforms whose OAuth documentation lists no code_challenge parameter",
    )
    credentials: list[CredentialName] = Field(
        default_factory=list, description="credentials besides the tokens (e.g. storeUrl)"
    )

    def provides(self) -> set[str]:
        return {"accessToken", "refreshToken", *self.credentials}


class ApiKeyAuth(DefinitionModel):
    """Static credentials the merchant pastes in (API key, access token, store URL...)."""

    type: Literal["api_key"]
    credentials: list[CredentialName] = Field(min_length=1, description="names the integration must provide")

    def provides(self) -> set[str]:
        return set(self.credentials)


class BasicAuth(DefinitionModel):
    """HTTP Basic with two credentials (WooCommerce consumer key and secret)."""

    type: Literal["basic"]
    username: CredentialName = Field(description="credential used as the user name")
    password: CredentialName = Field(description="credential used as the password")
    credentials: list[CredentialName] = Field(
        default_factory=list, description="other credentials (storeUrl)"
    )

    def provides(self) -> set[str]:
        return {self.username, self.password, *self.credentials}


AUTH_TYPES = ("oauth2", "api_key", "basic")

Auth = Annotated[
    OAuth2Auth | ApiKeyAuth | BasicAuth,
    Field(discriminator="type"),
    tag_check("type", AUTH_TYPES),
]
