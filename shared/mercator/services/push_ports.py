"""What catalog push needs besides the shared ports (mercator.services.ports)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mercator.domain.entities import Integration, PushedProduct, PushRun, StoredRecord
from mercator.services.ports import IntegrationRepository


class EchoLedger(Protocol):
    def echo_until(self, integration_id: str, provider_id: str) -> datetime | None:
        """The store's updated-at of Mercator's last write of the product; None when Mercator never
        wrote it (or the store gave no time)."""
        ...


class PushLedger(EchoLedger, Protocol):
    """What was pushed of each canonical product into one store, and the store's push run."""

    def between(self, integration_id: str, first: str, last: str) -> dict[str, PushedProduct]:
        """The entries of source codes from ``first`` to ``last`` (as text, both included)."""
        ...

    def get(self, integration_id: str, source_code: str) -> PushedProduct | None: ...

    def save(self, entry: PushedProduct) -> None: ...

    def save_echo(
        self, integration_id: str, provider_id: str, source_code: str, store_updated_at: datetime | None
    ) -> None:
        """Remember that the store's product ``provider_id`` is Mercator's write, as of its updated-at."""
        ...

    def run(self, integration_id: str) -> PushRun | None: ...

    def new_run(self, run_id: str, started_at: datetime) -> PushRun: ...

    def save_run(self, integration_id: str, run: PushRun) -> None: ...

    def finish_run(self, integration_id: str, run: PushRun) -> None: ...


class CatalogRecords(Protocol):
    """The canonical catalog in the records table."""

    def written_by(
        self, tenant_id: str, content_type: str, integration_id: str, *, after: str | None, limit: int
    ) -> list[StoredRecord]:
        """Up to ``limit`` records the integration wrote last, in code order, after ``after``."""
        ...


class TenantIntegrations(IntegrationRepository, Protocol):
    def for_tenant(self, tenant_id: str) -> list[Integration]:
        """The tenant's integrations of every status."""
        ...


class LeaseLock(Protocol):
    def acquire(self, name: str, owner: str, lease_seconds: float) -> bool: ...

    def release(self, name: str, owner: str) -> bool: ...
