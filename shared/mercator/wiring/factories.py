"""The composition root: one factory per Lambda function, each building its service on AWS.

A handler calls its factory once per cold start (its cached ``service()``); tests call a factory
against moto. Each factory imports the adapters it needs when it runs, so a function loads only its
own. Every HTTP client made on a tenant's behalf goes through the egress guard, under the policy of
the function's settings.
"""

# Imports inside the factories: each function loads the adapters of its own service only.
# ruff: noqa: PLC0415

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from mercator.services.connectors import ConnectorCatalog
from mercator.state.aws_clients import AwsClients
from mercator.state.integrations import DynamoIntegrations
from mercator.state.secrets import SecretsVault
from mercator.wiring.adapters import (
    Shared,
    TableSettings,
    TenantRequestSettings,
    keep_secrets_out_of_aws_logs,
    shared_adapters,
)

if TYPE_CHECKING:
    from mercator.services.catalog_apply import CatalogApply
    from mercator.services.catalog_events import CatalogEventIntake
    from mercator.services.catalog_push import CatalogPushService
    from mercator.services.dispatch import DispatchService
    from mercator.services.enrich import EnrichmentService
    from mercator.services.intake import WebhookIntake
    from mercator.services.management import ManagementService
    from mercator.services.oauth import OAuthService
    from mercator.services.sync_runs import SyncService
    from mercator.services.tracking_push import ShipmentPushService
    from mercator.settings import (
        AuthorizerSettings,
        CatalogApplySettings,
        CatalogEventsSettings,
        CatalogReadSettings,
        EnrichSettings,
        ManagementSettings,
        OAuthSettings,
        PushSettings,
        SyncSettings,
        WebhookSettings,
    )
    from mercator.state.api_keys import DynamoApiKeys
    from mercator.state.catalog_items import DynamoCatalog
    from mercator.wiring.sessions import ProviderSessionFactory


def webhook_intake(settings: WebhookSettings) -> WebhookIntake:
    """WebhookIntake on AWS: the handler's service, and ``mercator replay``'s."""
    from mercator.services.cached import CachedIntegrations
    from mercator.services.intake import WebhookIntake
    from mercator.state.archive import S3DeliveryArchive
    from mercator.state.delivery_claims import DynamoDeliveryLedger
    from mercator.state.record_store import DynamoRecords

    shared = shared_adapters(settings, secrets_max_age=int(settings.lookup_cache_seconds))
    return WebhookIntake(
        integrations=CachedIntegrations(shared.integrations, ttl=settings.lookup_cache_seconds),
        vault=shared.vault,
        connectors=shared.connectors,
        ledger=DynamoDeliveryLedger(
            shared.dynamodb,
            settings.state_table,
            settings.records_table,
            retention=timedelta(days=settings.dedupe_days),
        ),
        archive=S3DeliveryArchive(shared.aws.client("s3"), settings.archive_bucket),
        records=DynamoRecords(shared.dynamodb, settings.records_table),
        writer=shared.writer,
        triggers=shared.queue(settings.trigger_queue_url),
        enrich=shared.queue(settings.enrich_queue_url),
        dead_letters=shared.queue(settings.enrich_dlq_url),
        max_body_bytes=settings.max_body_bytes,
    )


def catalog_events(settings: CatalogEventsSettings) -> CatalogEventIntake:
    """CatalogEvents: a PIM's requests verified, validated and queued to its FIFO queue."""
    from mercator.services.cached import CachedIntegrations
    from mercator.services.catalog_events import CatalogEventIntake
    from mercator.state.catalog_items import DynamoCatalog

    shared = shared_adapters(settings, secrets_max_age=int(settings.lookup_cache_seconds))
    return CatalogEventIntake(
        integrations=CachedIntegrations(shared.integrations, ttl=settings.lookup_cache_seconds),
        vault=shared.vault,
        connectors=shared.connectors,
        requests=DynamoCatalog(shared.dynamodb, settings.state_table),
        queue=shared.queue(settings.catalog_events_queue_url),
    )


def catalog_state(settings: CatalogReadSettings) -> DynamoCatalog:
    """The catalog state of PIM integrations, for ``mercator catalog``."""
    from mercator.state.catalog_items import DynamoCatalog

    return DynamoCatalog(AwsClients.of(settings).client("dynamodb"), settings.state_table)


def catalog_apply(settings: CatalogApplySettings) -> CatalogApply:
    """CatalogApply: requests applied to the catalog state, the changed products written."""
    from mercator.services.catalog_apply import CatalogApply
    from mercator.state.catalog_items import DynamoCatalog

    shared = shared_adapters(settings)
    return CatalogApply(
        integrations=shared.integrations,
        connectors=shared.connectors,
        catalog=DynamoCatalog(shared.dynamodb, settings.state_table),
        writer=shared.writer,
        dead_letters=shared.queue(settings.catalog_dlq_url),
        requests=shared.queue(settings.catalog_events_queue_url),
    )


