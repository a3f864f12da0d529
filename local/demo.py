"""Mercator's main job, run locally: sync a Salla-flavored sandbox store through the real handlers.

1. Checks every shipped connector against the submission checklist.
2. Starts the local stack (moto's AWS server with the tables and queues of template.yaml) and a
   Salla-flavored sandbox store with a few thousand records of each resource, served over HTTP with
   its own rate limit and latency.
3. Registers an integration on it (credentials in Secrets Manager, as `mercator integrations
   register` does) and runs an initial sync of every resource: each schedule fans out a SyncJob,
   ScheduledSync pages the store, DetailEnrichment fetches order details, both write the records table
   and emit change events.
4. Changes the store (new orders, edited products and customers, new customers) and runs an
   incremental sync.
5. Prints what happened: records per content type against the store, new / changed / unchanged,
   requests, 429s, and the time against the rate-limit ideal.

Exits 1 when a count differs from the store, a message reached a dead-letter queue or a phase stalled.
Nothing keeps running afterwards: the stack and the store stop with the process's `with` blocks.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mercator.cli import main as mercator_cli
from mercator.connector import DefinitionError, load_definition, load_shipped, shipped_definitions
from mercator.connector.checklist import check
from mercator.services.families import FAMILIES as CONTENT_TYPES
from mercator.state.cursors import DynamoCursors, DynamoRunLog
from mercator.state.models import RunStats
from mercator_local import LocalStack
from mercator_sandbox import Faults, RateLimitConfig, Sandbox

TENANT = "demo-tenant"
INTEGRATION = "demo-salla"
RATE = 40.0  # the demo store's plan: requests per second, shared by every worker of the integration
SIZES = {"orders": 1_000, "products": 1_000, "customers": 1_000, "carts": 300}
FAMILIES = tuple(CONTENT_TYPES)  # products, customers, orders, carts: one schedule each
# The Salla connector's resource key of each family, where its cursor and run stats live.
RESOURCE_KEYS = {
    "products": "products",
    "customers": "customers",
    "orders": "orders",
    "carts": "abandoned_carts",
}
QUEUES = ("SyncJobsQueue", "EnrichQueue")
DEAD_LETTER_QUEUES = ("SyncJobsDLQ", "EnrichDLQ", "TriggerDLQ")

console = Console()


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    requests: int = 0
    throttled: int = 0
    changes: int = 0
    stats: dict[str, RunStats] = field(default_factory=dict)
    stalled: bool = False


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


def register(stack: LocalStack, base_url: str) -> None:
    """The integration, registered through the CLI as a developer would."""
    os.environ["STATE_TABLE"] = stack.table_name("StateTable")
    with tempfile.TemporaryDirectory() as folder:
        credentials = Path(folder) / "credentials.json"
        credentials.write_text(json.dumps({"accessToken": "demo-access-token"}), encoding="utf-8")
        arguments = ["integrations", "register", "--connector", "salla", "--tenant", TENANT]
        arguments += ["--id", INTEGRATION, "--credentials-file", str(credentials)]
        arguments += ["--setting", f"baseUrl={base_url}", "--setting", f"rateLimitPerSecond={RATE:g}"]
        status = mercator_cli(arguments)
    if status != 0:
        raise SystemExit(f"registering the integration failed (exit {status})")


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


def waiting_change_events(stack: LocalStack) -> int:
    """Change events on the Trigger queue, whose consumer (trigger dispatch) is not part of this demo."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url("TriggerQueue"), AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def run_stats(stack: LocalStack) -> dict[str, RunStats]:
    """The last finished run of each family: its cursor's stats, and for resources whose records are
    written by DetailEnrichment, the counts enrichment added to the run's log."""
    dynamodb = stack.client("dynamodb")
    table = stack.table_name("StateTable")
    cursors, run_log = DynamoCursors(dynamodb, table), DynamoRunLog(dynamodb, table)
    connector = load_shipped("salla")
    stats: dict[str, RunStats] = {}
    for family, key in RESOURCE_KEYS.items():
        cursor = cursors.get(INTEGRATION, key)
        if cursor is None or cursor.last_run_stats is None or cursor.last_run_id is None:
            stats[family] = RunStats()
        elif connector.resources[key].expandDetails:
            stats[family] = run_log.get(INTEGRATION, key, cursor.last_run_id)
        else:
            stats[family] = cursor.last_run_stats
    return stats


