"""The Integrations API's bodies (``seeds/004``): requests as validated, responses as answered.

Every answer is an envelope: ``{"success": true, "data": ...}`` (or ``{"success": true}`` alone where
the contract says so), and ``{"success": false, "error": {"code", "message"}}`` on failure. Requests
refuse fields they do not know, so a misspelt setting is an error rather than silently ignored, and
hold the limits of ``mercator.api.request_checks`` on every id, name, text and collection they take.
Credential values are ``SecretStr``: a request model printed or logged shows them masked.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mercator.api.request_checks import (
    MAX_CREDENTIALS,
    MAX_CREDENTIALS_BYTES,
    MAX_HEADERS,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    conditions_problem,
    credentials_size,
    shown,
)
from mercator.domain.content_types import ShipmentStatus
from mercator.domain.entities import MAX_RATE, Integration
from mercator.domain.workflows import (
    Action,
    EntityType,
    ExecutionStatus,
    Workflow,
    WorkflowExecution,
    connection_header,
)

ErrorCode = Literal[
    "NOT_FOUND",
    "CONFIGURATION_ERROR",
    "CONFLICT",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "REQUEST_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "INTERNAL_ERROR",
]

Data = TypeVar("Data")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


Name = Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS)]
# A header name is an HTTP token; a value is printable ASCII and tabs: no line break or NUL to end or
# split it, nothing an HTTP client cannot encode.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def _limit_error(problem: str) -> PydanticCustomError:
    # The problem goes in as context: a brace in a name the request sent is not a template field.
    return PydanticCustomError("limit", "{problem}", {"problem": problem})


# Requests


class IntegrationSettings(_Request):
    """What the integration does; orders and abandoned carts, products, customers always."""

    autoImportOrders: bool = Field(True, description="sync orders and abandoned carts")
    syncProducts: bool = Field(
        True,
        description="sync products: list them in, and push the tenant's catalog (from its catalog source) "
        "into the store, where the connector can write products",
    )
    catalogSource: bool = Field(
        False,
        description="this integration is the tenant's catalog source (an ERP such as Crystal): its "
        "products are the canonical catalog pushed into the tenant's stores; one per tenant",
    )
    pushTracking: bool = Field(
        False,
        description="let Mercator write into the store the shipments the tenant sends (POST /api/shipments; "
        "connectors with push.shipments) and the order statuses update_status workflows set (connectors "
        "with sync.actions.updateStatus)",
    )
    baseUrl: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="the store's API base URL, where it differs from the connector's",
    )
    rateLimitPerSecond: float | None = Field(
        None, gt=0, le=MAX_RATE, description="the store's request budget, where its plan differs"
    )


class ConfigureIntegrationRequest(_Request):
    providerId: str = Field(
        min_length=1, max_length=MAX_ID_CHARS, description="a connector Mercator ships: salla, shopify, ..."
    )
    providerType: Literal["ecommerce"]
    credentials: dict[Name, SecretStr] = Field(
        min_length=1,
        max_length=MAX_CREDENTIALS,
        description=f"the connector's credential names to their values; {MAX_CREDENTIALS_BYTES // 1024} KiB "
        "in all at most",
    )
    settings: IntegrationSettings = Field(default_factory=IntegrationSettings)

    @field_validator("credentials")
    @classmethod
    def _credentials_fit_a_secret(cls, credentials: dict[str, SecretStr]) -> dict[str, SecretStr]:
        size = credentials_size({name: value.get_secret_value() for name, value in credentials.items()})
        if size > MAX_CREDENTIALS_BYTES:
            raise _limit_error(
                f"{size:,} bytes in all; at most {MAX_CREDENTIALS_BYTES:,} bytes "
                f"({MAX_CREDENTIALS_BYTES // 1024} KiB) of credentials are stored"
            )
        return credentials

    def credential_values(self) -> dict[str, str]:
        return {name: value.get_secret_value() for name, value in self.credentials.items()}


class PushSubscriptionKeys(_Request):
    p256dh: str = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, description="the browser's P-256 public key, base64url"
    )
    auth: str = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, description="the browser's auth secret, base64url"
    )


class SavePushSubscriptionRequest(_Request):
    """A browser's ``PushSubscription.toJSON()``."""

    endpoint: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the push service URL (https)")
    expirationTime: int | None = Field(None, description="as the browser gives it; not used")
    keys: PushSubscriptionKeys


