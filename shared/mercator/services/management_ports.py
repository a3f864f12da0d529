"""What the Integrations API's service needs from the outside world, as protocols (no boto3 or httpx).

The state adapters fulfil them: DynamoIntegrations, SecretsVault, DynamoTracking, DynamoCursors,
DynamoRunLog, DynamoDeliveryLedger, DynamoRecords, DynamoPushSubscriptions, DynamoWorkflows; the
provider session factory opens the clients that check credentials; DispatchService resumes executions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from mercator.connector import ConnectorDefinition
from mercator.domain.entities import Integration, IntegrationStatus, PushSubscription
from mercator.domain.workflows import EntityType, Workflow, WorkflowExecution
from mercator.services.registration import CredentialsStore, IntegrationStore


class EgressChecks(Protocol):
    """What the egress guard tells before any request (mercator.providers.egress.EgressPolicy)."""

    def url_problem(self, url: str) -> str | None: ...

    def check_store_hosts(
        self, definition: ConnectorDefinition, base_url: str | None, credentials: Mapping[str, str]
    ) -> None: ...


class TenantIntegrations(IntegrationStore, Protocol):
    """mercator.state.integrations.DynamoIntegrations."""

    def set_status(self, integration_id: str, status: IntegrationStatus) -> Integration: ...

    def delete(self, integration: Integration) -> None: ...


class Vault(CredentialsStore, Protocol):
    """mercator.state.secrets.SecretsVault."""


class ProbeSession(Protocol):
    async def probe(self) -> None: ...

    async def aclose(self) -> None: ...


class ProbeSessions(Protocol):
    """Opens provider clients (mercator.wiring.sessions.ProviderSessionFactory)."""

    def open(
        self, definition: ConnectorDefinition, integration: Integration, credentials: Mapping[str, str]
    ) -> ProbeSession: ...


class TrackedIds(Protocol):
    def delete_for_integration(self, integration_id: str, resources: Iterable[str]) -> int: ...


class IntegrationLog(Protocol):
    """Cursors, run logs and delivery claims: what is kept per integration."""

    def delete_for_integration(self, integration_id: str) -> int: ...


class Records(Protocol):
    def delete_for_integration(
        self, tenant_id: str, content_types: Iterable[str], integration_id: str
    ) -> int: ...


class PushSubscriptions(Protocol):
    def add(self, tenant_id: str, endpoint: str, p256dh: str, auth: str) -> PushSubscription: ...


class Workflows(Protocol):
    """mercator.state.workflow_store.DynamoWorkflows."""

    def get(self, tenant_id: str, guid: str) -> Workflow | None: ...

    def put(self, tenant_id: str, workflow: Workflow) -> None: ...

    def delete(self, tenant_id: str, guid: str) -> None: ...

    def toggle(self, tenant_id: str, guid: str) -> Workflow: ...

    def for_tenant(
        self, tenant_id: str, entity_type: EntityType | None = None, managed: bool | None = None
    ) -> list[Workflow]: ...


class Resumer(Protocol):
    """mercator.services.dispatch.DispatchService."""

    def resume(self, tenant_id: str, execution_id: str) -> WorkflowExecution: ...


@dataclass(frozen=True)
class IntegrationStores:
    """Everything kept about an integration besides itself, which removing it deletes."""

    tracking: TrackedIds
    cursors: IntegrationLog
    run_log: IntegrationLog
    deliveries: IntegrationLog
    records: Records
