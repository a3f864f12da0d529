"""The Integrations API's work (``seeds/004``): a tenant's integrations, push subscriptions, workflows
and the shipments it sends into its stores (pushTracking, mercator.services.shipment_requests).

Every operation takes the caller's tenant, which the API reads from its authorizer only, and reaches
nothing of another tenant: another tenant's integration, workflow or execution is answered exactly
like a missing one (NotFoundError), so a tenant cannot even learn that it exists.

Configuring checks everything before storing anything: the request, that the tenant has no other
integration of the connector, that the store address the tenant chose (a ``baseUrl`` setting, or the
credentials the connector's base URL is made from) names a host the connector allows, and the
credentials themselves, with one real list request to the store through the egress guard. What the
store answers is never shown back beyond its own message field: the address is the tenant's choice,
and its answer is not theirs to read through Mercator. A workflow webhook's address is checked the
same way as far as it can be before it is called (https, no internal IP address).
Removing goes step by step from disabling to deleting the integration itself, each step idempotent,
so a removal cut short (a timeout in a large purge) is finished by asking again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, get_args

from mercator.api.schemas import (
    ConfigureIntegrationRequest,
    ConfigureWorkflowRequest,
    IntegrationSettings,
    SavePushSubscriptionRequest,
    ShipmentRequest,
)
from mercator.connector import ConnectorDefinition, DefinitionError
from mercator.connector.integration_settings import base_url_of
from mercator.domain.clock import utc_now
from mercator.domain.content_types import RecordValidationError
from mercator.domain.entities import Integration, PushSubscription
from mercator.domain.errors import (
    ExecutionNotFoundError,
    HostNotAllowedError,
    IntegrationNotFoundError,
    MissingCredentialError,
    WorkflowNotFoundError,
)
from mercator.domain.provider_errors import ProviderCredentialsError, ProviderError
from mercator.domain.secret_names import is_webhook_key_of, webhook_key_prefix
from mercator.domain.workflows import (
    EntityType,
    UpdateStatusAction,
    WebhookAction,
    Workflow,
    WorkflowExecution,
    trigger_id,
)
from mercator.mapping.conditions import ConditionError
from mercator.services.dispatch import ResumeRefusedError
from mercator.services.management_ports import (
    EgressChecks,
    IntegrationStores,
    ProbeSessions,
    PushSubscriptions,
    Resumer,
    TenantIntegrations,
    Vault,
    Workflows,
)
from mercator.services.ports import Connectors
from mercator.services.push_ports import PushedShipment
from mercator.services.registration import (
    IntegrationConflictError,
    RegistrationError,
    plan_registration,
    register_integration,
)
from mercator.services.shipment_requests import (
    Accepted,
    ShipmentOrderError,
    ShipmentRequests,
    UnknownOrderError,
)

logger = logging.getLogger(__name__)

ENTITY_TYPES: tuple[str, ...] = get_args(EntityType)
# Content types each setting governs; a resource of any other type (customers) is always synced.
ORDER_TYPES = frozenset({"ecommerce:orders", "ecommerce:carts", "ecommerce:shipments"})
PRODUCT_TYPES = frozenset({"core:product"})


class ManagementError(Exception):
    """A request the API refuses; the message is safe to show to the tenant (no secret in it)."""


class NotFoundError(ManagementError):
    """No such item for this tenant (whether missing or another tenant's)."""


class ConfigurationError(ManagementError):
    """The request cannot be carried out as given: bad settings, refused credentials, unknown trigger."""


class ConflictError(ManagementError):
    """The request clashes with what exists: a second integration of a connector, a running execution."""


@dataclass(frozen=True)
class TriggerOption:
    """A trigger a tenant's workflow may listen to: one connector event."""

    guid: str
    connector: str
    event: str
    name: str
    description: str
    entity_type: EntityType


@dataclass(frozen=True)
class Removal:
    """What removing an integration deleted."""

    integration_id: str
    tracked_ids: int
    cursors: int
    run_logs: int
    delivery_claims: int
    records: int


class ManagementService:
    """The Integrations API's operations, tenant by tenant."""

    def __init__(
        self,
        *,
        connectors: Connectors,
        providers: Sequence[str],
        integrations: TenantIntegrations,
        vault: Vault,
        sessions: ProbeSessions,
        stores: IntegrationStores,
        subscriptions: PushSubscriptions,
        workflows: Workflows,
        resumer: Resumer,
        egress: EgressChecks,
        shipments: ShipmentRequests,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._connectors = connectors
        self._providers = tuple(providers)
        self._integrations = integrations
        self._vault = vault
        self._sessions = sessions
        self._stores = stores
        self._subscriptions = subscriptions
        self._workflows = workflows
        self._resumer = resumer
        self._egress = egress
        self._shipments = shipments
        self._clock = clock
        self._new_id = new_id

    # Integrations

    def integrations(self, tenant_id: str) -> list[Integration]:
        """The tenant's integrations of every status, oldest first."""
        return self._integrations.for_tenant(tenant_id)

    def configure(self, tenant_id: str, request: ConfigureIntegrationRequest) -> Integration:
        """Check the request and the credentials (one call to the store), then store the integration."""
        definition = self._provider(request.providerId)
        settings = _settings(definition, request.settings)
        if request.settings.catalogSource:
            self._check_one_catalog_source(tenant_id)
        credentials = request.credential_values()
        options: dict[str, Any] = {
            "tenant_id": tenant_id,
            "credentials": credentials,
            "resources": _resources(definition, request.settings),
            "settings": settings,
            "clock": self._clock,
        }
        try:
            plan = plan_registration(self._integrations, definition, integration_id=self._new_id(), **options)
            self._check_hosts(definition, plan.integration, credentials)
            # A catalog-events source is never called: it calls Mercator, and its token proves the secret.
            if definition.catalogEvents is None:
                asyncio.run(self._probe(definition, plan.integration, credentials))
            integration = register_integration(
                self._integrations, self._vault, definition, integration_id=plan.integration.id, **options
            )
        except IntegrationConflictError as exc:
            raise ConflictError(f"Integration already configured: {exc}") from None
        except RegistrationError as exc:
            raise ConfigurationError(str(exc)) from None
        logger.info(
            "integration %s of connector %s configured",
            integration.id,
            integration.connector,
            extra={
                "tenant_id": tenant_id,
                "integration_id": integration.id,
                "resources": integration.resources,
            },
        )
        return integration

    def _check_one_catalog_source(self, tenant_id: str) -> None:
        named = [
            integration.id
            for integration in self._integrations.for_tenant(tenant_id)
            if integration.status == "active" and integration.settings.get("catalogSource") is True
        ]
        if named:
            raise ConflictError(
                f"settings.catalogSource: the tenant's catalog source is already {named[0]!r}; remove or "
                "disable it first"
            )

    def disable(self, tenant_id: str, integration_id: str) -> Integration:
        """Stop the integration's schedules and webhooks; disabling it again changes nothing."""
        integration = self._integration(tenant_id, integration_id)
        if integration.status == "disabled":
            return integration
        try:
            return self._integrations.set_status(integration.id, "disabled")
        except IntegrationNotFoundError:
            raise _integration_not_found(integration_id) from None

    def remove(self, tenant_id: str, integration_id: str, *, purge: bool = False) -> Removal:
        """Delete the integration, its secret, tracked ids, cursors, run logs and delivery claims, and
        with ``purge`` the tenant's records it wrote last."""
        integration = self._integration(tenant_id, integration_id)
        if integration.status == "active":
            # First of all, so no schedule or webhook starts new work while the rest goes.
            try:
                integration = self._integrations.set_status(integration.id, "disabled")
            except IntegrationNotFoundError:
                raise _integration_not_found(integration_id) from None
        resources, content_types = self._footprint(integration)
        stores = self._stores
        removal = Removal(
            integration_id=integration.id,
            tracked_ids=stores.tracking.delete_for_integration(integration.id, resources),
            cursors=stores.cursors.delete_for_integration(integration.id),
            run_logs=stores.run_log.delete_for_integration(integration.id),
            delivery_claims=stores.deliveries.delete_for_integration(integration.id),
            records=stores.records.delete_for_integration(tenant_id, content_types, integration.id)
            if purge
            else 0,
        )
        self._vault.delete_secret(integration.credentials_arn)
        # Last: until here, asking again finds the integration and finishes the removal.
        self._integrations.delete(integration)
        logger.info(
            "integration %s removed%s",
            integration.id,
            " with its records" if purge else "",
            extra={"tenant_id": tenant_id, "removal": asdict(removal)},
        )
        return removal

    def save_push_subscription(
        self, tenant_id: str, request: SavePushSubscriptionRequest
    ) -> PushSubscription:
        try:
            return self._subscriptions.add(
                tenant_id, request.endpoint, request.keys.p256dh, request.keys.auth
            )
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    # Workflows

    def triggers(self, tenant_id: str, entity_type: str) -> list[TriggerOption]:
        """The triggers of the tenant's connectors for ``entity_type``, connector by connector."""
        return self._triggers(tenant_id, _entity_type(entity_type))

    def workflows(self, tenant_id: str, entity_type: str, *, include_managed: bool = False) -> list[Workflow]:
        """The tenant's workflows of ``entity_type``, oldest first; managed ones only when asked for."""
        managed = None if include_managed else False
        return self._workflows.for_tenant(tenant_id, _entity_type(entity_type), managed)

    def configure_workflow(self, tenant_id: str, request: ConfigureWorkflowRequest) -> Workflow:
        """Create a workflow, or update the tenant's workflow ``request.guid``."""
        existing = None
        if request.guid is not None:
            existing = self._workflows.get(tenant_id, request.guid)
            if existing is None:
                raise _workflow_not_found(request.guid)
        trigger = next(
            (
                found
                for found in self._triggers(tenant_id, request.entityType)
                if found.guid == request.triggerId
            ),
            None,
        )
        if trigger is None:
            raise ConfigurationError(
                f"trigger {request.triggerId!r} is not a {request.entityType} trigger of this tenant's "
                f"integrations; GET /api/workflows/triggers/{request.entityType} lists them"
            )
        self._check_action(tenant_id, request, trigger)
        now = self._clock()
        workflow = Workflow(
            guid=existing.guid if existing else self._new_id(),
            tenant_id=tenant_id,
            name=request.name,
            entity_type=request.entityType,
            connector=trigger.connector,
            trigger=trigger.event,
            conditions=request.conditions,
            action=request.action,
            is_active=existing.is_active if existing else True,
            is_managed=existing.is_managed if existing else False,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        try:
            self._workflows.put(tenant_id, workflow)
        except ConditionError as exc:
            raise ConfigurationError(f"conditions: {exc}") from None
        return workflow

    def toggle_workflow(self, tenant_id: str, guid: str) -> Workflow:
        try:
            return self._workflows.toggle(tenant_id, guid)
        except WorkflowNotFoundError:
            raise _workflow_not_found(guid) from None

    def delete_workflow(self, tenant_id: str, guid: str) -> None:
        try:
            self._workflows.delete(tenant_id, guid)
        except WorkflowNotFoundError:
            raise _workflow_not_found(guid) from None

    def resume(self, tenant_id: str, execution_id: str) -> WorkflowExecution:
        """Run a paused execution again, from its action, with its workflow as it is now."""
        try:
            return self._resumer.resume(tenant_id, execution_id)
        except ExecutionNotFoundError:
            raise NotFoundError(f"Workflow execution not found: {execution_id!r}") from None
        except ResumeRefusedError as exc:
            raise ConflictError(str(exc)) from None

    # Shipments (pushTracking)

    def ship(self, tenant_id: str, request: ShipmentRequest) -> Accepted:
        """Keep the tenant's shipment of a synced order and queue its write into the store."""
        integration = self._integration(tenant_id, request.integrationId)
        try:
            definition = self._connectors.get(integration.connector)
        except DefinitionError:
            raise ConfigurationError(
                f"connector {integration.connector!r} of integration {integration.id!r} cannot be loaded"
            ) from None
        if definition.push is None or definition.push.shipments is None:
            raise ConfigurationError(
                f"{definition.displayName} shipments cannot be written by Mercator (connector "
                f"{definition.name!r} has no push.shipments)"
            )
        if integration.status != "active":
            raise ConflictError(
                f"Integration {integration.id!r} is disabled: it writes nothing into its store"
            )
        if integration.settings.get("pushTracking") is not True:
            raise ConflictError(
                f"settings.pushTracking is off for integration {integration.id!r}: configure the integration "
                "with pushTracking true to send its store shipments"
            )
        try:
            return self._shipments.accept(integration, request)
        except UnknownOrderError as exc:
            raise NotFoundError(str(exc)) from None
        except ShipmentOrderError as exc:
            raise ConflictError(str(exc)) from None
        except RecordValidationError as exc:
            raise ConfigurationError(str(exc)) from None

    def shipment(self, tenant_id: str, integration_id: str, shipment_id: str) -> PushedShipment:
        """The tenant's shipment of the integration, and where its write stands."""
        integration = self._integration(tenant_id, integration_id)
        entry = self._shipments.get(integration, shipment_id)
        if entry is None:
            raise NotFoundError(f"Shipment not found: {shipment_id!r}")
        return entry

    # Helpers

    def _provider(self, name: str) -> ConnectorDefinition:
        if name not in self._providers:
            raise NotFoundError(f"Provider not found: {name!r}; providers: {', '.join(self._providers)}")
        return self._connectors.get(name)

    def _integration(self, tenant_id: str, integration_id: str) -> Integration:
        integration = self._integrations.get(integration_id)
        if integration is None or integration.tenant_id != tenant_id:
            raise _integration_not_found(integration_id)
        return integration

    def _footprint(self, integration: Integration) -> tuple[list[str], list[str]]:
        """The resource keys and content types the integration may have written."""
        try:
            definition = self._connectors.get(integration.connector)
        except DefinitionError:
            # A connector Mercator no longer ships: what the integration named is all that is known.
            logger.warning(
                "connector %s of integration %s cannot be loaded; removing what its resources name",
                integration.connector,
                integration.id,
            )
            return list(integration.resources or []), []
        resources = definition.resources
        return list(resources), sorted({resource.contentType for resource in resources.values()})

    def _check_hosts(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> None:
        try:
            self._egress.check_store_hosts(definition, base_url_of(integration), credentials)
        except (HostNotAllowedError, MissingCredentialError) as exc:
            store = definition.displayName
            raise ConfigurationError(f"the {store} store address cannot be used: {exc}") from None

    async def _probe(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> None:
        store = definition.displayName
        try:
            session = self._sessions.open(definition, integration, credentials)
        except (MissingCredentialError, ValueError) as exc:  # messages go through the redactor
            raise ConfigurationError(f"the {store} credentials or settings cannot be used: {exc}") from None
        try:
            await session.probe()
        except UnicodeEncodeError:
            # A request header is ASCII: a credential sent in one (a token) cannot hold other characters.
            # The error quotes the character: it is not shown, it may be part of a secret.
            raise ConfigurationError(
                f"the {store} credentials or settings cannot be used: a value sent in a request header "
                "holds characters other than ASCII"
            ) from None
        except ProviderCredentialsError as exc:
            # The reason is the store's own message field, never the rest of what it answered.
            raise ConfigurationError(
                f"Invalid credentials: {store} refused them ({exc.status}): {exc.reason or 'no reason given'}"
            ) from None
        except ProviderError as exc:
            raise ConfigurationError(
                f"the {store} store could not be checked with these settings: {exc.without_body()}"
            ) from None
        except MissingCredentialError as exc:
            raise ConfigurationError(str(exc)) from None
        finally:
            await session.aclose()

    def _triggers(self, tenant_id: str, entity_type: EntityType) -> list[TriggerOption]:
        connectors = dict.fromkeys(
            integration.connector for integration in self._integrations.for_tenant(tenant_id)
        )
        options: list[TriggerOption] = []
        for name in connectors:
            try:
                definition = self._connectors.get(name)
            except DefinitionError as exc:
                # One integration's broken connector must not hide the tenant's other triggers.
                logger.error("connector %s cannot be loaded: %s", name, exc, extra={"tenant_id": tenant_id})
                continue
            options.extend(
                TriggerOption(
                    guid=trigger_id(definition.name, trigger.event),
                    connector=definition.name,
                    event=trigger.event,
                    name=trigger.displayName or trigger.event,
                    description=trigger.description,
                    entity_type=trigger.entityType,
                )
                for trigger in definition.triggers
                if trigger.entityType == entity_type
            )
        return options

    def _check_action(
        self, tenant_id: str, request: ConfigureWorkflowRequest, trigger: TriggerOption
    ) -> None:
        action = request.action
        # A signing key is read by name: another tenant's must be out of reach.
        if isinstance(action, WebhookAction) and not is_webhook_key_of(tenant_id, action.secretName):
            raise ConfigurationError(
                "action.secretName must name a Secrets Manager secret of this tenant: "
                f"{webhook_key_prefix(tenant_id)}<name>"
            )
        if isinstance(action, WebhookAction):
            # What can be told before the call (the scheme, an IP literal); the host's addresses are
            # checked when the POST connects.
            problem = self._egress.url_problem(action.url)
            if problem is not None:
                raise ConfigurationError(f"action.url cannot be called: {problem}")
        if isinstance(action, UpdateStatusAction):
            definition = self._connectors.get(trigger.connector)
            if definition.sync.actions.updateStatus is None:
                raise ConfigurationError(
                    f"{definition.displayName} statuses cannot be set from a workflow (connector "
                    f"{definition.name!r} has no sync.actions.updateStatus)"
                )


def _entity_type(value: str) -> EntityType:
    for known in get_args(EntityType):
        if known == value:
            entity: EntityType = known
            return entity
    raise NotFoundError(f"Entity type not found: {value!r}; entity types: {', '.join(ENTITY_TYPES)}")


def _settings(definition: ConnectorDefinition, chosen: IntegrationSettings) -> dict[str, Any]:
    writes_shipments = definition.push is not None and definition.push.shipments is not None
    if chosen.pushTracking and not writes_shipments and definition.sync.actions.updateStatus is None:
        raise ConfigurationError(
            f"settings.pushTracking: Mercator can write neither shipments nor order statuses into "
            f"{definition.displayName} (connector {definition.name!r} has no push.shipments and no "
            "sync.actions.updateStatus); set it to false"
        )
    if (
        chosen.catalogSource
        and definition.catalogEvents is None
        and not any(
            resource.contentType in PRODUCT_TYPES and resource.listed
            for resource in definition.resources.values()
        )
    ):
        raise ConfigurationError(
            f"settings.catalogSource: {definition.displayName} lists no products (connector "
            f"{definition.name!r} has no core:product resource); set it to false"
        )
    # Only a catalog source says so: every other integration's settings stay as they always were.
    return chosen.model_dump(
        exclude_none=True, exclude={"catalogSource"} if not chosen.catalogSource else None
    )


def _resources(definition: ConnectorDefinition, chosen: IntegrationSettings) -> list[str] | None:
    """The enabled resources the settings ask for: orders and carts, products, and the rest always.

    None for a catalog-events source: it has no resources (nothing is listed from it; it calls
    Mercator), so there is nothing to choose.
    """
    if definition.catalogEvents is not None:
        return None
    skipped: set[str] = set()
    if not chosen.autoImportOrders:
        skipped |= ORDER_TYPES
    if not chosen.syncProducts:
        skipped |= PRODUCT_TYPES
    chosen_keys = [
        key
        for key, resource in definition.resources.items()
        if resource.enabled and resource.contentType not in skipped
    ]
    if not chosen_keys:
        raise ConfigurationError(
            f"settings: with autoImportOrders and syncProducts off, {definition.displayName} has "
            "nothing to sync"
        )
    return chosen_keys


def _integration_not_found(integration_id: str) -> NotFoundError:
    return NotFoundError(f"Integration not found: {integration_id!r}")


def _workflow_not_found(guid: str) -> NotFoundError:
    return NotFoundError(f"Workflow not found: {guid!r}")
