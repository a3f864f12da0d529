"""A tenant's configured workflows: when a trigger fires and the record meets the conditions, run the action.

The model follows the Integrations API's workflow (``POST /api/workflows/configure``): a name, an
entity type, the trigger it listens to, conditions on the record's fields and one action. Plain
models, no AWS: the DynamoDB store is ``mercator.state.workflow_store``, the action runners are in
``mercator.outbound``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field

from mercator.domain.messages import ChangeEvent

EntityType = Literal["Order", "Customer", "Product", "Cart", "Shipment"]
# skipped: a resumed execution whose workflow's conditions no longer hold on the record.
ExecutionStatus = Literal["succeeded", "paused", "skipped"]

# Trigger ids are derived, not stored: the same connector event has the same id for every tenant.
_TRIGGER_NAMESPACE = uuid.UUID("6f1b7a52-3c1e-4c55-9a51-5e0f3f0e2a10")


def trigger_id(connector: str, event: str) -> str:
    """The id the API shows for a connector's trigger (``triggerId`` of a workflow)."""
    return str(uuid.uuid5(_TRIGGER_NAMESPACE, f"{connector}:{event}"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Headers of the connection rather than of the message (RFC 9110 section 7.6.1), Host and
# Content-Length: a webhook action may not set them, since they would steer or split the request.
CONNECTION_HEADERS = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


def connection_header(name: str) -> bool:
    """Whether ``name`` is Host, Content-Length or a hop-by-hop header (``Proxy-*`` included)."""
    lowered = name.lower()
    return lowered in CONNECTION_HEADERS or lowered.startswith("proxy-")


class WebhookAction(_Model):
    """POST the record to a URL, signed with Standard Webhooks headers."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://", description="where the POST goes")
    secretName: str = Field(
        min_length=1, description="Secrets Manager secret holding the signing key (whsec_...)"
    )
    headers: dict[str, str] = Field(default_factory=dict, description="extra headers sent with the POST")


class EmailAction(_Model):
    """Send an SES templated email."""

    type: Literal["send_email"]
    recipient: str = Field(
        min_length=1, description="'customer' (the record's customer email) or an email address"
    )
    template: str = Field(min_length=1, description="SES template name")


class PushAction(_Model):
    """Send a Web Push notification to every subscription the tenant saved."""

    type: Literal["send_push"]
    title: str = Field(min_length=1, description="may hold {field} placeholders from the record")
    body: str = Field("", description="may hold {field} placeholders from the record")
    url: str | None = Field(None, description="opened when the notification is clicked")


class UpdateStatusAction(_Model):
    """Set the record's status on the store through the connector's updateStatus endpoint."""

    type: Literal["update_status"]
    status: str = Field(min_length=1, description="the status to set, in the store's own vocabulary")


Action = Annotated[WebhookAction | EmailAction | PushAction | UpdateStatusAction, Field(discriminator="type")]
# Read off the union, so a model added to Action is an action type everywhere (the runner registry
# of mercator.outbound.actions checks each has a runner).
ACTION_MODELS: tuple[type[BaseModel], ...] = get_args(get_args(Action)[0])
ACTION_TYPES: tuple[str, ...] = tuple(
    get_args(model.model_fields["type"].annotation)[0] for model in ACTION_MODELS
)


class Workflow(_Model):
    guid: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    entity_type: EntityType
    connector: str = Field(min_length=1, description="the connector whose trigger fires it")
    trigger: str = Field(min_length=1, description="the trigger's event, e.g. order.created")
    conditions: dict[str, Any] = Field(
        default_factory=dict,
        description="record path → value (equality) or {operator: value}; all must hold",
    )
    action: Action
    is_active: bool = True
    is_managed: bool = False
    created_at: datetime
    updated_at: datetime

    @property
    def trigger_id(self) -> str:
        return trigger_id(self.connector, self.trigger)


class WorkflowExecution(_Model):
    """One run of a workflow for one change; paused with its reason when the action failed for good."""

    id: str = Field(min_length=1, description="derived from the change event id and the workflow guid")
    tenant_id: str
    workflow_guid: str
    event: ChangeEvent
    status: ExecutionStatus
    attempts: int = Field(ge=1)
    reason: str | None = None
    outcome: str | None = Field(None, description="what the action reported when it succeeded")
    started_at: datetime
    finished_at: datetime


def execution_id(event: ChangeEvent, workflow_guid: str) -> str:
    return str(uuid.uuid5(_TRIGGER_NAMESPACE, f"{event.id}:{workflow_guid}"))


class ActionFailedError(Exception):
    """An action could not be done; ``reason`` is safe to store and show (no secrets)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class ActionRunner(Protocol):
    """Runs one action type; retries what is worth retrying itself, then raises ActionFailedError."""

    def run(self, action: Any, event: ChangeEvent, workflow: Workflow) -> str:
        """Do the action; return a short description of what was done."""
        ...
