"""The adapters every function wires to AWS in the same way, built once per cold start.

The tables, the record writer and the integration lookups are put together here, on one set of
boto3 clients; each function's factory (mercator.wiring.factories) adds its own queues and services,
and the provider sessions where it calls stores (mercator.wiring.sessions). Nothing here loads an
HTTP client, so a function that calls no store does not load one at start-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mercator.services.connectors import ConnectorCatalog
from mercator.services.writer import RecordWriter
from mercator.state.aws_clients import AwsClients, ClientBudget
from mercator.state.cursors import DynamoRunLog
from mercator.state.integrations import DynamoIntegrations
from mercator.state.queues import SqsQueue
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import MAX_AGE_SECONDS, SecretsVault
from mercator.state.tracking import DynamoTracking


class TenantRequestSettings(ClientBudget, Protocol):
    """Where a deployment's own connectors are, where requests on a tenant's behalf may go, and how
    long an AWS call may take."""

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

    aws: AwsClients
    dynamodb: Any
    sqs: Any
    integrations: DynamoIntegrations
    vault: SecretsVault
    connectors: ConnectorCatalog
    writer: RecordWriter
    run_log: DynamoRunLog

    def queue(self, url: str) -> SqsQueue:
        return SqsQueue(self.sqs, url)


def shared_adapters(settings: TableSettings, *, secrets_max_age: int = MAX_AGE_SECONDS) -> Shared:
    """The tables, queues, vault and writer on one set of clients; ``secrets_max_age`` is how long a
    read secret is kept (intake keeps credentials as briefly as its integration look-ups)."""
    aws = AwsClients.of(settings)
    dynamodb = aws.client("dynamodb")
    sqs = aws.client("sqs")
    vault = SecretsVault(aws.client("secretsmanager"), max_age=secrets_max_age)
    return Shared(
        aws=aws,
        dynamodb=dynamodb,
        sqs=sqs,
        integrations=DynamoIntegrations(dynamodb, settings.state_table),
        vault=vault,
        connectors=ConnectorCatalog.of_deployment(settings.connectors_dir),
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
