"""Mercator's main job, run locally: a Salla-flavored sandbox store synced and listened to through the real
handlers.

1. Checks every shipped connector against the submission checklist.
2. Starts the local stack (moto's AWS server with the tables, queues and event bus of template.yaml) and
   serves its API as API Gateway would (``POST /webhooks/{integrationId}`` → WebhookIntake). Starts a
   Salla-flavored sandbox store (1,000 orders, products and customers, 300 carts) served over HTTP with
   its own rate limit and latency, which signs a webhook delivery of each of its changes and posts it
   to that API the way stores do: 5 % are never sent, 10 % are sent twice, and each batch arrives
   shuffled (seeded: every run sends the same).
3. Creates the tenant's API key and, through the Integrations API (served by the local stack behind
   its API-key authorizer), configures the integration (the API checks the credentials with the store
   and keeps them, the webhook secret with them, in Secrets Manager) and one workflow, "Notify on new
   orders", whose webhook action posts to a receiver on loopback that verifies every Standard Webhooks
   signature; and taps the event bus with a rule and a queue, as an AWS-native consumer would.
4. Initial sync of every resource: each schedule fans out a SyncJob, ScheduledSync pages the store,
   DetailEnrichment fetches order details, both write the records table and emit change events.
   TriggerDispatch takes them too, but an integration's first import is history: it fires no
   trigger and runs no workflow.
5. Changes the store (new orders, edited products and customers, new customers and products, and
   orders changed twice a second apart) and posts the deliveries while the queues are worked:
   WebhookIntake writes the records, TriggerDispatch fires their triggers and runs the workflow.
6. Incremental sync: it recovers what the dropped deliveries never brought (missed by webhook), and
   its changes fire triggers too. A record's content does not depend on the path that brought it, so
   per content type its new + changed records are exactly the records whose latest change no
   delivery brought, less those its listing cannot see (Salla lists orders by creation date).
7. The catalog phase (demo_catalog.py): a Crystal-flavored back office named the tenant's catalog
   source through the Integrations API is listed into the canonical catalog and pushed into the
   Salla store by CatalogPush; then some products are edited and some unmarked at the source, and
   only those are pushed again (updated, unpublished); a push with nothing changed sends no request.
   The store's product webhooks of those writes are posted back and fire no trigger (echoes).
8. The shipment phase (demo_shipments.py): seed 004's example workflow "Customer Delivery
   Notification" is configured through the Integrations API; orders are shipped through POST
   /api/shipments (pushTracking) and written into the store with their tracking; the store's carrier
   reports some delivered; SES must hold one email per delivered shipment, to its buyer, and none
   more once every delivery is posted again and the shipments listed again.
9. The PIM catalog phase (demo_pim.py): a second tenant, acme-pim, configures through the
   Integrations API a sandbox PIM as its catalog source and a new, empty Shopify-flavored store; the
   PIM's handshake, then its catalog and a round of edits arrive as signed catalog events (shuffled,
   some sent twice), are applied, and are pushed into the store by CatalogPush.
10. Prints what happened: records per content type against the store, new / changed / unchanged /
    missed by webhook, requests, 429s and the time against the rate-limit ideal; the deliveries (sent,
    dropped, duplicated, Mercator's answers, duplicates and stale ones ignored, what the sync
    recovered); the triggers fired on the bus and the workflow actions the receiver verified.

Exits 1 when a count differs from the store, a message reached a dead-letter queue, a phase stalled, a
delivery got no 2xx answer, a copy of a delivery was not recognised as one, the stale deliveries are
not the ones the store sent out of order, the sync's missed-by-webhook count is not the dropped new
orders, the incremental sync's new + changed of a content type is not what the deliveries left
undelivered (and its listing can see), the first import fired a trigger, the receiver refused a
signature, a workflow execution paused, the new orders did not get one workflow action each, or the
store's products differ from the catalog source's after a push, a push sent more than the changed
products (or anything when nothing changed), Mercator's own product writes fired a trigger, a
shipment sent through the API is not in the store with its tracking, or the delivery emails are not
one per delivered shipment to its buyer, replays and re-syncs included, or, in the PIM phase, the
handshake is not answered 200, a request is not accepted or a copy not answered as a duplicate,
Mercator's catalog state or canonical products differ from the PIM's, a PIM request is dead-lettered,
the store does not hold each product sold on its own once with the PIM's name and price, or a push
writes other products than the new or edited ones.
Nothing keeps running afterwards: the stack, the servers and the store stop with the `with` blocks.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import random
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as day_time
from typing import Any, TextIO

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from demo_catalog import CatalogDemo, PushRound, report_pushes
from demo_pim import PimDemo, report_pim
from demo_shipments import ShipmentDemo, report_shipments
from demo_webhooks import (
    BusTap,
    DeliveryAnswers,
    DeliveryPath,
    DroppedDeliveries,
    ReceiverCounts,
    TwiceChanged,
    WorkflowReceiver,
    change_orders_twice,
    expected_stale,
)
from mercator.cli.api_client import IntegrationsApiClient
from mercator.connector import (
    ConnectorDefinition,
    DefinitionError,
    Resource,
    load_definition,
    load_shipped,
    shipped_definitions,
)
from mercator.connector.checklist import check
from mercator.connector.mapper import extract_customer, map_delivery
from mercator.domain.entities import Cursor, RunStats
from mercator.domain.workflows import trigger_id
from mercator.mapping.dates import zone
from mercator.services.families import FAMILIES as SCHEDULED
from mercator.state.api_keys import DynamoApiKeys
from mercator.state.cursors import DynamoCursors, DynamoRunLog
from mercator.state.integrations import DynamoIntegrations
from mercator.state.workflow_store import DynamoExecutions
from mercator_local import LocalStack, Runner
from mercator_sandbox import Delivery, DeliveryResult, Faults, RateLimitConfig, Sandbox, WebhookConfig
from mercator_sandbox.serve import serving_app

TENANT = "demo-tenant"
SEED = 2024
RATE = 40.0  # the demo store's plan: requests per second, shared by every worker of the integration
SIZES = {"orders": 1_000, "products": 1_000, "customers": 1_000, "carts": 300}
# products, customers, orders, carts: one schedule each, compared with the store's own counts (the
# shipments family has its schedule too, and the shipment phase its own checks)
CONTENT_TYPES = {family: content_type for family, content_type in SCHEDULED.items() if family != "shipments"}
FAMILIES = tuple(CONTENT_TYPES)
# The Salla connector's resource key of each family, where its cursor and run stats live.
RESOURCE_KEYS = {
    "products": "products",
    "customers": "customers",
    "orders": "orders",
    "carts": "abandoned_carts",
}
DEAD_LETTER_QUEUES = ("SyncJobsDLQ", "EnrichDLQ", "TriggerDLQ", "PushDLQ")
# The Salla app's webhook secret: the store signs its deliveries with it, Mercator verifies with it.
WEBHOOK_SECRET = "demo-salla-webhook-secret"
SIGNING_KEY_SECRET = f"mercator/{TENANT}/webhook-keys/workflow-signing-key"
NEW_ORDERS = 120
TWICE_CHANGED_ORDERS = 40
# Salla's order deliveries carry the change's time in whole seconds, so the two changes of an order
# must be over a second apart to be told apart (and one of them found stale).
SECOND_CHANGE_AFTER = 1.1
REFRESH_SECONDS = 0.5  # how often the progress bars count records (COUNT queries over the table)
MAX_ROUNDS = 20_000  # rounds of queue work before a phase counts as stalled

console = Console(emoji=False)  # secret ARNs hold ":secret:", an emoji code to rich


class WithoutMetricDocuments(io.TextIOBase):
    """Text output less the functions' CloudWatch metric documents (EMF), whole lines at a time.

    The demo turns the functions' metrics off, but Powertools keeps a disabled Metrics' values and
    still prints them once a metric holds 100; those lines would bury the progress bars.
    """

    def __init__(self, shown: TextIO) -> None:
        self._shown = shown
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            if not line.startswith('{"_aws":'):
                self._shown.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self._shown.flush()


@contextmanager
def without_metric_documents() -> Iterator[None]:
    """Standard output filtered for the block (inside a progress display, which redirects it too)."""
    shown = sys.stdout
    sys.stdout = WithoutMetricDocuments(shown)
    try:
        yield
    finally:
        sys.stdout = shown


@dataclass
class Observers:
    """Where the demo sees what Mercator sent out: the event bus tap and the workflow's receiver."""

    tap: BusTap
    receiver: WorkflowReceiver


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    requests: int = 0
    throttled: int = 0
    dispatched: int = 0  # change events TriggerDispatch handled
    stats: dict[str, RunStats] = field(default_factory=dict)
    stalled: bool = False
    triggers: Counter[str] = field(default_factory=Counter)  # fired triggers seen on the bus, by event
    actions: ReceiverCounts = field(default_factory=ReceiverCounts)


