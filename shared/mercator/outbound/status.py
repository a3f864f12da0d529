"""The ``update_status`` workflow action: set the record's status in the store it came from.

The call is the connector's ``sync.actions.updateStatus``, made through a provider session of the
change's integration, so it shares the integration's rate bucket, retries and credential masking
with the sync. An integration whose ``pushTracking`` setting is off, a connector without that block
(Shopify) or another kind of record fails the action for good, saying so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from mercator.connector import ConnectorDefinition, DefinitionError
from mercator.domain.entities import Integration
from mercator.domain.errors import CredentialsError, MissingCredentialError, RateBucketUnavailable
from mercator.domain.messages import ChangeEvent
from mercator.domain.provider_errors import ProviderEgressError, ProviderError, ProviderHTTPError
from mercator.domain.workflows import ActionFailedError, UpdateStatusAction, Workflow
from mercator.outbound.actions import ACTION_RUNNERS
from mercator.outbound.context import expect_action, secret_failure
from mercator.outbound.delivery import retryable_status


class Integrations(Protocol):
    def get(self, integration_id: str) -> Integration | None: ...


class Vault(Protocol):
    def credentials(self, integration: Integration) -> dict[str, str]: ...


class Connectors(Protocol):
    def get(self, name: str) -> ConnectorDefinition: ...


class StatusSession(Protocol):
    """The part of a ProviderClient the updater uses."""

    async def update_status(self, record_id: str, status: str) -> None: ...

    async def aclose(self) -> None: ...


class StatusSessions(Protocol):
    """Opens provider sessions (mercator.wiring.sessions.ProviderSessionFactory)."""

    def open(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> StatusSession: ...


@ACTION_RUNNERS.register(UpdateStatusAction)
class StatusUpdater:
    """ActionRunner for ``update_status`` actions."""

    def __init__(
        self, integrations: Integrations, vault: Vault, connectors: Connectors, sessions: StatusSessions
    ) -> None:
        self._integrations = integrations
        self._vault = vault
        self._connectors = connectors
        self._sessions = sessions

    def run(self, action: Any, event: ChangeEvent, workflow: Workflow) -> str:
        update = expect_action(action, UpdateStatusAction)
        integration = self._integration(event, workflow)
        try:
            definition = self._connectors.get(integration.connector)
        except DefinitionError as exc:
            raise ActionFailedError(
                f"connector {integration.connector!r} cannot be loaded: {exc}", retryable=False
            ) from None
        endpoint = definition.sync.actions.updateStatus
        if endpoint is None:
            raise ActionFailedError(
                f"connector {definition.name!r} has no sync.actions.updateStatus: "
                f"{definition.displayName} statuses cannot be set from a workflow",
                retryable=False,
            )
        if endpoint.contentType != event.content_type:
            raise ActionFailedError(
                f"connector {definition.name!r} sets the status of {endpoint.recordType} records "
                f"({endpoint.contentType}) only, not of {event.content_type} records",
                retryable=False,
            )
        if event.change == "deleted":
            raise ActionFailedError(
                f"{event.content_type} record {event.code!r} was deleted; its status cannot be set",
                retryable=False,
            )
        try:
            credentials = self._vault.credentials(integration)
        except CredentialsError as exc:
            raise secret_failure(exc, "the integration's credentials could not be read") from None
        asyncio.run(self._update(definition, integration, credentials, event.code, update.status))
        return f"set {endpoint.recordType} {event.code!r} to status {update.status!r} in {definition.name}"

    def _integration(self, event: ChangeEvent, workflow: Workflow) -> Integration:
        integration = self._integrations.get(event.integration_id)
        if integration is None:
            raise ActionFailedError(f"integration {event.integration_id!r} no longer exists", retryable=False)
        if integration.tenant_id != workflow.tenant_id:
            # Never act on another tenant's store, whatever the event says.
            raise ActionFailedError(
                f"integration {integration.id!r} does not belong to tenant {workflow.tenant_id!r}",
                retryable=False,
            )
        if integration.status != "active":
            raise ActionFailedError(
                f"integration {integration.id!r} is {integration.status}; activate it and resume",
                retryable=False,
            )
        if integration.settings.get("pushTracking") is not True:
            # Writing to the merchant's store is opt-in, whatever a workflow asks for.
            raise ActionFailedError(
                f"integration {integration.id!r} does not push statuses to the store (its setting "
                "pushTracking is off); configure it with pushTracking: true, then resume",
                retryable=False,
            )
        return integration

    async def _update(
        self,
        definition: ConnectorDefinition,
        integration: Integration,
        credentials: Mapping[str, str],
        record_id: str,
        status: str,
    ) -> None:
        try:
            session = self._sessions.open(definition, integration, credentials)
        except (MissingCredentialError, ValueError) as exc:  # the integration's settings, not the store
            raise ActionFailedError(str(exc), retryable=False) from None
        try:
            await session.update_status(record_id, status)
        except ProviderHTTPError as exc:
            # The reason is stored and shown to the tenant: the store's body stays out of it.
            raise ActionFailedError(exc.without_body(), retryable=retryable_status(exc.status)) from None
        except ProviderEgressError as exc:  # the integration's address: asking again cannot help
            raise ActionFailedError(exc.without_body(), retryable=False) from None
        except ProviderError as exc:  # timeouts, connection failures, unusable answers
            raise ActionFailedError(exc.without_body(), retryable=True) from None
        except MissingCredentialError as exc:
            raise ActionFailedError(str(exc), retryable=False) from None
        except RateBucketUnavailable as exc:
            raise ActionFailedError(
                f"the rate bucket of integration {integration.id!r} is unavailable: {exc}", retryable=True
            ) from None
        finally:
            await session.aclose()
