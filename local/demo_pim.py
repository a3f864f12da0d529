"""The demo's PIM catalog phase: a sandbox PIM's catalog reaches a sandbox Shopify store through the real
CatalogEvents, CatalogApply and CatalogPush handlers (docs/catalog-events.md).

1. A tenant of its own (``acme-pim``, its own API key) configures, through the Integrations API, a PIM
   integration (``pim``: ``appSecret``, ``installationId``, ``catalogSource`` true) and a new, empty
   Shopify-flavored sandbox store served by the stack (``syncProducts`` true). The demo's tenant keeps
   its Crystal catalog source: one catalog source per tenant.
2. The PIM installs the app (``POST /pim/<id>/handshake``), which must answer 200.
3. Two rounds, each one synchronization PUT to ``/pim/<id>/consume/<event>`` shuffled across entities
   and with 10 % of the requests sent twice (seeded), then the CatalogEvents queue worked until empty:
   ``demo_catalog`` (the whole catalog), then ``demo_edits`` (renames, prices, an option code, a stock,
   a category). After each, Mercator's catalog state must equal the PIM's ``snapshot()``; the
   canonical core:product records must be the products sold on their own (the tee's variant products
   only as its variants, the gift set's children as its components); CatalogDLQ and CatalogEventsDLQ
   must be empty.
4. After each round CatalogPush runs: every product sold on its own must be in the store exactly once by
   SKU, with the PIM's name and price; the first push creates them all, the second rewrites exactly the
   products whose stored fields the edits changed (the store's write counters and record revisions).

``PimDemo(...).run()`` does it; ``report_pim`` prints the table and returns whether every check passed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from mercator.cli.api_client import IntegrationsApiClient
from mercator.domain.entities import PushStats
from mercator.state.api_keys import DynamoApiKeys
from mercator.state.catalog_items import DynamoCatalog
from mercator.state.pushed_products import DynamoPushedProducts
from mercator.state.record_store import DynamoRecords
from mercator_local import LocalStack
from mercator_sandbox import Sandbox
from mercator_sandbox.pim import CatalogRequest, PimConfig, SandboxPim, demo_catalog, demo_edits

TENANT = "acme-pim"
APP_SECRET = "demo-pim-app-installation-shared-secret"  # HS256 wants a key of 32 bytes or more
INSTALLATION = "demo-pim-installation"
DUPLICATE_RATE = 0.1
# Seeds the PIM's shuffle and copies: one under which both synchronizations send copies (the edits are
# seven requests, which at 10 % many seeds never send twice), so the run shows deduplication.
PIM_SEED = 2030
STORE_RATE = 40.0  # the store's requests per second: Shopify's default budget would make the push slow
EMPTY = {"orders": 0, "products": 0, "customers": 0, "carts": 0}
LANGUAGE = "en_GB"  # the language pim.yaml reads names in first
# The PIM values a Shopify store is written from (pim.yaml's mapping, Shopify's push block): names,
# description, price, stock, images, and materials as tags. Categories are not written into a Shopify
# store, so a product that was only put in a category is not pushed again.
STORE_FIELDS = ("name", "description", "price", "stock", "images", "material")
KINDS = ("attributes", "categories", "products")
CHECKS = {
    "answers": "every request accepted, every copy answered as a duplicate",
    "catalog": "Mercator's catalog state equals the PIM's",
    "canonical": "canonical products: those sold on their own, with their variants and components",
    "dead letters": "nothing in CatalogDLQ or CatalogEventsDLQ",
    "store": "in the store once by SKU, with the PIM's name and price",
    "written": "only the new or edited products written",
}


@dataclass
class PimRound:
    name: str
    requests: int = 0  # of the synchronization, each sent once or twice
    copies: int = 0  # requests sent a second time
    duplicates: int = 0  # answers {"status": "duplicate"}
    events: int = 0  # detailed events in the requests
    # Deliveries CatalogApply put back to be retried: a request whose entity needs another not applied
    # yet (a product sent before its attributes), and those behind it in its entity's FIFO group.
    retried: int = 0
    entities: dict[str, int] = field(default_factory=dict)  # Mercator's catalog state, per kind
    canonical: int = 0
    stats: PushStats = field(default_factory=PushStats)
    writes: int = 0  # write requests the store answered during the push
    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def check(self, name: str, passed: bool, problem: str) -> None:
        self.checks[name] = passed
        if not passed:
            self.problems.append(f"{self.name}: {problem}")


@dataclass
class PimOutcome:
    pim_integration: str
    handshake: int
    rounds: list[PimRound]


class PimDemo:
    """The PIM, its tenant's store, and the handlers between them."""

    def __init__(self, stack: LocalStack, api: str, *, console: Console) -> None:
        # ``api``: the stack's served API, every route of the template (WebhookApi's /pim/... included).
        self.stack = stack
        self.api = api
        self.console = console
        self.store = Sandbox("shopify", seed=PIM_SEED, sizes=EMPTY, rate_limit=None)
        dynamodb, state = stack.client("dynamodb"), stack.table_name("StateTable")
        self.catalog_state = DynamoCatalog(dynamodb, state)
        self.records = DynamoRecords(dynamodb, stack.table_name("RecordsTable"))
        self.ledger = DynamoPushedProducts(dynamodb, state)

    def run(self) -> PimOutcome:
        pim_id, store_id = self.configure()
        config = PimConfig(
            secret=APP_SECRET,
            installation_id=INSTALLATION,
            url=f"{self.api}/pim/{pim_id}",
            duplicate_rate=DUPLICATE_RATE,
            shuffle=True,
            seed=PIM_SEED,
        )
        pim = SandboxPim(config)
        handshake = asyncio.run(install(pim))
        rounds = [
            self.round("catalog", pim, demo_catalog, pim_id, store_id),
            self.round("edits", pim, demo_edits, pim_id, store_id),
        ]
        return PimOutcome(pim_id, handshake, rounds)

    def configure(self) -> tuple[str, str]:
        """The tenant's key, PIM and store, configured through the Integrations API; their ids."""
        dynamodb, state = self.stack.client("dynamodb"), self.stack.table_name("StateTable")
        key = DynamoApiKeys(dynamodb, state).create(TENANT).key
        credentials = {"appSecret": APP_SECRET, "installationId": INSTALLATION}
        with IntegrationsApiClient(self.api, key) as api:
            pim_id = str(api.configure_integration("pim", credentials, {"catalogSource": True})["guid"])
            origin = self.stack.serve_sandbox(self.store)
            settings = {
                "syncProducts": True,
                "baseUrl": self.store.base_url(origin),
                "rateLimitPerSecond": STORE_RATE,
            }
            shopify = {"accessToken": "shpat_demo_pim_store", "shopDomain": "acme-pim.myshopify.com"}
            store_id = str(api.configure_integration("shopify", shopify, settings)["guid"])
        self.console.print(
            f"\nPIM catalog: tenant {TENANT}'s PIM {pim_id} configured through the Integrations API, "
            f"catalog source of an empty Shopify store {store_id}"
        )
        return pim_id, store_id

    def round(
        self,
        name: str,
        pim: SandboxPim,
        change: Callable[[SandboxPim], dict[str, int]],
        pim_id: str,
        store_id: str,
    ) -> PimRound:
        result = PimRound(name)
        before = pim.snapshot()
        change(pim)
        requests = pim.synchronize()
        result.requests = len(requests)
        result.events = sum(len(request.events) for request in requests)
        answers = asyncio.run(self.send(pim, requests))
        result.copies = len(answers) - len(requests)
        result.duplicates = answers.count("duplicate")
        result.check(
            "answers",
            answers.count("accepted") == len(requests) and result.duplicates == result.copies,
            f"answers {dict(Counter(answers))} to {len(requests)} requests and {result.copies} copies",
        )

        applied = self.stack.runner.drain("CatalogEventsQueue")
        result.retried = applied.failed.get("CatalogEventsQueue", 0)
        # The change events CatalogApply announced go where Lambda would take them: TriggerDispatch.
        self.stack.runner.drain("TriggerQueue")
        after = pim.snapshot()
        state = self.catalog(pim_id)
        result.entities = {kind: len(state[kind]) for kind in KINDS}
        result.check(
            "catalog",
            applied.idle and state == after,
            "the catalog state differs from the PIM's" if applied.idle else "the queue did not empty",
        )
        canonical = self.canonical(pim_id)
        result.canonical = len(canonical)
        wrong = canonical_problems(canonical, after)
        result.check("canonical", not wrong, "; ".join(wrong[:3]))
        dead = {queue: self.stack.runner.depth(queue) for queue in ("CatalogDLQ", "CatalogEventsDLQ")}
        result.check("dead letters", not any(dead.values()), f"dead letters {dead}")

        revisions, writes, updates = self.revisions(), self.writes(), self.updates()
        self.stack.runner.invoke("CatalogPushFunction", {"push": "products"})
        pushed = self.stack.runner.drain("PushJobsQueue")
        result.stats = self.ledger.last_stats(store_id) or PushStats()
        result.writes = self.writes() - writes
        wrong = store_problems(self.store, after)
        result.check("store", pushed.idle and not wrong, "; ".join(wrong[:3]) or "the push did not finish")
        # Which products the push wrote: those whose store record changed revision (or appeared).
        written = {sku for sku, revision in self.revisions().items() if revisions.get(sku) != revision}
        expected = rewritten(before, after)
        # Every update of a product is one PUT of it (its stock follows in a request of its own).
        puts = self.updates() - updates
        new = not before["products"]
        counts = (result.stats.created, result.stats.updated, puts)
        result.check(
            "written",
            written == expected
            and counts == ((len(expected), 0, 0) if new else (0, len(expected), len(expected))),
            f"wrote {sorted(written)}, expected {sorted(expected)} ({result.stats}, {puts} PUTs)",
        )
        return result

    async def send(self, pim: SandboxPim, requests: Sequence[CatalogRequest]) -> list[str]:
        """Deliver the synchronization; Mercator's answers (their ``status``), in the order sent."""
        answers: list[str] = []

        async def note(response: httpx.Response) -> None:
            await response.aread()
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            status = body.get("status") if isinstance(body, dict) else None
            answers.append(status if isinstance(status, str) else f"HTTP {response.status_code}")

        async with httpx.AsyncClient(timeout=30, event_hooks={"response": [note]}) as client:
            await pim.deliver(requests, client)
        return answers

    def catalog(self, pim_id: str) -> dict[str, Any]:
        """Mercator's catalog state in the PIM's snapshot shape (deleted entities hold no entity)."""
        return self.catalog_state.snapshot(pim_id)

    def canonical(self, pim_id: str) -> dict[str, dict[str, Any]]:
        """The PIM's live core:product records, by code."""
        found: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while page := self.records.written_by(TENANT, "core:product", pim_id, after=after, limit=100):
            found.update((stored.code, stored.record) for stored in page if not stored.deleted)
            after = page[-1].code
        return found

    def revisions(self) -> dict[str, int]:
        """Each store product's revision (how often it was written), by SKU."""
        found: dict[str, int] = {}
        for product in self.store.products():
            state = self.store.store.lookup("products", product["id"])
            found[product["sku"]] = state.revision if state is not None else -1
        return found

    def writes(self) -> int:
        requests: dict[str, int] = self.store.counters.snapshot()["requests"]
        return sum(n for route, n in requests.items() if not route.startswith("GET "))

    def updates(self) -> int:
        requests: dict[str, int] = self.store.counters.snapshot()["requests"]
        return requests.get("PUT /products/{id}.json", 0)


