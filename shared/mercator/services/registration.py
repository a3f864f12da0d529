"""Registering an integration: its credentials into Secrets Manager, then the integration itself.

Used by the Integrations API, the OAuth callback and ``mercator integrations register``. Everything
is checked before anything is stored: the connector's resources, the settings, that the credentials
hold every name the connector's requests use, and that the tenant has no other integration of the
connector (one per tenant and connector; a concurrent registration loses on the stored claim).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

from mercator.connector import ConnectorDefinition
from mercator.connector.auth import BasicAuth
from mercator.connector.placeholders import placeholders
from mercator.domain.clock import utc_now
from mercator.domain.entities import MAX_RATE, Integration, parse_rate
from mercator.domain.errors import ConnectorTakenError
from mercator.domain.secret_names import credentials_secret_name, is_reserved_tenant

# Ids and tenants become parts of key strings (``#``-separated) and of the secret's name.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,63}$")
_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


class RegistrationError(ValueError):
    """The registration cannot be made as asked; the message says what to change."""


class IntegrationConflictError(RegistrationError):
    """The tenant already has an integration of the connector (``integration_id``)."""

    def __init__(
        self, tenant_id: str, connector: str, integration_id: str, status: str | None = None
    ) -> None:
        shown = f" ({status})" if status else ""
        super().__init__(
            f"tenant {tenant_id!r} already has integration {integration_id!r}{shown} of connector "
            f"{connector!r}; remove it before configuring {connector} again"
        )
        self.tenant_id = tenant_id
        self.connector = connector
        self.integration_id = integration_id


class IntegrationStore(Protocol):
    """Where registered integrations go (mercator.state.integrations.DynamoIntegrations)."""

    def get(self, integration_id: str) -> Integration | None: ...

    def for_tenant(self, tenant_id: str) -> list[Integration]: ...

    def register(self, integration: Integration) -> None:
        """Store the integration; ConnectorTakenError when the tenant has another of its connector."""
        ...


class CredentialsStore(Protocol):
    def store_credentials(
        self, name: str, credentials: Mapping[str, str], *, description: str | None = None
    ) -> str: ...

    def delete_secret(self, secret_id: str) -> None: ...


def secret_name(tenant_id: str, integration_id: str) -> str:
    """The secret the integration's credentials are stored in (mercator.domain.secret_names)."""
    return credentials_secret_name(tenant_id, integration_id)


def required_credentials(definition: ConnectorDefinition, settings: Mapping[str, Any]) -> set[str]:
    """The credential names the connector's list and detail requests need.

    A ``baseUrl`` setting replaces the connector's, so the names only its base URL uses (a store's
    domain) are not needed then.
    """
    sources = definition.sync.placeholder_sources()
    if "baseUrl" in settings:
        sources[("sync", "baseUrl")] = settings["baseUrl"]
    needed = {name for text in sources.values() for name in placeholders(text)}
    if isinstance(definition.auth, BasicAuth):
        needed |= {definition.auth.username, definition.auth.password}
    if definition.catalogEvents is not None:
        needed.add(definition.catalogEvents.token.secret)
    return needed


@dataclass(frozen=True)
class RegistrationPlan:
    """A registration that passed every check, ready to be stored (or first tried, as a probe does)."""

    integration: Integration
    existing: Integration | None