class ConfigureWorkflowRequest(_Request):
    guid: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="a workflow of the tenant to update; absent: create",
    )
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    entityType: EntityType
    triggerId: str = Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="a trigger's guid from GET /api/workflows/triggers/{entityType}",
    )
    action: Action
    conditions: dict[str, Any] = Field(
        default_factory=dict,
        description="record path → value (equality) or {operator: value}; all must hold (limits: README)",
    )

    @field_validator("action")
    @classmethod
    def _action_within_limits(cls, action: Action) -> Action:
        for field, value in action.model_dump().items():
            if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
                raise _limit_error(
                    f"{field}: a text of {len(value):,} characters; at most {MAX_TEXT_CHARS:,} are read"
                )
        headers: dict[str, str] = getattr(action, "headers", {})
        if len(headers) > MAX_HEADERS:
            raise _limit_error(f"headers: {len(headers):,} headers; at most {MAX_HEADERS} are sent")
        for name, value in headers.items():
            if len(name) > MAX_NAME_CHARS or not _HEADER_NAME.fullmatch(name):
                raise _limit_error(
                    f"headers: {shown(name)} is not a header name (letters, digits and !#$%&'*+-.^_`|~, "
                    f"at most {MAX_NAME_CHARS} characters)"
                )
            if len(value) > MAX_TEXT_CHARS or not _HEADER_VALUE.fullmatch(value):
                raise _limit_error(
                    f"headers.{name}: a value is printable ASCII (no line break), at most "
                    f"{MAX_TEXT_CHARS:,} characters"
                )
            if connection_header(name):
                raise _limit_error(
                    f"headers: {shown(name)} cannot be set by a workflow: Host, Content-Length and "
                    "hop-by-hop headers (Connection, Keep-Alive, Proxy-*, TE, Trailer, "
                    "Transfer-Encoding, Upgrade) belong to the connection, which Mercator makes"
                )
        return action

    @field_validator("conditions")
    @classmethod
    def _conditions_within_limits(cls, conditions: dict[str, Any]) -> dict[str, Any]:
        problem = conditions_problem(conditions)
        if problem:
            raise _limit_error(problem)
        return conditions


MAX_TRACKING_NUMBERS = 20
"""Tracking numbers of one shipment."""
MAX_SHIPMENT_ITEMS = 250
"""Order lines one shipment carries."""
# A shipment id travels in a URL path and a key: letters, digits and . _ ~ : @ -, no slash.
SHIPMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~:@-]*$"
TrackingNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)
]
ItemText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)]


class ShipmentItemRequest(_Request):
    """One order line the shipment carries."""

    sku: ItemText | None = None
    code: ItemText | None = Field(None, description="the order line's id on the store")
    productCode: ItemText | None = Field(None, description="the id of the product shipped")
    name: ItemText | None = None
    quantity: float = Field(gt=0, le=1_000_000, description="units shipped")


class ShipmentRequest(_Request):
    """A shipment the tenant made of a synced order, to be written into the integration's store."""

    integrationId: str = Field(min_length=1, max_length=MAX_ID_CHARS, description="the store integration")
    orderCode: str = Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="the order's code, as Mercator's ecommerce:orders records of this integration have it",
    )
    shipmentId: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=SHIPMENT_ID_PATTERN,
        description="the tenant's id of the shipment, its idempotency key: the same id again updates it; "
        "absent: made from the integration, the order and the first tracking number",
    )
    carrier: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="the shipping company")
    trackingNumber: TrackingNumber | None = Field(
        None, description="the tracking number (or trackingNumbers)"
    )
    trackingNumbers: list[TrackingNumber] | None = Field(
        None,
        min_length=1,
        max_length=MAX_TRACKING_NUMBERS,
        description="the tracking numbers, the main first",
    )
    trackingUrl: str | None = Field(
        None,
        max_length=MAX_TEXT_CHARS,
        pattern=r"^https?://[^\s]+$",
        description="where the buyer follows the parcel (http or https)",
    )
    items: list[ShipmentItemRequest] = Field(
        default_factory=list, max_length=MAX_SHIPMENT_ITEMS, description="the order lines it carries"
    )
    status: ShipmentStatus = Field("in_transit", description="where the parcel is")

    @model_validator(mode="after")
    def _one_way_of_tracking(self) -> Self:
        if (self.trackingNumber is None) == (self.trackingNumbers is None):
            raise _limit_error("give trackingNumber or trackingNumbers, one of the two")
        return self

    def tracking_numbers(self) -> list[str]:
        return [self.trackingNumber] if self.trackingNumber is not None else list(self.trackingNumbers or [])

    def shipment_id(self) -> str:
        """``shipmentId``, or the one made from the integration, the order and the first tracking number
        (the same request again names the same shipment)."""
        if self.shipmentId is not None:
            return self.shipmentId
        parts = (self.integrationId, self.orderCode, self.tracking_numbers()[0])
        return "shp-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# Responses