@dataclass
class QueueWork:
    """Lambda's pollers, one round at a time: a batch each from SyncJobs and Enrich, then every change
    event waiting on the Trigger queue; the triggers fired on the bus are taken off the tap after them.

    TriggerDispatch scales out on AWS, so change events do not wait behind the sync there. Taking them
    at once also keeps the local server's queues short: its SQS calls cost more the more a queue holds.
    """

    runner: Runner
    tap: BusTap
    dispatched: int = 0  # change events TriggerDispatch handled
    fired: Counter[str] = field(default_factory=Counter)  # triggers seen on the bus, by event

    def round(self) -> bool:
        """One round; False when no queue had anything to do."""
        worked = False
        for queue in ("SyncJobsQueue", "EnrichQueue"):
            worked |= self.runner.poll_once(queue) is not None
        dispatched = self.dispatched
        while (outcome := self.runner.poll_once("TriggerQueue")) is not None:
            self.dispatched += outcome.succeeded
            worked = True
        if self.dispatched > dispatched:
            self.fired += self.tap.take()
        return worked

    def until_idle(self, after_round: Callable[[], None] = lambda: None) -> bool:
        """Rounds until two in a row find nothing to do; False when the queues never emptied."""
        idle_rounds = 0
        for _ in range(MAX_ROUNDS):
            idle_rounds = 0 if self.round() else idle_rounds + 1
            after_round()
            if idle_rounds == 2:
                return True
        return False