async def install(pim: SandboxPim) -> int:
    """The PIM's handshake: the status Mercator answered."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await pim.handshake(client)


def sold_on_their_own(catalog: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The PIM's products less those that are another product's variants."""
    variants = {sku for product in catalog["products"].values() for sku in product["variants"]}
    return {sku: product for sku, product in catalog["products"].items() if sku not in variants}


def canonical_problems(canonical: dict[str, dict[str, Any]], catalog: dict[str, Any]) -> list[str]:
    """How the canonical products differ, in which products and how they are made up, from the PIM's."""
    own = sold_on_their_own(catalog)
    problems = [f"{sku} is canonical but not sold on its own" for sku in sorted(set(canonical) - set(own))]
    for sku, product in own.items():
        record = canonical.get(sku)
        if record is None:
            problems.append(f"{sku} is not canonical")
            continue
        variants = {variant["sku"] for variant in record.get("variants") or []}
        components = {part["sku"]: part["quantity"] for part in record.get("components") or []}
        if variants != set(product["variants"]) or components != product["children"]:
            problems.append(f"{sku}'s variants {sorted(variants)} or components {components} differ")
    return problems


def store_problems(store: Sandbox, catalog: dict[str, Any]) -> list[str]:
    """How the store differs from the PIM's products sold on their own: SKUs, names, prices."""
    in_store = store.products()
    times = Counter(product["sku"] for product in in_store)
    own = sold_on_their_own(catalog)
    problems = [f"{sku} is in the store {n} times" for sku, n in times.items() if n != 1]
    problems += [f"{sku} is in the store, not sold in the PIM" for sku in sorted(set(times) - set(own))]
    problems += [f"{sku} is not in the store" for sku in sorted(set(own) - set(times))]
    for product in in_store:
        pim = own.get(product["sku"])
        if pim is None:
            continue
        name, price = pim["values"]["name"][LANGUAGE], pim["values"].get("price")
        if price is None and pim["variants"]:
            # A variable product sells at its first variant's price (pim.yaml's unitPrice).
            price = catalog["products"][next(iter(pim["variants"]))]["values"]["price"]
        if product["name"] != name or product["price"] != Decimal(str(price)).quantize(Decimal("0.01")):
            problems.append(
                f"{product['sku']} shows {product['name']!r} at {product['price']}, not {name!r} at {price}"
            )
    return problems


