"""Webhook benchmark: signed deliveries through the WebhookIntake handler against moto, timed and counted.

2,000 Shopify deliveries, each an API Gateway proxy event signed the platform's way, go through the
real handler (functions/webhook_intake/app.py) wired to moto's in-process AWS:

- 1,000 new products (products/update), the hot path: dedupe, archive, conditional write, event;
- 600 new orders (orders/create), which also carry a buyer to extract into core:customer;
- 400 copies of deliveries already taken, as a platform's retry would send them.

For each kind: p50 and p99 handler time, and AWS calls per delivery (counted on botocore's
``before-call`` event of every client), with the time moto took per AWS operation. The
deliveries run in eight fresh moto worlds of 250: moto copies every table a transaction touches,
for its rollback, so in one world of 2,000 a delivery's time would grow with the table, which
DynamoDB's does not. The same deliveries then go, in the same process, through a
baseline built the common way from the same parts: Powertools idempotency (an in-progress record,
then a completion) around an archive put and the RecordWriter (a tracking read, a conditional write,
the event, a tracking write). Figures are printed, never asserted.

    .venv/bin/python benchmarks/webhooks.py [--products 1000] [--orders 600] [--copies 400]
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The handler reads its settings when it is imported; moto needs credentials to sign with.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "STATE_TABLE": "bench-state",
    "RECORDS_TABLE": "bench-records",
    "ARCHIVE_BUCKET": "bench-archive",
}.items():
    os.environ[_name] = _value

import boto3  # noqa: E402
from aws_lambda_powertools.utilities.idempotency import (  # noqa: E402
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from moto import mock_aws  # noqa: E402

from mercator.connector import load_shipped  # noqa: E402
from mercator.connector.mapper import extract_customer, map_delivery  # noqa: E402
from mercator.domain.deliveries import ArchivedDelivery, Headers, IncomingDelivery  # noqa: E402
from mercator.domain.hashing import content_hash  # noqa: E402
from mercator.services.writer import ReadyRecord, code_of  # noqa: E402
from mercator.signatures.verification import verify_delivery  # noqa: E402
from mercator.state.archive import S3DeliveryArchive  # noqa: E402
from mercator_local.resources import create_template_table  # noqa: E402
from mercator_local.webhook_events import delivery_event  # noqa: E402
from mercator_local.webhook_signing import signed_headers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-webhook-secret"
INTEGRATION = "bench-shop"
SIGNED_AT = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_CALLS = 3


@dataclass
class Delivery:
    kind: str
    event: dict[str, Any]
    body: bytes
    topic: str


@dataclass
class Run:
    name: str
    operations: dict[str, list[float]] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    calls: dict[str, list[int]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, seconds: float, calls: int, outcome: str) -> None:
        self.times.setdefault(kind, []).append(seconds)
        self.calls.setdefault(kind, []).append(calls)
        self.outcomes[outcome] += 1


class CallCounter:
    """Counts AWS calls and times each operation (botocore's before-call and after-call events)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds: dict[str, list[float]] = {}
        self._started = 0.0

    def before(self, model: Any, **_: Any) -> None:
        self.count += 1
        self._started = time.perf_counter()

    def after(self, model: Any, **_: Any) -> None:
        self.seconds.setdefault(model.name, []).append(time.perf_counter() - self._started)


def deliveries(products: int, orders: int, copies: int, shards: int) -> list[list[Delivery]]:
    """The deliveries in ``shards`` groups, each with its own originals and copies of them."""
    definition = load_shipped("shopify")
    assert definition.webhook is not None
    product = json.loads(definition.resolve("samples/shopify/products_update.json").read_bytes())
    order = json.loads(definition.resolve("samples/shopify/orders_create.json").read_bytes())
    made: list[Delivery] = []

    def signed(kind: str, topic: str, payload: dict[str, Any], event_id: str) -> Delivery:
        body = json.dumps(payload).encode()
        headers = signed_headers(
            definition.webhook.verification if definition.webhook else None,
            {"webhookSecret": SECRET},
            body,
            now=SIGNED_AT,
        )
        headers |= {"X-Shopify-Topic": topic, "X-Shopify-Event-Id": event_id}
        return Delivery(kind, delivery_event(INTEGRATION, body, headers), body, topic)

    for number in range(products):
        payload = copy.deepcopy(product)
        payload["id"] = 7_000_000 + number
        made.append(signed("new product", "products/update", payload, f"p-{number}"))
    for number in range(orders):
        payload = copy.deepcopy(order)
        payload["id"] = 9_000_000 + number
        payload["customer"]["id"] = 5_000_000 + number
        payload["customer"]["email"] = f"buyer{number}@example.com"
        made.append(signed("new order + buyer", "orders/create", payload, f"o-{number}"))
    groups = [made[index::shards] for index in range(shards)]
    for number in range(copies):
        group = groups[number % shards]
        originals = [delivery for delivery in group if delivery.kind != "copy"]
        original = originals[(number * 7) % len(originals)]
        group.append(Delivery("copy", original.event, original.body, original.topic))
    return groups


@contextmanager
def aws() -> Iterator[tuple[CallCounter, dict[str, str]]]:
    with mock_aws():
        boto3.setup_default_session(region_name=os.environ["AWS_DEFAULT_REGION"])
        counter = CallCounter()
        dynamodb = boto3.client("dynamodb")
        create_template_table(dynamodb, "StateTable", table_name="bench-state")
        create_template_table(dynamodb, "RecordsTable", table_name="bench-records")
        boto3.client("s3").create_bucket(
            Bucket="bench-archive",
            CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]},
        )
        sqs = boto3.client("sqs")
        urls = {
            name: sqs.create_queue(QueueName=f"bench-{name}")["QueueUrl"]
            for name in ("trigger", "enrich", "dlq")
        }
        secret = boto3.client("secretsmanager").create_secret(
            Name=f"mercator/{INTEGRATION}",
            SecretString=json.dumps(
                {"webhookSecret": SECRET, "accessToken": "x", "shopDomain": "bench.myshopify.com"}
            ),
        )["ARN"]
        os.environ.update(
            {
                "TRIGGER_QUEUE_URL": urls["trigger"],
                "ENRICH_QUEUE_URL": urls["enrich"],
                "ENRICH_DLQ_URL": urls["dlq"],
            }
        )
        register(dynamodb, secret)
        # Counted from here: the set-up above is not part of any delivery.
        boto3.DEFAULT_SESSION.events.register("before-call", counter.before)
        boto3.DEFAULT_SESSION.events.register("after-call", counter.after)
        yield counter, urls


