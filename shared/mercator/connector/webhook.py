"""The ``webhook`` block: how deliveries are verified, named, deduplicated and linked to customers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from mercator.connector.base import DefinitionModel, RecordPath, located_error, mapping_error, tag_check
from mercator.connector.mappings import MappingSpec
from mercator.mapping import (
    CompiledMapping,
    CompiledPath,
    MappingDefinitionError,
    compile_mapping,
    compile_path,
)

Credential = Annotated[str, Field(min_length=1, description="name of an integration credential")]


class HmacVerification(DefinitionModel):
    """HMAC of the raw body (or of ``timestamp.body``) in a header: Shopify, WooCommerce, Salla."""

    strategy: Literal["hmac"]
    header: str = Field(description="header carrying the signature, e.g. X-Shopify-Hmac-SHA256")
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = Field(description="how the digest is written in the header")
    signedContent: Literal["body", "timestamp.body"] = Field(
        "body", description="what is signed: the raw body, or '<timestamp>.<raw body>'"
    )
    timestampHeader: str | None = Field(None, description="header with the timestamp when it is signed")
    toleranceSeconds: int = Field(300, ge=1, description="largest accepted clock skew for signed timestamps")
    prefix: str = Field("", description="text before the digest in the header, e.g. 'sha256='")
    secret: Credential = Field("webhookSecret", description="credential holding the signing key")

    @model_validator(mode="after")
    def _timestamp(self) -> HmacVerification:
        if self.signedContent == "timestamp.body" and not self.timestampHeader:
            raise located_error("timestampHeader", "signedContent 'timestamp.body' needs timestampHeader")
        return self


class TokenVerification(DefinitionModel):
    """A shared token sent in a header, compared in constant time (Salla's Token strategy)."""

    strategy: Literal["token"]
    header: str = Field("Authorization", description="header carrying the token")
    prefix: str = Field("", description="text before the token, e.g. 'Bearer '")
    secret: Credential = Field("webhookToken", description="credential holding the expected token")


class BearerVerification(DefinitionModel):
    """``Authorization: Bearer <token>``."""

    strategy: Literal["bearer"]
    secret: Credential = Field("webhookToken", description="credential holding the expected token")


class BasicVerification(DefinitionModel):
    """HTTP Basic credentials set when the webhook was registered (Zid)."""

    strategy: Literal["basic"]
    username: Credential = Field("webhookUsername", description="credential holding the user name")
    password: Credential = Field("webhookPassword", description="credential holding the password")


class StandardWebhooksVerification(DefinitionModel):
    """Standard Webhooks: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` (BigCommerce and others)."""

    strategy: Literal["standard_webhooks"]
    idHeader: str = "webhook-id"
    timestampHeader: str = "webhook-timestamp"
    signatureHeader: str = "webhook-signature"
    toleranceSeconds: int = Field(300, ge=1, description="reject timestamps further off than this")
    secret: Credential = Field(
        "webhookSecret",
        description="credential holding the key: base64 (standard or URL-safe, padding and whsec_ optional)",
    )


class NoVerification(DefinitionModel):
    """Deliveries are accepted unverified; only for connectors that receive no webhooks."""

    strategy: Literal["none"]


VERIFICATION_STRATEGIES = ("hmac", "token", "bearer", "basic", "standard_webhooks", "none")

Verification = Annotated[
    HmacVerification
    | TokenVerification
    | BearerVerification
    | BasicVerification
    | StandardWebhooksVerification
    | NoVerification,
    Field(discriminator="strategy"),
    tag_check("strategy", VERIFICATION_STRATEGIES),
]


class HeaderValue(DefinitionModel):
    """A request header of the delivery."""

    source: Literal["header"] = Field(alias="from")
    name: str = Field(description="header name (case-insensitive)")

    def value_in(self, headers: Mapping[str, str], body: Any, query: Mapping[str, str]) -> str | None:
        return _text(headers.get(self.name))

    def describe(self) -> str:
        return f"header {self.name}"


class BodyValue(DefinitionModel):
    """A value in the delivery's JSON body."""

    source: Literal["body"] = Field(alias="from")
    path: RecordPath = Field(description="path in the JSON body")

    _compiled: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> BodyValue:
        self._compiled = compile_path(self.path)
        return self

    def value_in(self, headers: Mapping[str, str], body: Any, query: Mapping[str, str]) -> str | None:
        assert self._compiled is not None
        return _text(self._compiled.get(body))

    def describe(self) -> str:
        return f"body path {self.path}"


class QueryValue(DefinitionModel):
    """A query parameter of the webhook URL, for platforms that register one URL per event."""

    source: Literal["query"] = Field(alias="from")
    name: str = Field(description="query parameter name")

    def value_in(self, headers: Mapping[str, str], body: Any, query: Mapping[str, str]) -> str | None:
        return _text(query.get(self.name))

    def describe(self) -> str:
        return f"query parameter {self.name}"


def _text(value: Any) -> str | None:
    """A header, body or query value as text; None when absent or empty."""
    if value is None or isinstance(value, dict | list) or value == "":
        return None
    return str(value)


ValueSource = Annotated[
    HeaderValue | BodyValue | QueryValue,
    Field(discriminator="source"),
    tag_check("from", ("header", "body", "query")),
]


class CustomerExtraction(DefinitionModel):
    """Map the buyer found in a delivery into core:customer."""

    mapping: MappingSpec
    events: list[str] | None = Field(
        None, description="events to extract from (default: every handled event)"
    )

    _compiled: CompiledMapping | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> CustomerExtraction:
        try:
            self._compiled = compile_mapping(self.mapping, scope="customerExtraction")
        except MappingDefinitionError as exc:
            raise mapping_error("mapping", exc) from None
        return self

    @property
    def compiled(self) -> CompiledMapping:
        assert self._compiled is not None
        return self._compiled


class WebhookPing(DefinitionModel):
    """A platform's check that the endpoint answers (WooCommerce posts ``webhook_id=<id>`` when a
    webhook is created): answered 200 unverified, and nothing of it kept. Only a connector that
    declares one answers pings; any other request is verified like a delivery."""

    contentType: str = Field(
        pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$",
        description="media type of the ping, e.g. application/x-www-form-urlencoded (parameters ignored)",
    )
    bodyPattern: str | None = Field(
        None,
        max_length=200,
        description="regular expression the whole trimmed body (at most 1 KiB) must match; absent: any body",
    )

    @field_validator("bodyPattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bodyPattern {value!r} is not a regular expression: {exc}") from None
        return value


class WebhookConfig(DefinitionModel):
    """How deliveries are verified, named, deduplicated and linked to their buyer."""

    ping: WebhookPing | None = Field(None, description="the platform's endpoint check, if it sends one")

    verification: Verification | None = None
    eventName: ValueSource | None = Field(
        None, description="where the event name is: a header, a body path or a query parameter"
    )
    deliveryId: ValueSource | None = Field(
        None, description="where the provider's delivery id is (for deduplication); absent: hash of the body"
    )
    customerExtraction: CustomerExtraction | None = None
    ecommerce: dict[str, Any] | None = Field(
        None, description="deprecated: the legacy block; definitions must use sync instead"
    )
