"""The adapters every function wires to AWS in the same way, built once per cold start.

The tables, the record writer, the integration lookups and the provider sessions are put together
here, on one set of boto3 clients; each function's factory (mercator.wiring.factories) adds its own
queues and services. Every HTTP client that calls out on a tenant's behalf is built under the egress
guard (mercator.providers.egress), with the policy of the function's settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3  # type: ignore[import-untyped]

from mercator.providers.egress import EgressPolicy
from mercator.services.connectors import ConnectorCatalog
from mercator.services.writer import RecordWriter
from mercator.state.cursors import DynamoRunLog
from mercator.state.integrations import DynamoIntegrations
from mercator.state.queues import SqsQueue
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator.state.tracking import DynamoTracking
from mercator.wiring.sessions import ProviderSessionFactory, provider_sessions


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


def keep_secrets_out_of_aws_logs() -> None:
    """Never let botocore log at DEBUG: its debug lines print whole requests and answers, the text of
    secrets included (CreateSecret, GetSecretValue), whatever level the function's logs are set to."""
    logging.getLogger("botocore").setLevel(logging.INFO)
