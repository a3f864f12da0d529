"""The Integrations API's service on moto with every real adapter, and sandbox stores for its checks.

The provider clients reach the sandbox stores in process: a transport picks the store by host, so a
setting's ``baseUrl`` or a credential's store address chooses it, and an unknown host fails like an
unreachable store. Credentials are made-up values in each platform's form, long and distinctive so
that a leak into a response or a log line is caught.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
from moto import mock_aws

from mercator.connector import ConnectorDefinition, shipped_definitions
from mercator.domain.messages import ChangeEvent
from mercator.domain.workflows import ActionFailedError, Workflow
from mercator.providers.egress import EgressPolicy
from mercator.providers.retries import RetryPolicy
from mercator.services.connectors import ConnectorCatalog
from mercator.services.dispatch import DispatchService
from mercator.services.intake import WebhookIntake
from mercator.services.management import ManagementService
from mercator.services.management_ports import IntegrationStores
from mercator.services.shipment_requests import ShipmentRequests
from mercator.services.sync_runs import SyncService
from mercator.services.writer import RecordWriter
from mercator.state.archive import S3DeliveryArchive
from mercator.state.cursors import DynamoCursors, DynamoRunLog
from mercator.state.delivery_claims import DynamoDeliveryLedger
from mercator.state.integrations import DynamoIntegrations
from mercator.state.pushed_shipments import DynamoPushedShipments
from mercator.state.queues import SqsQueue
from mercator.state.record_store import DynamoRecords
from mercator.state.secrets import SecretsVault
from mercator.state.subscriptions import DynamoPushSubscriptions
from mercator.state.tracking import DynamoTracking
from mercator.state.workflow_store import DynamoExecutions, DynamoWorkflows
from mercator.wiring.sessions import ProviderSessionFactory
from mercator_local.resources import create_template_table
from mercator_sandbox import Sandbox
from tests.sandbox_egress import SANDBOX_EGRESS
from tests.unit.services.fakes import FakeClock

REGION = "eu-west-1"
STATE, RECORDS = "mercator-state", "mercator-records"
NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)

SALLA_HOST = "salla.sandbox.test"
LOCAL_SANDBOX_HOST = "127.0.0.1"
# A Salla store that accepts only the tokens its OAuth server issued: a made-up token is refused.
GUARDED_SALLA_HOST = "salla-guarded.sandbox.test"
WOO_HOST = "woo.sandbox.test"
SHOP_HOST = "mercator-shop.sandbox.test"

SALLA_TOKEN = "salla-at-Q8v3Lm2Zx7Rk4Tw9"
WOO_KEY, WOO_SECRET = "ck_5e1a9c3f7b2d8e40", "cs_2b7f4d9a1c6e3f58"
SHOP_TOKEN = "shpat_6c1d8e2f4a9b7c3d5e0f"
CREDENTIALS: dict[str, dict[str, str]] = {
    "salla": {"accessToken": SALLA_TOKEN, "webhookSecret": "salla-whs-Vn4Kp8Qz2Lx6"},
    "woocommerce": {
        "consumerKey": WOO_KEY,
        "consumerSecret": WOO_SECRET,
        "storeUrl": f"https://{WOO_HOST}",
        "webhookSecret": "woo-whs-Ht7Bq3Wm9Jc5",
    },
    "shopify": {"accessToken": SHOP_TOKEN, "shopDomain": SHOP_HOST, "webhookSecret": "shop-whs-Ry2Dn6Fs8Gk1"},
}
# Every credential value but the store addresses, which are not secret.
SECRET_VALUES = tuple(
    value
    for credentials in CREDENTIALS.values()
    for name, value in credentials.items()
    if name not in ("storeUrl", "shopDomain")
)
SALLA_BASE_URL = f"http://{SALLA_HOST}/admin/v2"
GUARDED_SALLA_BASE_URL = f"http://{GUARDED_SALLA_HOST}/admin/v2"
SIZES = {"orders": 5, "products": 3, "customers": 3, "carts": 2}


@functools.cache
def template_table_calls(logical_id: str, table_name: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The DynamoDB calls that create ``logical_id``'s table of template.yaml, read from it once."""
    recorder = _CallRecorder()
    create_template_table(recorder, logical_id, table_name=table_name)
    return tuple(recorder.calls)


