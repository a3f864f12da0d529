"""The connector definition: one provider described in YAML or JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, PrivateAttr, model_validator

from mercator.connector.auth import Auth, OAuth2Auth
from mercator.connector.base import DefinitionModel, located_error
from mercator.connector.catalog_source import CatalogEvents
from mercator.connector.documents import Location, Position, Positions
from mercator.connector.placeholders import malformed, placeholder_like, placeholders
from mercator.connector.shipment_push import Push
from mercator.connector.sync import Resource, Sync, WebhookHandler
from mercator.connector.webhook import WebhookConfig
from mercator.domain.changes import FieldChange, Scalar
from mercator.domain.content_types import ENTITY_CONTENT_TYPES, field_choices, plain_field_names

EntityType = Literal["Order", "Customer", "Product", "Cart", "Shipment"]


def entity_type_of(record_type: str) -> str:
    """The workflow entity type of a handler's record type (``order`` -> ``Order``)."""
    return record_type.capitalize()


LEGACY_MESSAGE = (
    "webhook.ecommerce is deprecated and is not accepted on its own: describe the resources under "
    "sync.resources and the realtime events under sync.webhooks.handlers"
)


class Transition(DefinitionModel):
    """A field of a record moving from one value to another, compared with the stored record."""

    field: str = Field(
        min_length=1, description="a top-level field of the entity's content type, e.g. status"
    )
    from_: Scalar | None = Field(
        None, alias="from", description="the value it must move from (absent: any other value)"
    )
    to: Scalar | None = Field(None, description="the value it must move to (absent: any other value)")

    @model_validator(mode="after")
    def _moves(self) -> Self:
        if self.from_ is not None and self.from_ == self.to:
            raise located_error("to", f"from and to are both {self.to!r}: a field never moves to itself")
        return self

    def holds(self, changes: Mapping[str, FieldChange] | None, record: Mapping[str, Any]) -> bool:
        """Whether a record's new version makes this transition; ``changes`` are the plain fields that
        moved from the stored version, None when none was stored.

        Over a stored version the field must have moved (from ``from`` to ``to``, when given). A record
        Mercator had not stored makes it only with ``to`` (and no ``from``): it reached that value
        before Mercator saw it (a shipment first found already delivered).
        """
        if changes is None:
            return self.to is not None and self.from_ is None and record.get(self.field) == self.to
        moved = changes.get(self.field)
        return (
            moved is not None
            and (self.from_ is None or moved.before == self.from_)
            and (self.to is None or moved.after == self.to)
        )


