"""The adapters every function wires to AWS in the same way, built once per cold start.

A handler's ``build_services`` takes what it needs from here and adds its own queues, so the tables,
the record writer and the integration lookups are put together in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

import boto3  # type: ignore[import-untyped]

from mercator.providers.sessions import ProviderSessionFactory
from mercator.services.connectors import ConnectorCatalog
from mercator.services.writer import RecordWriter
from mercator.state.cursors import DynamoRunLog
from mercator.state.integrations import DynamoIntegrations
from mercator.state.queues import SqsQueue
from mercator.state.records import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator.state.tracking import DynamoTracking

if TYPE_CHECKING:
    from mercator.services.intake import WebhookIntake
    from mercator.settings import WebhookSettings


class TableSettings(Protocol):
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


def shared_adapters(settings: TableSettings) -> Shared:
    dynamodb = boto3.client("dynamodb")
    sqs = boto3.client("sqs")
    return Shared(
        dynamodb=dynamodb,
        sqs=sqs,
        integrations=DynamoIntegrations(dynamodb, settings.state_table),
        vault=SecretsVault(boto3.client("secretsmanager")),
        connectors=ConnectorCatalog(),
        sessions=ProviderSessionFactory(dynamodb, settings.state_table),
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
    from mercator.state.deliveries import DynamoDeliveryLedger  # noqa: PLC0415

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