class _CallRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Any:
        def record(**request: Any) -> dict[str, Any]:
            self.calls.append((operation, request))
            return {"TableDescription": {}}

        return record


class HostRouter(httpx.AsyncBaseTransport):
    """Sends each request to the sandbox store of its host, or to a transport a test put in
    ``answering`` for it; records every request; an unknown host fails as a connection error, like a
    store that cannot be reached."""

    def __init__(
        self,
        stores: Mapping[str, Sandbox],
        sent: list[httpx.Request],
        answering: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self._transports = {host: httpx.ASGITransport(app=store.app) for host, store in stores.items()}
        self._sent = sent
        self._answering = answering if answering is not None else {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._sent.append(request)
        transport = self._answering.get(request.url.host) or self._transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no store answers at {request.url.host}", request=request)
        return await transport.handle_async_request(request)


@dataclass
class RecordingRunner:
    """A workflow action that records what it was asked to do; ``fail`` makes it fail for good."""

    fail: str | None = None
    runs: list[tuple[str, str]] = field(default_factory=list)

    def run(self, action: Any, event: ChangeEvent, workflow: Workflow) -> str:
        self.runs.append((workflow.guid, event.code))
        if self.fail is not None:
            raise ActionFailedError(self.fail, retryable=False)
        return f"sent {event.code}"


@dataclass
class ManagementWorld:
    service: ManagementService
    clock: FakeClock
    dynamodb: Any
    secrets: Any
    integrations: DynamoIntegrations
    workflows: DynamoWorkflows
    executions: DynamoExecutions
    tracking: DynamoTracking
    cursors: DynamoCursors
    run_log: DynamoRunLog
    ledger: DynamoDeliveryLedger
    records: DynamoRecords
    subscriptions: DynamoPushSubscriptions
    stores: dict[str, Sandbox]
    sent: list[httpx.Request]
    runner: RecordingRunner
    intake: WebhookIntake
    sync: SyncService
    sqs: Any
    queues: dict[str, str]
    shipments: DynamoPushedShipments
    # Hosts a test answers itself (an httpx.MockTransport), beside the sandbox stores.
    answering: dict[str, httpx.AsyncBaseTransport] = field(default_factory=dict)

    def queued(self, queue: str) -> list[str]:
        """The bodies waiting in ``queue``, taken off it."""
        bodies: list[str] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queues[queue], MaxNumberOfMessages=10)
            batch = got.get("Messages", [])
            if not batch:
                return bodies
            for message in batch:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=self.queues[queue], ReceiptHandle=message["ReceiptHandle"])

    def secret_names(self) -> list[str]:
        listed = self.secrets.list_secrets().get("SecretList", [])
        return sorted(entry["Name"] for entry in listed)

    def state_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.dynamodb.scan(TableName=STATE).get("Items", [])
        return items


def _stores() -> dict[str, Sandbox]:
    salla = Sandbox("salla", seed=3, sizes=SIZES, rate_limit=None)
    return {
        SALLA_HOST: salla,
        # Where the events of events/management_api/ expect a local Salla sandbox.
        LOCAL_SANDBOX_HOST: salla,
        GUARDED_SALLA_HOST: Sandbox("salla", seed=3, sizes=SIZES, rate_limit=None, oauth={}),
        WOO_HOST: Sandbox("woocommerce", seed=3, sizes=SIZES, rate_limit=None),
        SHOP_HOST: Sandbox("shopify", seed=3, sizes=SIZES, rate_limit=None),
    }