def rewritten(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """The products sold on their own whose stored fields changed (by hand, from the PIM's two views):
    all of them when they are new; a variant's change shows on its variable product."""
    parent = {variant: sku for sku, product in after["products"].items() for variant in product["variants"]}
    changed = set()
    for sku, product in after["products"].items():
        old = before["products"].get(sku)
        if old is None or any(
            old["values"].get(name) != product["values"].get(name) for name in STORE_FIELDS
        ):
            changed.add(parent.get(sku, sku))
    return changed


def mark(good: bool) -> str:
    return "[green]✓[/]" if good else "[red]✗[/]"


def report_pim(console: Console, outcome: PimOutcome) -> bool:
    table = Table(title="PIM catalog events into a Shopify store", title_justify="left")
    table.add_column("")
    for one in outcome.rounds:
        table.add_column(one.name, justify="right")

    rounds = outcome.rounds
    rows: list[tuple[str, Sequence[object]]] = [
        ("requests sent (once each)", [one.requests for one in rounds]),
        ("copies sent, answered as duplicates", [f"{one.copies}, {one.duplicates}" for one in rounds]),
        ("detailed events", [one.events for one in rounds]),
        ("deliveries put back until their entities came", [one.retried for one in rounds]),
        *((f"{kind} in Mercator's catalog", [one.entities.get(kind, 0) for one in rounds]) for kind in KINDS),
        ("canonical products", [one.canonical for one in rounds]),
        ("pushed: created, updated", [f"{one.stats.created}, {one.stats.updated}" for one in rounds]),
        ("store writes (requests)", [one.writes for one in rounds]),
        ("PIM handshake answered 200", [mark(outcome.handshake == 200), *[""] * (len(rounds) - 1)]),
        *((label, [mark(one.checks.get(name, False)) for one in rounds]) for name, label in CHECKS.items()),
    ]
    for label, values in rows:
        table.add_row(label, *map(str, values))
    console.print(table)
    ok = outcome.handshake == 200 and all(all(one.checks.values()) for one in outcome.rounds)
    if outcome.handshake != 200:
        console.print(f"  [red]the handshake was answered {outcome.handshake}, not 200[/]")
    for one in outcome.rounds:
        for problem in one.problems:
            console.print(f"  [red]{problem}[/]")
    if ok:
        console.print(
            "  the PIM's handshake answered 200; shuffled and duplicated, each synchronization left "
            "Mercator's catalog equal to the PIM's; the store holds each product sold on its own once, "
            "the edits pushed to the edited products only"
        )
    return ok