def register(dynamodb: Any, secret_arn: str) -> None:
    from mercator.domain.entities import Integration  # noqa: PLC0415
    from mercator.state.integrations import DynamoIntegrations  # noqa: PLC0415

    DynamoIntegrations(dynamodb, "bench-state").put(
        Integration(
            id=INTEGRATION,
            tenant_id="bench-tenant",
            connector="shopify",
            credentials_arn=secret_arn,
            created_at=SIGNED_AT,
        )
    )


class Context:
    function_name = "WebhookIntakeFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:WebhookIntakeFunction"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 25_000


def load_handler() -> Any:
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(
        "webhook_intake_app", ROOT / "functions" / "webhook_intake" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_mercator(shards: list[list[Delivery]], *, through_handler: bool) -> Run:
    """Through the handler (API Gateway event in, HTTP answer out) or straight into WebhookIntake."""
    run = Run("handler" if through_handler else "service")
    for batch in shards:
        run_mercator_shard(batch, run, through_handler=through_handler)
    return run


def run_mercator_shard(batch: list[Delivery], run: Run, *, through_handler: bool) -> None:
    with aws() as (counter, _):
        app = load_handler()
        with redirect_stdout(io.StringIO()):
            # A cold start (imports, the connector's compiled mappings) is not any delivery's cost.
            cold = batch[0].event | {
                "path": "/webhooks/nobody",
                "pathParameters": {"integrationId": "nobody"},
            }
            app.lambda_handler(cold, Context())
        intake = app.service()
        for delivery in batch:
            before = counter.count
            started = time.perf_counter()
            if through_handler:
                # The handler's metrics are printed to stdout: kept out of the report.
                with redirect_stdout(io.StringIO()):
                    response = app.lambda_handler(delivery.event, Context())
                outcome = json.loads(response["body"])["status"]
            else:
                incoming = IncomingDelivery(
                    INTEGRATION, Headers(delivery.event["headers"]), delivery.body, datetime.now(UTC)
                )
                outcome = intake.receive(incoming, "application/json").outcome.value
            elapsed = time.perf_counter() - started
            run.add(delivery.kind, elapsed, counter.count - before, outcome)
        for name, seconds in counter.seconds.items():
            run.operations.setdefault(name, []).extend(seconds)


def run_baseline(shards: list[list[Delivery]]) -> Run:
    """The same deliveries through Powertools idempotency + archive + RecordWriter."""
    run = Run("baseline")
    for batch in shards:
        run_baseline_shard(batch, run)
    return run


def run_baseline_shard(batch: list[Delivery], run: Run) -> None:
    from mercator.settings import WebhookSettings  # noqa: PLC0415
    from mercator.wiring.adapters import shared_adapters  # noqa: PLC0415

    with aws() as (counter, _):
        settings = WebhookSettings.from_environ()
        shared = shared_adapters(settings)
        archive = S3DeliveryArchive(boto3.client("s3"), settings.archive_bucket)
        persistence = DynamoDBPersistenceLayer(
            table_name="bench-state",
            key_attr="pk",
            sort_key_attr="sk",
            expiry_attr="ttl",
            boto3_client=boto3.client("dynamodb"),
        )
        config = IdempotencyConfig(event_key_jmespath="key")
        config.register_lambda_context(Context())  # type: ignore[arg-type]
        definition = shared.connectors.get("shopify")
        integration = shared.integrations.get(INTEGRATION)
        assert integration is not None and definition.webhook is not None
        credentials = shared.vault.credentials(integration)

        @idempotent_function(data_keyword_argument="claim", persistence_store=persistence, config=config)
        def take(claim: dict[str, Any], incoming: IncomingDelivery, topic: str) -> dict[str, Any]:
            archive.put(ArchivedDelivery.of(incoming, dedupe_key=claim["key"], event=topic))
            mapped = map_delivery(definition, topic, json.loads(incoming.body))
            record = mapped.records[0]
            written = shared.writer.write_ready(
                integration,
                resource=definition.handlers[topic].contentType,
                content_type=definition.handlers[topic].contentType,
                records=[ReadyRecord(code_of(record), record, None)],
                run_id=None,
                seen_via="webhook",
            )
            buyer = extract_customer(definition, topic, json.loads(incoming.body))
            if buyer is not None and buyer.records:
                shared.writer.write_ready(
                    integration,
                    resource="customers",
                    content_type="core:customer",
                    records=[ReadyRecord(code_of(found), found, None) for found in buyer.records],
                    run_id=None,
                    seen_via="webhook",
                )
            return {"new": written.new, "hash": content_hash(record)}

        for delivery in batch:
            before = counter.count
            started = time.perf_counter()
            incoming = IncomingDelivery(
                INTEGRATION, Headers(delivery.event["headers"]), delivery.body, datetime.now(UTC)
            )
            verify_delivery(
                definition.webhook.verification, credentials, incoming.headers, incoming.body, now=SIGNED_AT
            )
            key = incoming.headers["X-Shopify-Event-Id"]
            result = take(claim={"key": key}, incoming=incoming, topic=delivery.topic)
            elapsed = time.perf_counter() - started
            run.add(delivery.kind, elapsed, counter.count - before, "accepted" if result["new"] else "seen")
        for name, seconds in counter.seconds.items():
            run.operations.setdefault(name, []).extend(seconds)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(handler: Run, service: Run, baseline: Run) -> None:
    print(f"\n{'kind':<20}{'run':<10}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'AWS calls':>11}")
    for kind in handler.times:
        for run in (handler, service, baseline):
            times, calls = run.times[kind], run.calls[kind]
            print(
                f"{kind:<20}{run.name:<10}{len(times):>6}{percentile(times, 0.5) * 1000:>9.1f}"
                f"{percentile(times, 0.99) * 1000:>9.1f}{statistics.fmean(calls):>11.2f}"
            )
    hot = "new product"
    ours = statistics.fmean(handler.calls[hot])
    theirs = statistics.fmean(baseline.calls[hot])
    p50 = percentile(service.times[hot], 0.5) / percentile(baseline.times[hot], 0.5)
    print(
        f"\nhot path (a new record): {ours:.2f} AWS calls per delivery through the handler "
        f"(target <= {TARGET_CALLS}), baseline {theirs:.2f}; calls ratio {ours / theirs:.2f}; "
        f"p50 service / baseline {p50:.2f}"
    )
    print(f"outcomes through the handler: {dict(handler.outcomes)}")
    print("\nmoto's time per AWS operation (ms): operation, run, calls, p50, p99")
    for run in (service, baseline):
        for name, seconds in sorted(run.operations.items()):
            print(
                f"  {name:<22}{run.name:<10}{len(seconds):>6}{percentile(seconds, 0.5) * 1000:>8.1f}"
                f"{percentile(seconds, 0.99) * 1000:>8.1f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--products", type=int, default=1_000)
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--copies", type=int, default=400)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    shards = deliveries(args.products, args.orders, args.copies, args.shards)
    total = sum(len(batch) for batch in shards)
    print(
        f"{total:,} signed Shopify deliveries through the WebhookIntake handler on moto, "
        f"in {args.shards} fresh moto worlds of about {total // args.shards}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        handler = run_mercator(shards, through_handler=True)
        service = run_mercator(shards, through_handler=False)
        baseline = run_baseline(shards)
    report(handler, service, baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