@dataclass
class WebhookPhase(Phase):
    queued: int = 0  # deliveries the store's changes made
    deliveries: list[Delivery] = field(default_factory=list)  # those deliveries, in the order of the changes
    sent: int = 0
    duplicated: int = 0
    dropped: list[Delivery] = field(default_factory=list)
    results: list[DeliveryResult] = field(default_factory=list)
    answers: DeliveryAnswers = field(default_factory=DeliveryAnswers)
    outcomes: dict[bytes, list[str]] = field(default_factory=dict)  # Mercator's answers, by delivery body
    expected_stale: int = 0  # older changes the store sent after the newer one


class OutcomePath(DeliveryPath):
    """The store's way to Mercator that also keeps the intake's answer to each delivery, by its body."""

    def __init__(self, between: Callable[[], None]) -> None:
        super().__init__(between)
        self.by_body: defaultdict[bytes, list[str]] = defaultdict(list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await super().handle_async_request(request)
        try:
            body: Any = answer.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        status = body.get("status") if isinstance(body, dict) else None
        self.by_body[request.content].append(
            status if isinstance(status, str) else f"HTTP {answer.status_code}"
        )
        return answer


def check_connectors() -> bool:
    files = shipped_definitions()
    ok = True
    for file in files:
        try:
            definition = load_definition(file)
        except DefinitionError as exc:
            console.print(f"  [red]✗[/] {exc.render()}")
            ok = False
            continue
        findings = check(definition)
        mark = "[green]✓[/]" if not findings else "[red]✗[/]"
        console.print(
            f"  {mark} {definition.displayName:<12} {len(definition.resources)} resources, "
            f"{len(definition.handlers)} webhook handlers"
            + ("" if not findings else f", {len(findings)} checklist problem(s)")
        )
        ok &= not findings
    return ok


def register(api: IntegrationsApiClient, base_url: str) -> str:
    """The integration, configured through the Integrations API as a tenant would: the API checks the
    credentials with the store, keeps them (the webhook secret with them) in Secrets Manager and
    assigns the integration's id."""
    credentials = {"accessToken": "demo-access-token", "webhookSecret": WEBHOOK_SECRET}
    settings = {
        "autoImportOrders": True,
        "syncProducts": True,
        "pushTracking": True,
        "baseUrl": base_url,
        "rateLimitPerSecond": RATE,
    }
    integration = api.configure_integration("salla", credentials, settings)
    console.print(f"Integration {integration['guid']} configured through the Integrations API")
    return str(integration["guid"])


def signing_key() -> str:
    """A Standard Webhooks secret (``whsec_`` and 32 random bytes in base64), the same every run."""
    key = random.Random(f"{SEED}:workflow").randbytes(32)
    return "whsec_" + base64.b64encode(key).decode("ascii")


def add_workflow(stack: LocalStack, api: IntegrationsApiClient, receiver_url: str, key: str) -> None:
    """The tenant's workflow, configured through the Integrations API; its signing key as a secret."""
    # Stored as the bare key: the webhook action reads the secret's whole text as the key, where
    # stack.create_secret would store a JSON object of values.
    stack.client("secretsmanager").create_secret(Name=SIGNING_KEY_SECRET, SecretString=key)
    api.configure_workflow(
        {
            "name": "Notify on new orders",
            "entityType": "Order",
            "triggerId": trigger_id("salla", "order.created"),
            "action": {"type": "webhook", "url": receiver_url, "secretName": SIGNING_KEY_SECRET},
            "conditions": {},
        }
    )


def records_per_type(stack: LocalStack) -> dict[str, int]:
    dynamodb = stack.client("dynamodb")
    table = stack.table_name("RecordsTable")
    counts: dict[str, int] = {}
    for family, content_type in CONTENT_TYPES.items():
        query: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"TENANT#{TENANT}#TYPE#{content_type}"}},
            "Select": "COUNT",
        }
        total = 0
        while True:
            page = dynamodb.query(**query)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        counts[family] = total
    return counts