def scheduled_sync(settings: SyncSettings) -> SyncService:
    """ScheduledSync's service: fans out SyncJobs and runs each one."""
    from mercator.services.deletions import DeletionGuard
    from mercator.services.sync_runs import SyncService
    from mercator.state.cursors import DynamoCursors

    shared = shared_adapters(settings)
    return SyncService(
        integrations=shared.integrations,
        vault=shared.vault,
        connectors=shared.connectors,
        sessions=store_sessions(shared, settings),
        cursors=DynamoCursors(shared.dynamodb, settings.state_table),
        run_log=shared.run_log,
        writer=shared.writer,
        sync_jobs=shared.queue(settings.sync_jobs_queue_url),
        enrich=shared.queue(settings.enrich_queue_url),
        dead_letters=shared.queue(settings.enrich_dlq_url),
        deletion_guard=DeletionGuard(settings.deletion_guard_fraction, settings.deletion_guard_min),
        deadline_margin_seconds=settings.deadline_margin_seconds,
    )


def detail_enrichment(settings: EnrichSettings) -> EnrichmentService:
    """DetailEnrichment's service: EnrichBatch messages become written, validated records."""
    from mercator.services.enrich import EnrichmentService

    shared = shared_adapters(settings)
    return EnrichmentService(
        integrations=shared.integrations,
        vault=shared.vault,
        connectors=shared.connectors,
        sessions=store_sessions(shared, settings),
        writer=shared.writer,
        run_log=shared.run_log,
        dead_letters=shared.queue(settings.enrich_dlq_url),
    )


def catalog_push(settings: PushSettings) -> CatalogPushService:
    """CatalogPush's service: the canonical catalog pushed into the stores that ask for it."""
    from mercator.providers.egress import EgressPolicy
    from mercator.services.catalog_push import CatalogPushService
    from mercator.state.locks import DynamoLeaseLock
    from mercator.state.pushed_products import DynamoPushedProducts
    from mercator.state.queues import SqsQueue
    from mercator.state.record_store import DynamoRecords
    from mercator.wiring.sessions import provider_sessions

    aws = AwsClients.of(settings)
    dynamodb = aws.client("dynamodb")
    sqs = aws.client("sqs")
    vault = SecretsVault(aws.client("secretsmanager"))
    return CatalogPushService(
        integrations=DynamoIntegrations(dynamodb, settings.state_table),
        vault=vault,
        connectors=ConnectorCatalog.of_deployment(settings.connectors_dir),
        sessions=provider_sessions(
            dynamodb, settings.state_table, vault, EgressPolicy.from_settings(settings)
        ),
        records=DynamoRecords(dynamodb, settings.records_table),
        ledger=DynamoPushedProducts(dynamodb, settings.state_table),
        locks=DynamoLeaseLock(dynamodb, settings.state_table),
        push_jobs=SqsQueue(sqs, settings.push_jobs_queue_url),
        dead_letters=SqsQueue(sqs, settings.push_dlq_url),
        deadline_margin_seconds=settings.deadline_margin_seconds,
    )


def shipment_push(settings: PushSettings) -> ShipmentPushService:
    """The worker of pushTracking, in CatalogPush: each queued tenant shipment written into its store."""
    from mercator.providers.egress import EgressPolicy
    from mercator.services.tracking_push import ShipmentPushService
    from mercator.state.locks import DynamoLeaseLock
    from mercator.state.pushed_shipments import DynamoPushedShipments
    from mercator.state.queues import SqsQueue
    from mercator.wiring.sessions import provider_sessions

    aws = AwsClients.of(settings)
    dynamodb = aws.client("dynamodb")
    vault = SecretsVault(aws.client("secretsmanager"))
    return ShipmentPushService(
        integrations=DynamoIntegrations(dynamodb, settings.state_table),
        vault=vault,
        connectors=ConnectorCatalog.of_deployment(settings.connectors_dir),
        sessions=provider_sessions(
            dynamodb, settings.state_table, vault, EgressPolicy.from_settings(settings)
        ),
        ledger=DynamoPushedShipments(dynamodb, settings.state_table),
        locks=DynamoLeaseLock(dynamodb, settings.state_table),
        dead_letters=SqsQueue(aws.client("sqs"), settings.push_dlq_url),
    )


def store_sessions(shared: Shared, settings: TableSettings) -> ProviderSessionFactory:
    """Sessions with the stores, paced by the shared rate bucket and guarded by the settings' egress
    policy; imported here, so only the functions that call stores load the HTTP client."""
    from mercator.providers.egress import EgressPolicy
    from mercator.wiring.sessions import provider_sessions

    egress = EgressPolicy.from_settings(settings)
    return provider_sessions(shared.dynamodb, settings.state_table, shared.vault, egress)


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