@contextmanager
def management_world(
    egress: EgressPolicy | None = None, definitions: Mapping[str, ConnectorDefinition] | None = None
) -> Iterator[ManagementWorld]:
    """The service and its stores on moto; AWS credentials and region must be set (use_fake_aws).

    With ``egress``, provider sessions make real, guarded requests under that policy instead of
    reaching the in-process stores (the sandbox hosts are then unknown). ``definitions`` replace the
    shipped connectors of their names."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for logical_id, name in (("StateTable", STATE), ("RecordsTable", RECORDS)):
            for operation, request in template_table_calls(logical_id, name):
                getattr(dynamodb, operation)(**request)
        secrets = boto3.client("secretsmanager", region_name=REGION)
        clock = FakeClock(NOW)
        stores = _stores()
        sent: list[httpx.Request] = []
        connectors = ConnectorCatalog(definitions)
        integrations = DynamoIntegrations(dynamodb, STATE, sleep=lambda _: None)
        workflows = DynamoWorkflows(dynamodb, STATE, clock=clock)
        executions = DynamoExecutions(dynamodb, STATE)
        subscriptions = DynamoPushSubscriptions(dynamodb, STATE, clock=clock)
        runner = RecordingRunner()
        tracking = DynamoTracking(dynamodb, STATE, sleep=lambda _: None)
        cursors = DynamoCursors(dynamodb, STATE, clock=clock)
        run_log = DynamoRunLog(dynamodb, STATE, clock=clock)
        ledger = DynamoDeliveryLedger(dynamodb, STATE, RECORDS, sleep=lambda _: None)
        records = DynamoRecords(dynamodb, RECORDS, clock=clock)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="archive", CreateBucketConfiguration={"LocationConstraint": REGION})
        sqs = boto3.client("sqs", region_name=REGION)
        queues = {
            name: sqs.create_queue(QueueName=name)["QueueUrl"]
            for name in ("trigger", "enrich", "dlq", "jobs", "push")
        }
        shipments = DynamoPushedShipments(dynamodb, STATE)
        vault = SecretsVault(secrets)
        answering: dict[str, httpx.AsyncBaseTransport] = {}
        sessions = ProviderSessionFactory(
            dynamodb,
            STATE,
            http_factory=None
            if egress is not None
            else lambda: httpx.AsyncClient(transport=HostRouter(stores, sent, answering)),
            retry_factory=lambda: RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002),
            egress=egress or SANDBOX_EGRESS,
        )
        writer = RecordWriter(records, tracking, SqsQueue(sqs, queues["trigger"]), clock=clock)
        intake = WebhookIntake(
            integrations=integrations,
            vault=vault,
            connectors=connectors,
            ledger=ledger,
            archive=S3DeliveryArchive(s3, "archive"),
            records=records,
            writer=writer,
            triggers=SqsQueue(sqs, queues["trigger"]),
            enrich=SqsQueue(sqs, queues["enrich"]),
            dead_letters=SqsQueue(sqs, queues["dlq"]),
            clock=clock,
        )
        sync = SyncService(
            integrations=integrations,
            vault=vault,
            connectors=connectors,
            sessions=sessions,
            cursors=cursors,
            run_log=run_log,
            writer=writer,
            sync_jobs=SqsQueue(sqs, queues["jobs"]),
            enrich=SqsQueue(sqs, queues["enrich"]),
            dead_letters=SqsQueue(sqs, queues["dlq"]),
            clock=clock,
        )
        service = ManagementService(
            connectors=connectors,
            providers=[path.stem for path in shipped_definitions()],
            integrations=integrations,
            vault=vault,
            sessions=sessions,
            stores=IntegrationStores(tracking, cursors, run_log, ledger, records),
            subscriptions=subscriptions,
            workflows=workflows,
            resumer=DispatchService(
                connectors=connectors,
                workflows=workflows,
                executions=executions,
                publisher=_Unpublished(),
                runners={
                    "webhook": runner,
                    "send_email": runner,
                    "send_push": runner,
                    "update_status": runner,
                },
                clock=clock,
            ),
            egress=egress or SANDBOX_EGRESS,
            shipments=ShipmentRequests(
                records=records, ledger=shipments, push_jobs=SqsQueue(sqs, queues["push"]), clock=clock
            ),
            clock=clock,
        )
        yield ManagementWorld(
            service=service,
            clock=clock,
            dynamodb=dynamodb,
            secrets=secrets,
            integrations=integrations,
            workflows=workflows,
            executions=executions,
            tracking=tracking,
            cursors=cursors,
            run_log=run_log,
            ledger=ledger,
            records=records,
            subscriptions=subscriptions,
            stores=stores,
            sent=sent,
            runner=runner,
            intake=intake,
            sync=sync,
            sqs=sqs,
            queues=queues,
            shipments=shipments,
            answering=answering,
        )


class _Unpublished:
    """The event bus of a resume: resuming runs the paused action only and publishes nothing."""

    def publish(self, events: Any) -> None:
        raise AssertionError("resuming an execution must not publish to the event bus")