def run_stats(stack: LocalStack) -> dict[str, RunStats]:
    """The last finished run of each family: its cursor's stats, and for resources whose records are
    written by DetailEnrichment, the counts enrichment added to the run's log."""
    dynamodb = stack.client("dynamodb")
    table = stack.table_name("StateTable")
    cursors, run_log = DynamoCursors(dynamodb, table), DynamoRunLog(dynamodb, table)
    # The tenant's one integration, whose id the Integrations API assigned.
    [integration] = DynamoIntegrations(dynamodb, table).for_tenant(TENANT)
    integration_id = integration.id
    connector = load_shipped("salla")
    stats: dict[str, RunStats] = {}
    for family, key in RESOURCE_KEYS.items():
        cursor = cursors.get(integration_id, key)
        if cursor is None or cursor.last_run_stats is None or cursor.last_run_id is None:
            stats[family] = RunStats()
        elif connector.resources[key].expandDetails:
            stats[family] = run_log.get(integration_id, key, cursor.last_run_id)
        else:
            stats[family] = cursor.last_run_stats
    return stats


def progress_bars() -> Progress:
    columns = (TextColumn("  {task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console, transient=False)


def sync(
    stack: LocalStack,
    sandbox: Sandbox,
    observers: Observers,
    name: str,
    expected: Callable[[], dict[str, int]],
) -> Phase:
    """Fire every family's schedule and work the queues until they are empty, with progress bars."""
    phase = Phase(name)
    sandbox.counters.reset()
    actions_before = observers.receiver.counts()
    work = QueueWork(stack.runner, observers.tap)
    started = time.perf_counter()
    for family in FAMILIES:
        stack.runner.invoke_schedule("ScheduledSyncFunction", family)
    want = expected()
    with progress_bars() as progress, without_metric_documents():
        tasks = {family: progress.add_task(family, total=want[family]) for family in FAMILIES}
        changes = progress.add_task("changes", total=None)
        requests = progress.add_task("requests", total=None)
        refreshed = 0.0

        def refresh(*, now: bool = False) -> None:
            nonlocal refreshed
            if not now and time.perf_counter() - refreshed < REFRESH_SECONDS:
                return
            have = records_per_type(stack)
            for family, task in tasks.items():
                progress.update(task, completed=min(have[family], want[family]))
            progress.update(changes, completed=work.dispatched)
            progress.update(requests, completed=sandbox.counters.total)
            refreshed = time.perf_counter()

        phase.stalled = not work.until_idle(refresh)
        refresh(now=True)
    phase.seconds = time.perf_counter() - started
    counts = sandbox.counters.snapshot()
    phase.requests, phase.throttled = counts["total"], counts["throttled"]
    phase.dispatched = work.dispatched
    phase.stats = run_stats(stack)
    phase.triggers = work.fired + observers.tap.take()
    phase.actions = observers.receiver.counts().since(actions_before)
    return phase


def change_the_store(sandbox: Sandbox) -> dict[str, int]:
    """Edits and additions of the kinds each resource's listing can see (see the README)."""
    store = sandbox.store
    edited = {"products": 150, "customers": 100}
    for family, count in edited.items():
        for record_id in sorted(store.ids(family))[:count]:
            store.touch(family, record_id)
    added = {"orders": NEW_ORDERS, "customers": 40, "products": 25}
    for family, count in added.items():
        for _ in range(count):
            store.insert(family)
    return {f"edited {family}": n for family, n in edited.items()} | {
        f"new {family}": n for family, n in added.items()
    }


def deliver(
    stack: LocalStack,
    sandbox: Sandbox,
    observers: Observers,
    *,
    client: httpx.AsyncClient,
    path: OutcomePath,
    pairs: Sequence[TwiceChanged],
) -> WebhookPhase:
    """Post the store's queued deliveries, the queues worked between them, then drain every queue."""
    emitter = sandbox.emitter
    if emitter is None:
        raise RuntimeError("the sandbox sends no webhooks")
    phase = WebhookPhase("Webhooks")
    sandbox.counters.reset()
    actions_before = observers.receiver.counts()
    work = QueueWork(stack.runner, observers.tap)
    queued = list(emitter.pending)
    phase.queued = len(queued)
    phase.deliveries = queued
    started = time.perf_counter()
    with progress_bars() as progress, without_metric_documents():
        task = progress.add_task("deliveries", total=None)

        def between() -> None:
            work.round()
            progress.update(task, completed=path.posted)

        path.between = between
        phase.results = asyncio.run(_post_all(sandbox, client))
        progress.update(task, completed=path.posted)
        phase.stalled = not work.until_idle()
    phase.seconds = time.perf_counter() - started
    phase.dispatched = work.dispatched
    webhooks = sandbox.counters.snapshot()["webhooks"]
    phase.sent, phase.duplicated = webhooks["sent"], webhooks["duplicated"]
    sent = {id(result.delivery) for result in phase.results}
    phase.dropped = [delivery for delivery in queued if id(delivery) not in sent]
    phase.answers = path.answers
    phase.outcomes = dict(path.by_body)
    phase.expected_stale = expected_stale(phase.results, pairs)
    phase.triggers = work.fired + observers.tap.take()
    phase.actions = observers.receiver.counts().since(actions_before)
    return phase


async def _post_all(sandbox: Sandbox, client: httpx.AsyncClient) -> list[DeliveryResult]:
    emitter = sandbox.emitter
    assert emitter is not None
    try:
        return await emitter.flush()
    finally:
        # The store's client serves this one event loop: the store sends nothing after this.
        await client.aclose()


def report(phase: Phase, store: dict[str, int], synced: dict[str, int]) -> bool:
    table = Table(title=f"{phase.name}: {phase.seconds:.1f} s", title_justify="left")
    columns = (
        "content type",
        "store",
        "records",
        "new",
        "changed",
        "unchanged",
        "missed by webhook",
        "errors",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "content type" else "right")
    ok = True
    for family, content_type in CONTENT_TYPES.items():
        stats = phase.stats.get(family, RunStats())
        same = store[family] == synced[family]
        ok &= same
        table.add_row(
            content_type,
            f"{store[family]:,}",
            f"[{'green' if same else 'red'}]{synced[family]:,}[/]",
            *(
                f"{getattr(stats, name):,}"
                for name in ("new", "changed", "unchanged", "missed_by_webhook", "errors")
            ),
        )
    console.print(table)
    ideal = phase.requests / RATE
    ratio = phase.seconds / ideal if ideal else 0.0
    console.print(
        f"  requests {phase.requests:,}, 429s {phase.throttled}, time {phase.seconds:.1f} s against the "
        f"rate-limit ideal of {ideal:.1f} s ({ratio:.2f} times); change events dispatched: "
        f"{phase.dispatched:,}, triggers fired: {sum(phase.triggers.values()):,}, workflow actions: "
        f"{phase.actions.verified:,}"
    )
    if phase.stalled:
        console.print("  [red]the queues did not empty[/]")
    return ok and not phase.stalled


def mark(good: bool) -> str:
    return "[green]✓[/]" if good else "[red]✗[/]"


def report_webhooks(webhooks: WebhookPhase, incremental: Phase, pairs: Sequence[TwiceChanged]) -> bool:
    """The deliveries, what Mercator answered, and what the incremental sync recovered of the dropped."""
    answers = webhooks.answers
    outcomes = Counter(answers.outcomes)
    accepted, duplicates, stale = (outcomes.pop(name, 0) for name in ("accepted", "duplicate", "stale"))
    not_2xx = sum(n for status, n in answers.statuses.items() if not 200 <= status < 300)
    unreachable = sum(1 for result in webhooks.results if result.status is None)
    recovered = sum(stats.missed_by_webhook for stats in incremental.stats.values())
    dropped = DroppedDeliveries.sort(webhooks.dropped, webhooks.results, pairs)
    checks = {
        "answers": not_2xx == 0 and unreachable == 0,
        "duplicates": duplicates == webhooks.duplicated,
        "stale": stale == webhooks.expected_stale,
        "recovered": recovered == dropped.new_orders,
    }
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(answers.statuses.items()))
    table = Table(title=f"Webhooks: {webhooks.seconds:.1f} s", title_justify="left")
    table.add_column("deliveries")
    table.add_column("count", justify="right")
    table.add_column("", justify="left")
    rows: list[tuple[str, int, str]] = [
        ("made by the store's changes", webhooks.queued, ""),
        ("dropped by the store (never sent)", len(webhooks.dropped), ""),
        ("duplicated by the store (sent twice)", webhooks.duplicated, ""),
        ("sent by the store", webhooks.sent, ""),
        (
            "received by Mercator (HTTP answers)",
            answers.received,
            f"{mark(checks['answers'])} HTTP {statuses}"
            + (f", {unreachable} not answered" if unreachable else ""),
        ),
        ("  accepted", accepted, ""),
        ("  duplicates ignored", duplicates, f"{mark(checks['duplicates'])} one per copy sent"),
        (
            "  stale ignored",
            stale,
            f"{mark(checks['stale'])} {webhooks.expected_stale} orders' older change arrived after the newer",
        ),
        *((f"  {outcome}", n, "") for outcome, n in sorted(outcomes.items())),
        (
            "missed by webhook, recovered by the sync",
            recovered,
            f"{mark(checks['recovered'])} {dropped.new_orders} new orders' order.created dropped",
        ),
        ("  dropped, rewritten by whole listings", dropped.listed_whole, "products and customers"),
        ("  dropped, a later delivery brought it", dropped.brought_later, "an order's older change"),
        ("  dropped, left for the next webhook", dropped.old_orders, "an old order's newer change"),
    ]
    for label, count, note in rows:
        table.add_row(label, f"{count:,}", note)
    console.print(table)
    # Why "missed by webhook" counts fewer changes than were dropped:
    # - Only orders are listed incrementally (Salla's order list filters by creation date), and an
    #   incremental run is what reconciles with webhooks: it skips what a webhook already delivered
    #   and counts what it writes as missed. It finds the new orders whose order.created was dropped.
    # - Products and customers are listed whole on every run (their lists have no date filter), so
    #   the sync rewrites their dropped changes as new / changed records without counting them missed.
    # - When the older of an order's two changes was dropped, the newer one brought the order anyway.
    # - When the newer change of an old order was dropped, no sync sees it: the order is older than
    #   the incremental window and Salla's order list has no updated-at. Its next webhook brings it.
    return all(checks.values()) and not webhooks.stalled


# Intake outcomes after which Mercator holds the delivered version (or a newer one) of the record.
BROUGHT = frozenset({"accepted", "duplicate", "stale", "queued"})


@dataclass
class Undelivered:
    """Per family, the records whose latest change no delivery brought: those the incremental listing
    can see (the sync must write exactly these) and those it cannot."""

    listable: dict[str, set[str]] = field(default_factory=lambda: {family: set() for family in FAMILIES})
    unlistable: dict[str, set[str]] = field(default_factory=lambda: {family: set() for family in FAMILIES})


def listing_windows(stack: LocalStack) -> dict[str, datetime | None]:
    """Where each family's next listing starts, as the store reads its filter (None: listed whole).

    Read before the incremental sync, from the cursors the earlier runs left.
    """
    dynamodb = stack.client("dynamodb")
    table = stack.table_name("StateTable")
    [integration] = DynamoIntegrations(dynamodb, table).for_tenant(TENANT)
    cursors = DynamoCursors(dynamodb, table)
    connector = load_shipped("salla")
    return {
        family: listing_start(connector.resources[key], cursors.get(integration.id, key))
        for family, key in RESOURCE_KEYS.items()
    }


def listing_start(resource: Resource, cursor: Cursor | None) -> datetime | None:
    incremental = resource.incremental
    if incremental is None or cursor is None or cursor.high_water_mark is None:
        return None
    start = incremental.window_start(cursor.high_water_mark)
    if incremental.format == "date":
        # A date filter takes the whole day, from its first moment in the zone the cursor is written in.
        local = start.astimezone(zone(incremental.timezone))
        return datetime.combine(local.date(), day_time.min, local.tzinfo)
    return start


Key = tuple[str, str]  # content type, code


def undelivered(webhooks: WebhookPhase, sandbox: Sandbox, windows: dict[str, datetime | None]) -> Undelivered:
    """The records whose latest change never reached Mercator, by whether the next listing sees them.

    A record's changes are the deliveries of its own events; its latest change reached Mercator when
    that delivery was taken, or when a later taken delivery carried the record too: an order's
    delivery carries its buyer as the buyer is then (the connector's customer extraction). The
    deliveries are read with the connector, as the intake reads them.
    """
    connector = load_shipped("salla")
    family_of = {content_type: family for family, content_type in CONTENT_TYPES.items()}
    changed: dict[Key, bool] = {}  # False when the latest change is a deletion
    brought: set[Key] = set()
    for delivery in webhooks.deliveries:  # in the order of the store's changes
        records, buyers = carried(connector, delivery)
        for key, whole in records:
            changed[key] = whole
            brought.discard(key)
        if any(outcome in BROUGHT for outcome in webhooks.outcomes.get(delivery.body, [])):
            brought.update(key for key, _ in records)
            brought.update(key for key in buyers if key in changed)
    result = Undelivered()
    for key, whole in changed.items():
        content_type, code = key
        family = family_of.get(content_type)
        # A dropped deletion comes back as a deletion, never as a new or changed record.
        if family is None or not whole or key in brought:
            continue
        seen = listable(connector, sandbox, family, int(code), windows[family])
        (result.listable if seen else result.unlistable)[family].add(code)
    return result


def carried(connector: ConnectorDefinition, delivery: Delivery) -> tuple[list[tuple[Key, bool]], list[Key]]:
    """The records a delivery changes (each with whether it is not a deletion), and the buyers it
    carries (partly, as they are then) without changing them."""
    handler = connector.handlers.get(delivery.event)
    if handler is None:
        return [], []
    body = json.loads(delivery.body)
    records = [
        ((handler.contentType, str(record["code"])), handler.operation != "delete")
        for record in map_delivery(connector, delivery.event, body).records
    ]
    buyer = extract_customer(connector, delivery.event, body)
    buyers = [("core:customer", str(record["code"])) for record in buyer.records] if buyer else []
    return records, buyers


def listable(
    connector: ConnectorDefinition, sandbox: Sandbox, family: str, record_id: int, start: datetime | None
) -> bool:
    """Whether the family's next listing shows the record: always for a listing of the whole resource;
    for an incremental one, when the record's own time (``recordUpdatedAt``, the field its filter reads:
    the creation date of a Salla order) is inside the window."""
    state = sandbox.store.lookup(family, record_id)
    if state is None:
        return False
    incremental = connector.resources[RESOURCE_KEYS[family]].incremental
    if start is None or incremental is None:
        return True
    moment = incremental.updated_at(sandbox.flavor.render(family, state, "list", sandbox.base_url()))
    return moment is not None and moment >= start


def report_convergence(missing: Undelivered, incremental: Phase) -> bool:
    """Per content type, the incremental sync's new + changed against what the deliveries left out."""
    table = Table(title="Incremental sync against the changes no delivery brought", title_justify="left")
    for column in ("content type", "not delivered", "new + changed", "", "not listable"):
        table.add_column(column, justify="left" if column in ("content type", "") else "right")
    ok = True
    for family, content_type in CONTENT_TYPES.items():
        stats = incremental.stats.get(family, RunStats())
        wrote, expected = stats.new + stats.changed, len(missing.listable[family])
        ok &= wrote == expected
        table.add_row(
            content_type,
            f"{expected:,}",
            f"{wrote:,}",
            "[green]ok[/]" if wrote == expected else "[red]differs[/]",
            f"{len(missing.unlistable[family]):,}",
        )
    console.print(table)
    console.print(
        "  not delivered: records whose latest change no delivery brought (dropped, or not taken) and "
        "that the incremental listing can see; each comes back as new or changed, and nothing else may, "
        "since a record is the same whichever path brought it. Not listable: changes no listing can "
        "show, such as an old order's (Salla lists orders by creation date); its next webhook brings it."
    )
    return ok


def report_actions(phases: Sequence[Phase], stack: LocalStack, new_orders: int) -> bool:
    """Triggers seen on the bus and workflow actions the receiver verified, per phase."""
    table = Table(title="Triggers and the workflow 'Notify on new orders'", title_justify="left")
    for column in (
        "phase",
        "change events",
        "triggers fired (bus)",
        "order.created",
        "actions verified",
        "distinct webhook-ids",
        "refused",
    ):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase in phases:
        table.add_row(
            phase.name,
            f"{phase.dispatched:,}",
            f"{sum(phase.triggers.values()):,}",
            f"{phase.triggers['order.created']:,}",
            f"{phase.actions.verified:,}",
            f"{phase.actions.distinct_ids:,}",
            f"{phase.actions.refused:,}",
        )
    console.print(table)
    paused = DynamoExecutions(stack.client("dynamodb"), stack.table_name("StateTable")).paused(TENANT)
    refused = sum(phase.actions.refused for phase in phases)
    import_fired = sum(phases[0].triggers.values()) + phases[0].actions.verified
    after_import = sum(phase.actions.distinct_ids for phase in phases[1:])
    checks = (import_fired == 0, after_import == new_orders, refused == 0, not paused)
    console.print(
        f"  {mark(checks[0])} the first import is history: {import_fired} triggers or actions; "
        f"{mark(checks[1])} {after_import} workflow actions for {new_orders} new orders; "
        f"{mark(checks[2])} signatures refused: {refused}; {mark(checks[3])} executions paused: {len(paused)}"
        + "".join(f"\n    {execution.reason}" for execution in paused[:3])
    )
    return all(checks)


def catalog_phase(
    stack: LocalStack,
    api: IntegrationsApiClient,
    *,
    sandbox: Sandbox,
    integration_id: str,
    observers: Observers,
    path: OutcomePath,
) -> bool:
    """The merchant's back office pushed into the store (see demo_catalog.py); the store's webhooks of
    Mercator's own writes posted back, firing no trigger."""
    work = QueueWork(stack.runner, observers.tap)
    path.between = lambda: None
    catalog = CatalogDemo(
        stack,
        api,
        store=sandbox,
        store_integration=integration_id,
        work=work.until_idle,
        console=console,
        seed=SEED,
    )
    echoes: Counter[str] = Counter()

    emitter = sandbox.emitter
    assert emitter is not None

    posted = 0

    def push(name: str) -> PushRound:
        nonlocal posted
        done = catalog.push(name)
        posted += len(emitter.pending)
        # The store's product webhooks of those writes, posted on a client of this event loop.
        posting = httpx.AsyncClient(transport=path)
        emitter.use_client(posting)
        asyncio.run(_post_all(sandbox, posting))
        work.until_idle()
        return done

    rounds: list[PushRound] = []
    with without_metric_documents():
        catalog.sync_source()
        rounds.append(push("first"))
        changes = catalog.change_the_source()
        console.print("The source changes: " + ", ".join(f"{what} {n}" for what, n in changes.items()))
        catalog.sync_source()
        rounds.append(push("after changes"))
        rounds.append(push("nothing changed"))
    echoes = work.fired + observers.tap.take()
    product_triggers = sum(n for event, n in echoes.items() if event.startswith("product."))
    return report_pushes(console, rounds, posted=posted, echoes=product_triggers)


def shipment_phase(
    stack: LocalStack,
    api: IntegrationsApiClient,
    *,
    sandbox: Sandbox,
    integration_id: str,
    observers: Observers,
    path: OutcomePath,
) -> bool:
    """Seed 004's example workflow on the store's shipments (see demo_shipments.py)."""
    console.print("\nShipments: seed 004's 'Customer Delivery Notification' workflow, pushTracking on")
    work = QueueWork(stack.runner, observers.tap)
    path.between = lambda: None
    emitter = sandbox.emitter
    assert emitter is not None
    emitter.config = emitter.config.model_copy(update={"drop_rate": 0.0})
    demo = ShipmentDemo(
        stack,
        api,
        store=sandbox,
        store_integration=integration_id,
        tenant=TENANT,
        work=work.until_idle,
        client=lambda: httpx.AsyncClient(transport=path),
    )
    with without_metric_documents():
        counts = demo.run()
    observers.tap.take()
    return report_shipments(console, counts)


def main() -> int:
    console.rule("Mercator demo")
    console.print("Shipped connectors against the submission checklist:")
    ok = check_connectors()

    # The handlers' own JSON logs and metrics stay quiet; their warnings and errors still show.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with ExitStack() as running:
        stack = running.enter_context(LocalStack(parameters={"LogLevel": "WARNING"}, retry_after_seconds=0))
        api = stack.serve_api()
        path = OutcomePath(between=lambda: None)
        client = httpx.AsyncClient(transport=path)
        sandbox = Sandbox(
            "salla",
            seed=SEED,
            sizes=SIZES,
            rate_limit=RateLimitConfig(rate=RATE, burst=int(RATE)),
            faults=Faults(latency_ms=20, jitter_ms=10),
            webhooks=WebhookConfig(
                # Until the integration exists and has its id: set below, before any delivery.
                url=f"{api}/webhooks/not-yet-configured",
                secret=WEBHOOK_SECRET,
                duplicate_rate=0.1,
                drop_rate=0.05,
                reorder=True,
                # The demo posts the deliveries itself, all at once, rather than every half second.
                flush_interval=3_600,
            ),
            webhook_client=client,
        )
        console.print(
            f"\nSandbox Salla store: {', '.join(f'{n:,} {family}' for family, n in SIZES.items())}; "
            f"limit {RATE:g} requests/s, latency 20 ± 10 ms; webhooks to {api}/webhooks/<integration> "
            "(5 % dropped, 10 % sent twice, shuffled)"
        )
        origin = stack.serve_sandbox(sandbox)
        key = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable")).create(TENANT).key
        integrations_api = running.enter_context(IntegrationsApiClient(api, key))
        integration_id = register(integrations_api, sandbox.base_url(origin))
        emitter = sandbox.emitter
        assert emitter is not None
        emitter.config = emitter.config.model_copy(update={"url": f"{api}/webhooks/{integration_id}"})
        receiver = WorkflowReceiver(signing_key())
        receiver_url = running.enter_context(serving_app(receiver.app, lifespan="off")) + receiver.path
        add_workflow(stack, integrations_api, receiver_url, signing_key())
        bus = stack.environment("TriggerDispatchFunction")["EVENT_BUS_NAME"]
        tap = BusTap(stack.client("events"), stack.client("sqs"), bus=bus, name="demo-trigger-tap")
        observers = Observers(tap, receiver)
        console.print(
            f"Local stack at {stack.endpoint_url}; workflow 'Notify on new orders' posts to {receiver_url}; "
            f"event bus {bus} tapped\n"
        )

        def in_store() -> dict[str, int]:
            return {family: sandbox.store.count(family) for family in FAMILIES}

        initial = sync(stack, sandbox, observers, "Initial sync", in_store)
        ok &= report(initial, in_store(), records_per_type(stack))

        pairs = change_orders_twice(sandbox, TWICE_CHANGED_ORDERS, apart=SECOND_CHANGE_AFTER)
        changes = change_the_store(sandbox) | {"orders changed twice": TWICE_CHANGED_ORDERS}
        console.print("\nThe store changes: " + ", ".join(f"{what} {n}" for what, n in changes.items()))
        webhooks = deliver(stack, sandbox, observers, client=client, path=path, pairs=pairs)
        missing = undelivered(webhooks, sandbox, listing_windows(stack))
        incremental = sync(stack, sandbox, observers, "Incremental sync", in_store)
        ok &= report(incremental, in_store(), records_per_type(stack))
        ok &= report_webhooks(webhooks, incremental, pairs)
        ok &= report_convergence(missing, incremental)
        ok &= report_actions([initial, webhooks, incremental], stack, NEW_ORDERS)
        ok &= catalog_phase(
            stack,
            integrations_api,
            sandbox=sandbox,
            integration_id=integration_id,
            observers=observers,
            path=path,
        )
        ok &= shipment_phase(
            stack,
            integrations_api,
            sandbox=sandbox,
            integration_id=integration_id,
            observers=observers,
            path=path,
        )
        # Its own tenant and store: the demo tenant's catalog source and store stay as checked above.
        with without_metric_documents():
            pim = PimDemo(stack, api, console=console).run()
        ok &= report_pim(console, pim)

        dead = {queue: stack.runner.depth(queue) for queue in DEAD_LETTER_QUEUES}
        if any(dead.values()):
            console.print(f"  [red]dead letters: {dead}[/]")
            ok = False
    console.rule("[green]every check passed[/]" if ok else "[red]some checks failed (marked above)[/]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