def sync(stack: LocalStack, sandbox: Sandbox, name: str, expected: Callable[[], dict[str, int]]) -> Phase:
    """Fire every family's schedule and work the queues until they are empty, with progress bars."""
    phase = Phase(name)
    sandbox.counters.reset()
    events_before = waiting_change_events(stack)
    started = time.perf_counter()
    for family in FAMILIES:
        stack.runner.invoke_schedule("ScheduledSyncFunction", family)
    want = expected()
    columns = (TextColumn("  {task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks = {family: progress.add_task(family, total=want[family]) for family in FAMILIES}
        requests = progress.add_task("requests", total=None)
        idle_rounds = 0
        rounds = 0
        while idle_rounds < 2:
            rounds += 1
            worked = [stack.runner.poll_once(queue) for queue in QUEUES]
            idle_rounds = idle_rounds + 1 if not any(worked) else 0
            have = records_per_type(stack)
            for family, task in tasks.items():
                progress.update(task, completed=min(have[family], want[family]))
            progress.update(requests, completed=sandbox.counters.total)
            if rounds > 20_000:
                phase.stalled = True
                break
    phase.seconds = time.perf_counter() - started
    counts = sandbox.counters.snapshot()
    phase.requests, phase.throttled = counts["total"], counts["throttled"]
    phase.changes = waiting_change_events(stack) - events_before
    phase.stats = run_stats(stack)
    return phase


def change_the_store(sandbox: Sandbox) -> dict[str, int]:
    """Edits and additions of the kinds each resource's listing can see (see the README)."""
    store = sandbox.store
    edited = {"products": 150, "customers": 100}
    for family, count in edited.items():
        for record_id in sorted(store.ids(family))[:count]:
            store.touch(family, record_id)
    added = {"orders": 120, "customers": 40, "products": 25}
    for family, count in added.items():
        for _ in range(count):
            store.insert(family)
    return {f"edited {family}": n for family, n in edited.items()} | {
        f"new {family}": n for family, n in added.items()
    }


def report(phase: Phase, store: dict[str, int], synced: dict[str, int]) -> bool:
    table = Table(title=f"{phase.name}: {phase.seconds:.1f} s", title_justify="left")
    for column in ("content type", "store", "records", "new", "changed", "unchanged", "errors"):
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
            *(f"{getattr(stats, name):,}" for name in ("new", "changed", "unchanged", "errors")),
        )
    console.print(table)
    ideal = phase.requests / RATE
    ratio = phase.seconds / ideal if ideal else 0.0
    console.print(
        f"  requests {phase.requests:,}, 429s {phase.throttled}, time {phase.seconds:.1f} s against the "
        f"rate-limit ideal of {ideal:.1f} s ({ratio:.2f} times); change events emitted: {phase.changes:,}"
    )
    if phase.stalled:
        console.print("  [red]the queues did not empty[/]")
    return ok and not phase.stalled


def main() -> int:
    console.rule("Mercator demo")
    console.print("Shipped connectors against the submission checklist:")
    ok = check_connectors()

    sandbox = Sandbox(
        "salla",
        seed=2024,
        sizes=SIZES,
        rate_limit=RateLimitConfig(rate=RATE, burst=int(RATE)),
        faults=Faults(latency_ms=20, jitter_ms=10),
    )
    console.print(
        f"\nSandbox Salla store: {', '.join(f'{n:,} {family}' for family, n in SIZES.items())}; "
        f"limit {RATE:g} requests/s, latency 20 ± 10 ms"
    )
    # The handlers' own JSON logs and metrics stay quiet; their warnings and errors still show.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    with LocalStack(parameters={"LogLevel": "WARNING"}, retry_after_seconds=0) as stack:
        origin = stack.serve_sandbox(sandbox)
        register(stack, sandbox.base_url(origin))
        console.print(f"Local stack at {stack.endpoint_url}; integration {INTEGRATION} registered\n")

        def in_store() -> dict[str, int]:
            return {family: sandbox.store.count(family) for family in FAMILIES}

        initial = sync(stack, sandbox, "Initial sync", in_store)
        ok &= report(initial, in_store(), records_per_type(stack))

        changes = change_the_store(sandbox)
        console.print("\nThe store changes: " + ", ".join(f"{what} {n}" for what, n in changes.items()))
        incremental = sync(stack, sandbox, "Incremental sync", in_store)
        ok &= report(incremental, in_store(), records_per_type(stack))

        dead = {queue: stack.runner.depth(queue) for queue in DEAD_LETTER_QUEUES}
        if any(dead.values()):
            console.print(f"  [red]dead letters: {dead}[/]")
            ok = False
    console.rule("[green]all counts match the store[/]" if ok else "[red]counts differ from the store[/]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