class Envelope(_Response, Generic[Data]):
    success: Literal[True]
    data: Data


class Done(_Response):
    success: Literal[True]


class ErrorDetail(_Response):
    code: ErrorCode
    message: str


class ErrorEnvelope(_Response):
    success: Literal[False]
    error: ErrorDetail


class IntegrationView(_Response):
    guid: str
    provider: str = Field(description="the connector's name")
    status: Literal["active", "disabled"]
    connectedAt: datetime

    @classmethod
    def of(cls, integration: Integration) -> IntegrationView:
        return cls(
            guid=integration.id,
            provider=integration.connector,
            status=integration.status,
            connectedAt=integration.created_at,
        )


class IntegrationSummary(IntegrationView):
    """An integration as ``GET /api/integrations`` lists it: the configure answer, and what it syncs."""

    resources: list[str] | None = Field(
        description="the connector's resource keys it syncs; null: every enabled resource of the connector"
    )

    @classmethod
    def of(cls, integration: Integration) -> IntegrationSummary:
        return cls(
            guid=integration.id,
            provider=integration.connector,
            status=integration.status,
            connectedAt=integration.created_at,
            resources=None if integration.resources is None else list(integration.resources),
        )


class DisabledIntegration(_Response):
    guid: str
    status: Literal["disabled"]


class TriggerView(_Response):
    guid: str
    name: str
    code: str = Field(description="the connector's event")
    description: str
    provider: str = Field(description="the connector whose event it is")


class WorkflowSummary(_Response):
    guid: str
    name: str
    entityType: EntityType
    trigger: str = Field(description="the trigger's code (the connector's event)")
    triggerId: str
    action: str = Field(description="the action's type")
    isActive: bool
    isManaged: bool

    @classmethod
    def of(cls, workflow: Workflow) -> WorkflowSummary:
        return cls(
            guid=workflow.guid,
            name=workflow.name,
            entityType=workflow.entity_type,
            trigger=workflow.trigger,
            triggerId=workflow.trigger_id,
            action=workflow.action.type,
            isActive=workflow.is_active,
            isManaged=workflow.is_managed,
        )


class ConfiguredWorkflow(_Response):
    guid: str
    name: str
    isActive: bool


class ToggledWorkflow(_Response):
    guid: str
    isActive: bool


class ResumedExecution(_Response):
    guid: str = Field(description="the execution's id (workflowId of the request)")
    status: ExecutionStatus = Field(description="succeeded, paused again (see reason) or skipped")
    reason: str | None = None

    @classmethod
    def of(cls, execution: WorkflowExecution) -> ResumedExecution:
        return cls(guid=execution.id, status=execution.status, reason=execution.reason)


class ShipmentView(_Response):
    """A tenant shipment and where its write into the store stands."""

    shipmentId: str
    integrationId: str
    orderCode: str
    status: Literal["queued", "creating", "pushed", "refused"] = Field(
        description="queued: waiting to be written; creating: being written; pushed: the store holds it "
        "as last asked; refused: the store (or the integration's settings) refused it, see reason"
    )
    storeId: str | None = Field(None, description="the store's id of the shipment, when it gives one")
    reason: str | None = Field(None, description="why it was refused")
    reasons: Any = Field(None, description="the store's own reasons, as it answered them")
    requestedAt: datetime | None = None
    settledAt: datetime | None = Field(None, description="when it was last pushed or refused")
    shipment: dict[str, Any] = Field(description="the ecommerce:shipments record written into the store")
