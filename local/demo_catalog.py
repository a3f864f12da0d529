"""The demo's catalog phase: the merchant's back office (a Crystal-flavored sandbox source) pushed into
the demo's Salla store through the real ScheduledSync and CatalogPush handlers.

1. The tenant names the Crystal source its catalog source through the Integrations API
   (``catalogSource: true``); the Salla integration already has ``syncProducts`` on.
2. First push: the source is listed into the canonical catalog, then every product goes out to the
   store (looked up by SKU, then created). The store's product webhooks of those writes are posted to
   Mercator as the store would: they are Mercator's own writes coming back, and fire no trigger.
3. The merchant edits some products and unmarks some for e-commerce at the source; the next sync
   sees the edits (updated since) and the unmarked ones (the deletion sweep), and the next push sends
   exactly those: updates, and unpublishes (hidden on Salla, never deleted).
4. A push with nothing changed sends no request to the store.

After each push the store's products are compared with the source's, SKU by SKU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from mercator.cli.api_client import IntegrationsApiClient
from mercator.domain.entities import PushStats
from mercator.state.pushed_products import DynamoPushedProducts
from mercator_local import LocalStack
from mercator_sandbox import Sandbox
from mercator_sandbox.catalog_check import compare
from mercator_sandbox.flavors.crystal import Crystal

CATALOG = 120  # source products; about a tenth start unmarked for e-commerce
EDITED = 10
UNMARKED = 5


@dataclass
class PushRound:
    name: str
    stats: PushStats
    writes: int  # write requests the store answered
    requests: int  # every request the store answered
    throttled: int
    seconds: float
    differences: list[str]


class CatalogDemo:
    """The source, the store, and the work that moves products from one to the other."""

    def __init__(
        self,
        stack: LocalStack,
        api: IntegrationsApiClient,
        *,
        store: Sandbox,
        store_integration: str,
        work: Callable[[], bool],
        console: Console,
        seed: int,
    ) -> None:
        self.stack = stack
        self.store = store
        self.store_integration = store_integration
        self.work = work
        self.console = console
        self.source = Sandbox("crystal", seed=seed, sizes={"products": CATALOG}, rate_limit=None)
        origin = stack.serve_sandbox(self.source)
        credentials = {"baseUrl": self.source.base_url(origin), "apiKey": "demo-crystal-api-key"}
        configured = api.configure_integration("crystal", credentials, {"catalogSource": True})
        console.print(
            f"\nCrystal source ({CATALOG} products) configured as the catalog source: {configured['guid']}"
        )
        self.ledger = DynamoPushedProducts(stack.client("dynamodb"), stack.table_name("StateTable"))

    @property
    def crystal(self) -> Crystal:
        flavor = self.source.flavor
        assert isinstance(flavor, Crystal)
        return flavor

    def sync_source(self) -> bool:
        """List every integration's products (the source's into the canonical catalog)."""
        self.stack.runner.invoke_schedule("ScheduledSyncFunction", "products")
        return self.work()

    def push(self, name: str) -> PushRound:
        before = self._counts()
        started = time.perf_counter()
        self.stack.runner.invoke("CatalogPushFunction", {"push": "products"})
        self.stack.runner.drain("PushJobsQueue")
        seconds = time.perf_counter() - started
        after = self._counts()
        stats = self.ledger.last_stats(self.store_integration) or PushStats()
        return PushRound(
            name,
            stats,
            writes=after[0] - before[0],
            requests=after[1] - before[1],
            throttled=after[2] - before[2],
            seconds=seconds,
            differences=self.differences(),
        )

    def _counts(self) -> tuple[int, int, int]:
        counts = self.store.counters.snapshot()
        requests: dict[str, int] = counts["requests"]
        writes = sum(n for route, n in requests.items() if not route.startswith("GET "))
        return writes, sum(requests.values()), int(counts["throttled"])

    def differences(self) -> list[str]:
        """What the store shows otherwise than the source, SKU by SKU (empty: they are equal)."""
        return compare(self.store, self.source).lines()

    def change_the_source(self) -> dict[str, int]:
        marked = [i for i in sorted(self.source.store.ids("products")) if self.crystal.is_marked(i)]
        self.source.advance_clock(3_600)
        for record_id in marked[:EDITED]:
            self.source.store.touch("products", record_id)
        for record_id in marked[EDITED : EDITED + UNMARKED]:
            self.crystal.unmark(record_id)
        self.source.advance_clock(3_600)
        return {"edited": EDITED, "unmarked for e-commerce": UNMARKED}


def report_pushes(console: Console, rounds: list[PushRound], *, posted: int, echoes: int) -> bool:
    table = Table(title="Catalog push into the Salla store", title_justify="left")
    for column in (
        "push",
        "created",
        "updated",
        "unpublished",
        "unchanged",
        "refused",
        "writes",
        "requests",
        "429s",
        "s",
    ):
        table.add_column(column, justify="left" if column == "push" else "right")
    for one in rounds:
        s = one.stats
        table.add_row(
            one.name,
            *(str(n) for n in (s.created, s.updated, s.unpublished, s.unchanged, s.refused)),
            str(one.writes),
            str(one.requests),
            str(one.throttled),
            f"{one.seconds:.1f}",
        )
    console.print(table)
    ok = True
    for one in rounds:
        if one.differences:
            ok = False
            console.print(
                f"  [red]after {one.name}, the store differs from the source:[/] {one.differences[:5]}"
            )
        if one.throttled:
            ok = False
            console.print(f"  [red]{one.name}: the store answered {one.throttled} 429s[/]")
    first, changed, idle = rounds
    if (
        changed.stats.updated != EDITED
        or changed.stats.unpublished != UNMARKED
        or changed.writes != EDITED + UNMARKED
    ):
        ok = False
        console.print(
            f"  [red]the second push should have updated {EDITED} and unpublished {UNMARKED} products, "
            f"one write each; it updated {changed.stats.updated}, unpublished {changed.stats.unpublished}, "
            f"wrote {changed.writes} times[/]"
        )
    if idle.requests:
        ok = False
        console.print(f"  [red]a push with nothing changed sent {idle.requests} requests to the store[/]")
    if not posted:
        ok = False
        console.print("  [red]the store sent no product webhook of Mercator's writes[/]")
    if echoes:
        ok = False
        console.print(f"  [red]{echoes} product trigger(s) fired for Mercator's own writes[/]")
    if ok:
        console.print(
            f"  the store equals the source after every push; {first.stats.created} products created, "
            f"then only the {EDITED} edited and {UNMARKED} unmarked pushed again; nothing sent when nothing "
            f"changed; the store's {posted} webhook deliveries of Mercator's writes fired no trigger"
        )
    return ok