class Trigger(DefinitionModel):
    """An automation-visible event: a webhook handler's event (every handler has one, and each of these
    a handler), or with ``transition`` a field of a record moving, whichever path brought the change."""

    event: str = Field(min_length=1)
    displayName: str | None = None
    description: str = ""
    entityType: EntityType
    syncChanges: list[Literal["created", "updated", "deleted"]] = Field(
        default_factory=list,
        description="changes a scheduled sync finds that fire this trigger too (a webhook that never came)",
    )
    transition: Transition | None = Field(
        None,
        description="fire when a record of the entity type has this field move (order_status_changed), "
        "from a webhook or a sync; the event is then the trigger's own code, not a webhook event",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if self.transition is None:
            return self
        if self.syncChanges:
            raise located_error(
                "syncChanges", "a transition trigger fires on every path already: remove syncChanges"
            )
        content_type = ENTITY_CONTENT_TYPES[self.entityType]
        name = self.transition.field
        plain = plain_field_names(content_type)
        if name not in plain:
            raise located_error(
                ("transition", "field"),
                f"{name!r} is not a field of {content_type} holding one plain value; valid: "
                f"{', '.join(plain)}",
            )
        allowed = field_choices(content_type, name)
        for key, value in (("from", self.transition.from_), ("to", self.transition.to)):
            if value is not None and allowed is not None and value not in allowed:
                raise located_error(
                    ("transition", key),
                    f"{value!r} is not a {content_type} {name}; valid: {', '.join(map(str, allowed))}",
                )
        return self

    @property
    def contentType(self) -> str:  # noqa: N802 - reads like the resource field it mirrors
        return ENTITY_CONTENT_TYPES[self.entityType]


# The base URL of a connector Mercator never calls (a catalog-events source): .invalid never resolves.
NEVER_CALLED = "https://never-called.invalid"


class ConnectorDefinition(DefinitionModel):
    """One storefront platform: its auth, webhooks, resources and triggers."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="connector id, e.g. salla")
    displayName: str
    description: str = ""
    version: str = "1"
    auth: Auth | None = None
    webhook: WebhookConfig | None = None
    sync: Sync
    triggers: list[Trigger] = Field(default_factory=list)
    push: Push | None = Field(
        None, description="how Mercator writes the tenant's canonical products into the store (catalog push)"
    )
    catalogEvents: CatalogEvents | None = Field(
        None,
        description="a PIM that sends its catalog as signed change events (docs/catalog-events.md), and how "
        "its products become core:product records",
    )

    _source: Path | None = PrivateAttr(None)
    # Where each value was written, found when first asked for; None when not parsed from text.
    _locate: Callable[[], Positions | None] | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sync" not in data and "catalogEvents" in data:
            # A PIM that sends its catalog is never called: nothing to list, no address to call.
            return {**data, "sync": {"baseUrl": NEVER_CALLED}}
        if isinstance(data, dict) and "sync" not in data:
            webhook = data.get("webhook")
            if isinstance(webhook, dict) and "ecommerce" in webhook:
                raise located_error("webhook.ecommerce", LEGACY_MESSAGE)
            raise located_error(
                "sync", "a connector needs a sync block (baseUrl, resources, webhooks.handlers)"
            )
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ConnectorDefinition:
        self.sync.attach_context(self.name)
        provided = self.auth.provides() if self.auth else set()
        sources = self.sync.placeholder_sources()
        if isinstance(self.auth, OAuth2Auth):
            sources[("auth", "authorizeUrl")] = self.auth.authorizeUrl
            sources[("auth", "tokenUrl")] = self.auth.tokenUrl
        choices = ", ".join(sorted(provided)) or "none (declare auth)"
        for where, text in sources.items():
            wrong = malformed(text)
            if wrong is not None:
                raise located_error(
                    where,
                    f"{wrong!r} is not a placeholder the client fills; write [[name]] (two square "
                    f"brackets each side, no spaces) with a credential of this connector's auth: {choices}",
                )
            for name in placeholders(text):
                if name not in provided:
                    raise located_error(
                        where,
                        f"[[{name}]] is not a credential of this connector's auth; available: {choices}",
                    )
        for where, text in self.sync.unfilled_texts().items():
            found = placeholder_like(text)
            if found is not None:
                never = (
                    "an updateStatus body fills only {status} and {id}"
                    if "body" in where
                    else "incremental.params are not filled from credentials"
                )
                raise located_error(
                    where,
                    f"{found!r} would be sent as written: {never}; [[placeholders]] are filled only in "
                    "sync.baseUrl, sync.headers and endpoint urls and params",
                )
        self._check_verification_credentials(provided)
        self._check_trigger_entities()
        if self.webhook and self.webhook.customerExtraction:
            self.webhook.customerExtraction.compiled.connector = self.name
            events = self.webhook.customerExtraction.events or []
            for index, event in enumerate(events):
                if event not in self.sync.webhooks.handlers:
                    raise located_error(
                        ("webhook", "customerExtraction", "events", index),
                        f"no handler for {event!r}; handled events: {', '.join(self.sync.webhooks.handlers)}",
                    )
        return self

    def _check_verification_credentials(self, provided: set[str]) -> None:
        """A verification key that is not a credential of the auth would refuse every delivery."""
        if self.catalogEvents is not None:
            token = self.catalogEvents.token
            for key, name in (("secret", token.secret), ("installation", token.installation)):
                if name is not None and name not in provided:
                    raise located_error(
                        ("catalogEvents", "token", key),
                        f"{name!r} is not a credential of this connector's auth; name one of: "
                        f"{', '.join(sorted(provided)) or 'none: declare auth with its credentials'}",
                    )
        verification = self.webhook.verification if self.webhook else None
        for key in ("secret", "username", "password"):
            name = getattr(verification, key, None)
            if isinstance(name, str) and name not in provided:
                choices = ", ".join(sorted(provided)) or "none: declare auth with its credentials"
                raise located_error(
                    ("webhook", "verification", key),
                    f"{name!r} is not a credential of this connector's auth, so no integration could hold "
                    f"it and every delivery would be refused; name one of: {choices} (or add {name!r} "
                    "to auth.credentials)",
                )

    def _check_trigger_entities(self) -> None:
        """A trigger offers workflows records of its entity type; its handler must write that type."""
        handlers = self.sync.webhooks.handlers
        for index, trigger in enumerate(self.triggers):
            handler = handlers.get(trigger.event)
            if handler is None:
                continue  # the checklist names triggers without a handler
            expected = entity_type_of(handler.recordType)
            if trigger.entityType != expected:
                raise located_error(
                    ("triggers", index, "entityType"),
                    f"entityType {trigger.entityType!r} disagrees with its handler "
                    f"sync.webhooks.handlers[{trigger.event!r}], which writes {handler.recordType!r} "
                    f"records; use entityType {expected!r}",
                )

    @property
    def resources(self) -> dict[str, Resource]:
        return self.sync.resources

    @property
    def handlers(self) -> dict[str, WebhookHandler]:
        return self.sync.webhooks.handlers

    def changes_of(self, trigger: Trigger) -> str | None:
        """The content type whose changes (its ``syncChanges``) fire ``trigger``: its webhook handler's;
        for a catalog-events source, which has no handler, core:product for its product triggers (the
        changes its events make to the canonical catalog). None: no record's change fires it."""
        handler = self.handlers.get(trigger.event)
        if handler is not None:
            return handler.contentType
        if self.catalogEvents is not None and trigger.syncChanges and trigger.contentType == "core:product":
            return trigger.contentType
        return None

    @property
    def source(self) -> Path | None:
        """The file this definition was loaded from (samples are relative to its folder)."""
        return self._source

    def position_of(self, location: Location) -> Position | None:
        """Where ``location`` was written (a place the document lacks: its nearest ancestor's);
        None for a definition that was not parsed from text."""
        positions = self._locate() if self._locate else None
        return positions.of(location) if positions else None

    def resolve(self, relative: str) -> Path:
        base = self._source.parent if self._source else Path.cwd()
        return (base / relative).resolve()
