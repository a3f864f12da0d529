"""The adapters every function wires to AWS in the same way, built once per cold start.

A handler's ``build_services`` takes what it needs from here and adds its own queues, so the tables,
the record writer and the integration lookups are put together in one place. Every HTTP client that
calls out on a tenant's behalf (store APIs, token endpoints, workflow webhooks, Web Push) is built
here under the egress guard (mercator.providers.egress), with the policy of the function's settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3  # type: ignore[import-untyped]

from mercator.providers.egress import EgressPolicy
from mercator.providers.sessions import ProviderSessionFactory
from mercator.services.connectors import ConnectorCatalog
from mercator.services.writer import RecordWriter
from mercator.state.cursors import DynamoRunLog
from mercator.state.integrations import DynamoIntegrations
from mercator.state.queues import SqsQueue
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator.state.tracking import DynamoTracking

if TYPE_CHECKING:
    from mercator.services.dispatch import DispatchService
    from mercator.services.intake import WebhookIntake
    from mercator.services.management import ManagementService
    from mercator.settings import ManagementSettings, WebhookSettings


class TenantRequestSettings(Protocol):
    """Where a deployment's own connectors are, and where requests on a tenant's behalf may go."""

    @property
    def connectors_dir(self) -> Path | None: ...

    @property
    def egress_allow_loopback(self) -> bool: ...

    @property
    def egress_allowed_hosts(self) -> tuple[str, ...]: ...


class TableSettings(TenantRequestSettings, Protocol):
    @property
    def state_table(self) -> str: ...

    @property
    def records_table(self) -> str: ...

    @property
    def trigger_queue_url(self) -> str: ...


@dataclass(frozen=True)
class Shared:
    """What both ScheduledSync and DetailEnrichment use, on one set of boto3 clients."""

    dynamodb: Any
    sqs: Any
    integrations: DynamoIntegrations
    vault: SecretsVault
    connectors: ConnectorCatalog
    sessions: ProviderSessionFactory
    writer: RecordWriter
    run_log: DynamoRunLog

    def queue(self, url: str) -> SqsQueue:
        return SqsQueue(self.sqs, url)


def provider_sessions(
    dynamodb: Any, state_table: str, vault: SecretsVault, egress: EgressPolicy
) -> ProviderSessionFactory:
    """Provider sessions paced by the shared rate bucket, renewing OAuth tokens that expire; both the
    store calls and the token calls go through ``egress``."""
    from mercator.providers.oauth_tokens import TOKEN_TIMEOUT_SECONDS  # noqa: PLC0415
    from mercator.providers.token_refresh import TokenRefresher  # noqa: PLC0415

    token_clients = egress.async_clients(timeout=TOKEN_TIMEOUT_SECONDS, headers={"User-Agent": "Mercator"})
    return ProviderSessionFactory(
        dynamodb,
        state_table,
        refresher=TokenRefresher.on_aws(dynamodb, state_table, vault, http_factory=token_clients),
        egress=egress,
    )


def shared_adapters(settings: TableSettings) -> Shared:
    dynamodb = boto3.client("dynamodb")
    sqs = boto3.client("sqs")
    vault = SecretsVault(boto3.client("secretsmanager"))
    egress = EgressPolicy.from_settings(settings)
    return Shared(
        dynamodb=dynamodb,
        sqs=sqs,
        integrations=DynamoIntegrations(dynamodb, settings.state_table),
        vault=vault,
        connectors=ConnectorCatalog.of_deployment(settings.connectors_dir),
        sessions=provider_sessions(dynamodb, settings.state_table, vault, egress),
        writer=RecordWriter(
            DynamoRecords(dynamodb, settings.records_table),
            DynamoTracking(dynamodb, settings.state_table),
            SqsQueue(sqs, settings.trigger_queue_url),
        ),
        run_log=DynamoRunLog(dynamodb, settings.state_table),
    )


def webhook_intake(settings: WebhookSettings) -> WebhookIntake:
    """WebhookIntake on AWS: the handler's service, and ``mercator replay``'s."""
    from mercator.services.cached import CachedIntegrations, CachedVault  # noqa: PLC0415
    from mercator.services.intake import WebhookIntake  # noqa: PLC0415
    from mercator.state.archive import S3DeliveryArchive  # noqa: PLC0415
    from mercator.state.delivery_claims import DynamoDeliveryLedger  # noqa: PLC0415

    shared = shared_adapters(settings)
    return WebhookIntake(
        integrations=CachedIntegrations(shared.integrations, ttl=settings.lookup_cache_seconds),
        vault=CachedVault(shared.vault, ttl=settings.lookup_cache_seconds),
        connectors=shared.connectors,
        ledger=DynamoDeliveryLedger(
            shared.dynamodb,
            settings.state_table,
            settings.records_table,
            retention=timedelta(days=settings.dedupe_days),
        ),
        archive=S3DeliveryArchive(boto3.client("s3"), settings.archive_bucket),
        records=DynamoRecords(shared.dynamodb, settings.records_table),
        writer=shared.writer,
        triggers=shared.queue(settings.trigger_queue_url),
        enrich=shared.queue(settings.enrich_queue_url),
        dead_letters=shared.queue(settings.enrich_dlq_url),
        max_body_bytes=settings.max_body_bytes,
    )


class ActionSettings(TenantRequestSettings, Protocol):
    """What running workflow actions needs (DispatchSettings, ManagementSettings)."""

    @property
    def state_table(self) -> str: ...

    @property
    def event_bus_name(self) -> str: ...

    @property
    def sender_email(self) -> str: ...

    @property
    def vapid_secret_arn(self) -> str | None: ...


def dispatch_service(
    settings: ActionSettings,
    *,
    dynamodb: Any | None = None,
    vault: SecretsVault | None = None,
    connectors: ConnectorCatalog | None = None,
) -> DispatchService:
    """DispatchService on AWS with every action runner: TriggerDispatch's, and the API's for resumes."""
    from mercator.outbound.email import EmailSender  # noqa: PLC0415
    from mercator.outbound.eventbridge import EventBridgePublisher  # noqa: PLC0415
    from mercator.outbound.push import PushSender  # noqa: PLC0415
    from mercator.outbound.status import StatusUpdater  # noqa: PLC0415
    from mercator.outbound.webhook_action import WebhookSender  # noqa: PLC0415
    from mercator.services.dispatch import DispatchService  # noqa: PLC0415
    from mercator.state.subscriptions import DynamoPushSubscriptions  # noqa: PLC0415
    from mercator.state.workflow_store import DynamoExecutions, DynamoWorkflows  # noqa: PLC0415

    dynamodb = dynamodb or boto3.client("dynamodb")
    vault = vault or SecretsVault(boto3.client("secretsmanager"))
    connectors = connectors or ConnectorCatalog.of_deployment(settings.connectors_dir)
    egress = EgressPolicy.from_settings(settings)
    # Workflow webhooks and Web Push messages: the tenant chose where they go.
    http = egress.client()
    return DispatchService(
        connectors=connectors,
        workflows=DynamoWorkflows(dynamodb, settings.state_table),
        executions=DynamoExecutions(dynamodb, settings.state_table),
        publisher=EventBridgePublisher(boto3.client("events"), settings.event_bus_name),
        runners={
            "webhook": WebhookSender(http, vault),
            "send_email": EmailSender(boto3.client("ses"), sender=settings.sender_email),
            "send_push": PushSender(
                http,
                DynamoPushSubscriptions(dynamodb, settings.state_table),
                vault,
                settings.vapid_secret_arn,
            ),
            "update_status": StatusUpdater(
                DynamoIntegrations(dynamodb, settings.state_table),
                vault,
                connectors,
                provider_sessions(dynamodb, settings.state_table, vault, egress),
            ),
        },
    )


def management_service(settings: ManagementSettings) -> ManagementService:
    """The Integrations API's service on AWS."""
    from mercator.providers.retries import RetryPolicy  # noqa: PLC0415
    from mercator.services.management import ManagementService  # noqa: PLC0415
    from mercator.services.management_ports import IntegrationStores  # noqa: PLC0415
    from mercator.state.cursors import DynamoCursors  # noqa: PLC0415
    from mercator.state.delivery_claims import DynamoDeliveryLedger  # noqa: PLC0415
    from mercator.state.subscriptions import DynamoPushSubscriptions  # noqa: PLC0415
    from mercator.state.workflow_store import DynamoWorkflows  # noqa: PLC0415

    dynamodb = boto3.client("dynamodb")
    vault = SecretsVault(boto3.client("secretsmanager"))
    connectors = ConnectorCatalog.of_deployment(settings.connectors_dir)
    state, records = settings.state_table, settings.records_table
    egress = EgressPolicy.from_settings(settings)

    def probe_retries() -> RetryPolicy:
        # The check answers an API request: a short wait, never a provider's long Retry-After.
        return RetryPolicy(
            max_attempts=settings.credentials_check_attempts, max_delay=2.0, max_retry_after=5.0
        )

    return ManagementService(
        connectors=connectors,
        providers=connectors.names(),
        integrations=DynamoIntegrations(dynamodb, state),
        vault=vault,
        sessions=ProviderSessionFactory(dynamodb, state, retry_factory=probe_retries, egress=egress),
        stores=IntegrationStores(
            tracking=DynamoTracking(dynamodb, state),
            cursors=DynamoCursors(dynamodb, state),
            run_log=DynamoRunLog(dynamodb, state),
            deliveries=DynamoDeliveryLedger(dynamodb, state, records),
            records=DynamoRecords(dynamodb, records),
        ),
        subscriptions=DynamoPushSubscriptions(dynamodb, state),
        workflows=DynamoWorkflows(dynamodb, state),
        resumer=dispatch_service(settings, dynamodb=dynamodb, vault=vault, connectors=connectors),
        egress=egress,
    )


def keep_secrets_out_of_aws_logs() -> None:
    """Never let botocore log at DEBUG: its debug lines print whole requests and answers, the text of
    secrets included (CreateSecret, GetSecretValue), whatever level the function's logs are set to."""
    logging.getLogger("botocore").setLevel(logging.INFO)