def plan_registration(
    integrations: IntegrationStore,
    definition: ConnectorDefinition,
    *,
    tenant_id: str,
    credentials: Mapping[str, str],
    integration_id: str | None = None,
    resources: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> RegistrationPlan:
    """Check a registration without storing anything; RegistrationError says what to change.

    The plan's integration names the secret its credentials will be stored in, not its ARN yet.
    """
    integration_id = integration_id or uuid.uuid4().hex
    for what, value in (("tenant", tenant_id), ("integration id", integration_id)):
        if not NAME_PATTERN.fullmatch(value):
            raise RegistrationError(
                f"{what} {value!r} must start with a letter or digit and hold at most 64 letters, "
                "digits or _.@+=-"
            )
    if is_reserved_tenant(tenant_id):
        raise RegistrationError(
            f"tenant {tenant_id!r} is a name Mercator keeps for its own secrets; choose another tenant id"
        )
    settings = dict(settings or {})
    _check_settings(settings)
    chosen = _check_resources(definition, resources)
    missing = sorted(required_credentials(definition, settings) - {k for k, v in credentials.items() if v})
    if missing:
        raise RegistrationError(
            f"the credentials lack {', '.join(missing)}, which connector {definition.name!r} needs"
        )
    existing = integrations.get(integration_id)
    if existing is not None and (existing.tenant_id, existing.connector) != (tenant_id, definition.name):
        raise RegistrationError(
            f"integration {integration_id!r} already exists for tenant {existing.tenant_id!r} and connector "
            f"{existing.connector!r}; choose another id"
        )
    for other in integrations.for_tenant(tenant_id):
        if other.connector == definition.name and other.id != integration_id:
            raise IntegrationConflictError(tenant_id, definition.name, other.id, other.status)
    integration = Integration(
        id=integration_id,
        tenant_id=tenant_id,
        connector=definition.name,
        status="active",
        settings=settings,
        resources=chosen,
        credentials_arn=secret_name(tenant_id, integration_id),
        created_at=existing.created_at if existing else clock(),
    )
    return RegistrationPlan(integration, existing)


def register_integration(
    integrations: IntegrationStore,
    vault: CredentialsStore,
    definition: ConnectorDefinition,
    *,
    tenant_id: str,
    credentials: Mapping[str, str],
    integration_id: str | None = None,
    resources: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Integration:
    """Store the credentials and the (active) integration; re-registering an id updates it.

    IntegrationConflictError when the tenant has another integration of the connector; nothing is
    left stored then.
    """
    plan = plan_registration(
        integrations,
        definition,
        tenant_id=tenant_id,
        credentials=credentials,
        integration_id=integration_id,
        resources=resources,
        settings=settings,
        clock=clock,
    )
    planned = plan.integration
    arn = vault.store_credentials(
        secret_name(tenant_id, planned.id),
        credentials,
        description=f"Mercator: {definition.name} credentials of integration {planned.id}",
    )
    integration = planned.model_copy(update={"credentials_arn": arn})
    try:
        integrations.register(integration)
    except ConnectorTakenError as taken:
        if plan.existing is None:
            # The secret was made for this registration alone; the winner has its own.
            vault.delete_secret(arn)
        raise IntegrationConflictError(tenant_id, definition.name, taken.integration_id) from None
    return integration


def _check_settings(settings: Mapping[str, Any]) -> None:
    rate = settings.get("rateLimitPerSecond")
    if rate is not None and parse_rate(rate) is None:
        raise RegistrationError(
            f"setting rateLimitPerSecond {rate!r} must be a number of requests per second above 0 "
            f"and at most {MAX_RATE:g}"
        )
    base_url = settings.get("baseUrl")
    if base_url is None:
        return
    try:
        _HTTP_URL.validate_python(base_url)
    except ValidationError:
        raise RegistrationError(f"setting baseUrl {base_url!r} is not an http(s) URL") from None


def _check_resources(definition: ConnectorDefinition, resources: Sequence[str] | None) -> list[str] | None:
    if resources is None:
        return None
    enabled = [key for key, resource in definition.resources.items() if resource.enabled]
    chosen = list(dict.fromkeys(resources))
    if not chosen:
        raise RegistrationError("give at least one resource, or none to sync every resource")
    unknown = [key for key in chosen if key not in enabled]
    if unknown:
        raise RegistrationError(
            f"connector {definition.name!r} has no enabled resource {', '.join(map(repr, unknown))}; "
            f"resources: {', '.join(enabled)}"
        )
    return chosen