def trigger_dispatch(
    settings: ActionSettings,
    *,
    dynamodb: Any | None = None,
    vault: SecretsVault | None = None,
    connectors: ConnectorCatalog | None = None,
) -> DispatchService:
    """DispatchService on AWS with every action runner: TriggerDispatch's, and the API's for resumes."""
    from mercator.outbound.actions import runners
    from mercator.outbound.email import EmailSender
    from mercator.outbound.eventbridge import EventBridgePublisher
    from mercator.outbound.push import PushSender
    from mercator.outbound.status import StatusUpdater
    from mercator.outbound.webhook_action import WebhookSender
    from mercator.providers.egress import EgressPolicy
    from mercator.services.dispatch import DispatchService
    from mercator.services.push_echoes import PushEchoes
    from mercator.state.pushed_products import DynamoPushedProducts
    from mercator.state.subscriptions import DynamoPushSubscriptions
    from mercator.state.workflow_store import DynamoExecutions, DynamoWorkflows
    from mercator.wiring.sessions import provider_sessions

    aws = AwsClients.of(settings)
    dynamodb = dynamodb or aws.client("dynamodb")
    vault = vault or SecretsVault(aws.client("secretsmanager"))
    connectors = connectors or ConnectorCatalog.of_deployment(settings.connectors_dir)
    egress = EgressPolicy.from_settings(settings)
    # Workflow webhooks and Web Push messages: the tenant chose where they go.
    http = egress.client()
    return DispatchService(
        connectors=connectors,
        workflows=DynamoWorkflows(dynamodb, settings.state_table),
        executions=DynamoExecutions(dynamodb, settings.state_table),
        publisher=EventBridgePublisher(aws.client("events"), settings.event_bus_name),
        runners=runners(
            WebhookSender(http, vault),
            EmailSender(aws.client("ses"), sender=settings.sender_email),
            PushSender(
                http,
                DynamoPushSubscriptions(dynamodb, settings.state_table),
                vault,
                settings.vapid_secret_arn,
            ),
            StatusUpdater(
                DynamoIntegrations(dynamodb, settings.state_table),
                vault,
                connectors,
                provider_sessions(dynamodb, settings.state_table, vault, egress),
            ),
        ),
        echoes=PushEchoes(DynamoPushedProducts(dynamodb, settings.state_table)),
    )


def management_api(settings: ManagementSettings) -> ManagementService:
    """The Integrations API's service on AWS; configure requests carry credentials into Secrets Manager."""
    from mercator.providers.egress import EgressPolicy
    from mercator.providers.retries import RetryPolicy
    from mercator.services.management import ManagementService
    from mercator.services.management_ports import IntegrationStores
    from mercator.services.shipment_requests import ShipmentRequests
    from mercator.state.cursors import DynamoCursors, DynamoRunLog
    from mercator.state.delivery_claims import DynamoDeliveryLedger
    from mercator.state.pushed_shipments import DynamoPushedShipments
    from mercator.state.queues import SqsQueue
    from mercator.state.record_store import DynamoRecords
    from mercator.state.subscriptions import DynamoPushSubscriptions
    from mercator.state.tracking import DynamoTracking
    from mercator.state.workflow_store import DynamoWorkflows
    from mercator.wiring.sessions import ProviderSessionFactory

    keep_secrets_out_of_aws_logs()
    aws = AwsClients.of(settings)
    dynamodb = aws.client("dynamodb")
    vault = SecretsVault(aws.client("secretsmanager"))
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
        resumer=trigger_dispatch(settings, dynamodb=dynamodb, vault=vault, connectors=connectors),
        egress=egress,
        shipments=ShipmentRequests(
            records=DynamoRecords(dynamodb, records),
            ledger=DynamoPushedShipments(dynamodb, state),
            push_jobs=SqsQueue(aws.client("sqs"), settings.push_jobs_queue_url),
        ),
    )


def oauth(settings: OAuthSettings) -> OAuthService:
    """The OAuth installs' service; the callback writes tokens to Secrets Manager."""
    from mercator.providers.oauth_tokens import OAuthTokenClient
    from mercator.services.oauth import OAuthService
    from mercator.state.oauth_apps import SecretsOAuthApps
    from mercator.state.oauth_nonces import DynamoOAuthNonces

    keep_secrets_out_of_aws_logs()
    aws = AwsClients.of(settings)
    dynamodb = aws.client("dynamodb")
    vault = SecretsVault(aws.client("secretsmanager"))
    return OAuthService(
        connectors=ConnectorCatalog.of_deployment(settings.connectors_dir),
        apps=SecretsOAuthApps(vault),
        nonces=DynamoOAuthNonces(dynamodb, settings.state_table),
        exchange=OAuthTokenClient(),
        integrations=DynamoIntegrations(dynamodb, settings.state_table),
        vault=vault,
        signing_key=lambda: vault.secret_string(settings.state_key_secret).encode("utf-8"),
        base_url=settings.base_url,
        state_ttl_seconds=settings.state_ttl_seconds,
    )


def api_keys(settings: AuthorizerSettings) -> DynamoApiKeys:
    """ApiAuthorizer's key store."""
    from mercator.state.api_keys import DynamoApiKeys

    return DynamoApiKeys(AwsClients.of(settings).client("dynamodb"), settings.state_table)
