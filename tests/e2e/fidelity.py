"""The fault matrix: every flavor's store synced through the local stack under one fault, then compared
with the store record by record (ids, content, deleted flags).

A cell runs the same story on a fresh stack: an initial sync of every family, then the merchant edits,
adds and deletes records between syncs, then a second sync, then a clean third one. The fault is on
during the first two syncs. The records table is compared with the store after the faulted sync and
after the clean one; a cell is exact when both show no difference in what the platform lets
Mercator see (``VISIBLE``: Salla lists orders by creation date, so an edit of an older order reaches
Mercator by webhook only, and the matrix runs no webhooks).

``tests/e2e/test_fidelity_matrix.py`` asserts every cell; ``benchmarks/fidelity_matrix.py`` prints the
whole matrix.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mercator_local import LocalStack
from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName
from mercator_sandbox.faults import Faults
from tests.e2e.support import (
    CONTENT_TYPES,
    FAMILIES,
    SteppingClock,
    Storefront,
    open_storefront,
    still_store_time,
)

SIZES = {"orders": 9, "products": 8, "customers": 7, "carts": 5}
# Three to a page where the platform lets a client choose, so every listing takes several pages.
PAGE_CAP: dict[FlavorName, int | None] = {"salla": 3, "shopify": 3, "woocommerce": None}
FLAVOR_FAMILIES: dict[FlavorName, tuple[str, ...]] = {
    "salla": FAMILIES,
    "shopify": FAMILIES,
    "woocommerce": ("orders", "products", "customers"),
}


@dataclass(frozen=True)
class Visibility:
    """What a platform lets Mercator see of one family without webhooks."""

    edits: bool = True
    deletions: bool = True
    # Records created with a creation date in the past (the sandbox's inserts at a page boundary, an
    # import into the store) are seen by listings that are not windowed by creation date.
    backdated_inserts: bool = True


ALL = Visibility()
VISIBLE: dict[tuple[FlavorName, str], Visibility] = {
    # Salla's order listing filters by creation date: edits of older orders arrive by webhook only, and
    # so would an order created with a date before the window (Salla stamps new orders with the present).
    ("salla", "orders"): Visibility(edits=False, backdated_inserts=False),
}


def visible(flavor: FlavorName, family: str) -> Visibility:
    return VISIBLE.get((flavor, family), ALL)


# --- faults ------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """What goes wrong; ``on`` turns it on for a sync (``number`` 1 or 2) and returns how to turn it off."""

    name: str
    what: str
    on: Callable[[Storefront, int], Callable[[], None]]
    # How many records per family the merchant deletes between the first and the second sync.
    deletes: int = 1
    # The fault changes the store while the sync lists it: what changed behind a page already listed
    # is the next run's to see, so only the clean sync's comparison must be exact.
    moves_the_store: bool = False


def _nothing(store: Storefront, sync: int) -> Callable[[], None]:
    return lambda: None


def _store_faults(
    *, syncs: tuple[int, ...] = (1, 2), **knobs: Any
) -> Callable[[Storefront, int], Callable[[], None]]:
    def on(store: Storefront, sync: int) -> Callable[[], None]:
        if sync not in syncs:
            return lambda: None
        store.sandbox.set_faults(**knobs)
        return lambda: store.sandbox.set_faults(Faults())

    return on


def _mutations(store: Storefront, sync: int) -> Callable[[], None]:
    one = {"count": 1, "rate": 0.5}
    store.sandbox.set_faults(
        mutations={"touch": one, "insert": one, "delete_before": one, "delete_after": one}
    )
    return lambda: store.sandbox.set_faults(Faults())


def _crash_mid_listing(store: Storefront, sync: int) -> Callable[[], None]:
    """In the second sync, the second page of every list answers 503 to the first six asks: the
    client's five attempts fail, the SyncJob's invocation fails, SQS delivers it again, and it resumes
    from its checkpoint."""
    if sync != 2:
        return lambda: None
    refused: dict[str, int] = {}

    def refuse(path: str, query: dict[str, str]) -> int | None:
        second = query.get("page") == "2" or ("page_info" in query and path.endswith(".json"))
        if not second or "events" in path:
            return None
        key = f"{path}?{query.get('page') or query.get('page_info')}"
        refused[key] = refused.get(key, 0) + 1
        return 503 if refused[key] <= 6 else None

    store.tap.refusals.append(refuse)
    return lambda: store.tap.refusals.remove(refuse)


def _duplicate_jobs(store: Storefront, sync: int) -> Callable[[], None]:
    """Each schedule's SyncJobs are delivered twice (EventBridge retries a target; SQS delivers again)."""
    store.duplicate_schedules = True
    return lambda: setattr(store, "duplicate_schedules", False)


def _edits_behind_a_long_listing(store: Storefront, sync: int) -> Callable[[], None]:
    """After the first page of each listing: a record that page showed is edited, the store's clock
    moves on 1,800 s (longer than any overlap), and a record still to come is edited."""
    if sync != 2:
        return lambda: None
    done: set[str] = set()

    def hook(path: str, query: dict[str, str], body: Any) -> Any:
        first_page = query.get("page") in (None, "1") and "page_info" not in query
        records = _records_of(body)
        if not first_page or not records or path in done or "events" in path:
            return None
        done.add(path)
        resource = _resource_at(store, path)
        if resource is None:
            return None
        name, listed = resource, [record.get("id") for record in records if isinstance(record, dict)]
        ids = sorted(store.sandbox.store.ids(name))
        shown = [record_id for record_id in ids if record_id in listed]
        unseen = [record_id for record_id in ids if record_id not in listed]
        if shown and (name != "orders" or store.flavor != "salla"):
            store.sandbox.store.touch(name, shown[0])
        store.sandbox.advance_clock(1_800)
        if unseen and (name != "orders" or store.flavor != "salla"):
            store.sandbox.store.touch(name, unseen[-1])
        return None

    store.tap.hooks.append(hook)
    return lambda: store.tap.hooks.remove(hook)


FAULTS: tuple[Fault, ...] = (
    Fault("none", "no fault: edits, inserts and deletes between syncs", _nothing),
    Fault("5xx", "30 % of requests answer 500/502/503", _store_faults(error_rate=0.3)),
    Fault(
        "429",
        "a burst of three 429s after every five requests (second sync)",
        _store_faults(syncs=(2,), burst_429_every=5, burst_429_length=3, burst_429_retry_after=0.05),
    ),
    Fault(
        "corrupt",
        "10 % of bodies cut in half, 5 % an HTML page",
        _store_faults(truncated_rate=0.1, malformed_rate=0.05),
    ),
    Fault(
        "mutations",
        "records touched, inserted and deleted around page boundaries",
        _mutations,
        moves_the_store=True,
    ),
    Fault("crash", "a SyncJob fails mid-listing and SQS delivers it again", _crash_mid_listing),
    Fault("duplicates", "every SyncJob delivered twice", _duplicate_jobs),
    Fault("deletes", "three records of every family deleted between syncs", _nothing, deletes=3),
    Fault(
        "long listing",
        "edits behind a listing that outlasts the overlap",
        _edits_behind_a_long_listing,
        moves_the_store=True,
    ),
)


# --- comparing ---------------------------------------------------------------------------------------


@dataclass
class Difference:
    """How one family of the records table differs from the store, by code."""

    missing: set[str] = field(default_factory=set)  # live in the store, not live in the table
    stale: set[str] = field(default_factory=set)  # live in both, other content
    undeleted: set[str] = field(default_factory=set)  # gone from the store, live in the table

    @property
    def exact(self) -> bool:
        return not (self.missing or self.stale or self.undeleted)

    def describe(self) -> str:
        parts = [
            f"{len(codes)} {kind}"
            for kind, codes in (
                ("missing", self.missing),
                ("stale", self.stale),
                ("undeleted", self.undeleted),
            )
            if codes
        ]
        return ", ".join(parts) or "exact"


def compare(store: Storefront, family: str) -> Difference:
    """The records table against the store: every live record there and the same, every gone one deleted."""
    expected = store.expected(family)
    rows = store.rows(family)
    live = {code: row for code, row in rows.items() if not row.deleted}
    seen = visible(store.flavor, family)
    missing = set(expected.records) - set(live)
    if not seen.backdated_inserts:
        present = datetime.fromtimestamp(store.sandbox.store.time.anchor, UTC)
        missing = {
            code for code in missing if datetime.fromisoformat(expected.records[code]["createdAt"]) >= present
        }
    difference = Difference(
        missing=missing,
        undeleted=set(live) - set(expected.records) if seen.deletions else set(),
    )
    if seen.edits:
        difference.stale = {
            code for code, record in expected.records.items() if code in live and live[code].record != record
        }
    return difference


# --- running a cell ----------------------------------------------------------------------------------


@dataclass
class CellResult:
    flavor: FlavorName
    fault: str
    after_fault: dict[str, Difference]
    after_clean: dict[str, Difference]
    dead_letters: int
    seconds: float
    moves_the_store: bool = False

    @property
    def exact(self) -> bool:
        clean = all(d.exact for d in self.after_clean.values())
        return clean and (self.moves_the_store or all(d.exact for d in self.after_fault.values()))

    def describe(self) -> str:
        def one(differences: dict[str, Difference]) -> str:
            wrong = [f"{family}: {d.describe()}" for family, d in differences.items() if not d.exact]
            return "; ".join(wrong) or "exact"

        return f"after the fault: {one(self.after_fault)} | after a clean sync: {one(self.after_clean)}"


@contextmanager
def cell_stack() -> Iterator[LocalStack]:
    with LocalStack(clock=SteppingClock(), retry_after_seconds=0) as stack:
        yield stack


def open_cell_store(stack: LocalStack, flavor: FlavorName) -> Storefront:
    sizes = {family: SIZES[family] for family in FLAVOR_FAMILIES[flavor]}
    sandbox = Sandbox(
        flavor, seed=23, sizes=sizes, rate_limit=None, max_per_page=PAGE_CAP[flavor], clock=still_store_time
    )
    return open_storefront(stack, sandbox)


def run_cell(stack: LocalStack, flavor: FlavorName, fault: Fault) -> CellResult:
    started = time.monotonic()
    store = open_cell_store(stack, flavor)
    families = FLAVOR_FAMILIES[flavor]
    _faulted_sync(store, fault, 1, families)
    _merchant_changes(store, families, fault.deletes)
    _faulted_sync(store, fault, 2, families)
    after_fault = {family: compare(store, family) for family in families}
    store.sandbox.advance_clock(60)
    store.sync(*families)
    after_clean = {family: compare(store, family) for family in families}
    return CellResult(
        flavor=flavor,
        fault=fault.name,
        after_fault=after_fault,
        after_clean=after_clean,
        dead_letters=len(store.dead_letters()),
        seconds=time.monotonic() - started,
        moves_the_store=fault.moves_the_store,
    )


def _faulted_sync(store: Storefront, fault: Fault, number: int, families: tuple[str, ...]) -> None:
    off = fault.on(store, number)
    try:
        store.sync(*families)
    finally:
        off()
    store.changes()


def _merchant_changes(store: Storefront, families: tuple[str, ...], deletes: int) -> None:
    """Between the syncs: per family, the first two records edited (where the platform shows edits),
    two added, ``deletes`` of the last ones deleted; the store's clock moves on a minute first."""
    store.sandbox.advance_clock(60)
    for family in families:
        name = store.store_resource(store.resource(family))
        ids = sorted(store.sandbox.store.ids(name))
        if visible(store.flavor, family).edits:
            for record_id in ids[:2]:
                store.sandbox.store.touch(name, record_id)
        for _ in range(2):
            store.sandbox.store.insert(name)
        for record_id in ids[-deletes:]:
            store.sandbox.store.delete(name, record_id)
    store.sandbox.advance_clock(60)


def _records_of(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list):
                return value
    return []


def _resource_at(store: Storefront, path: str) -> str | None:
    """The sandbox resource a list path belongs to (``/admin/api/2025-01/orders.json`` is orders)."""
    for family in FLAVOR_FAMILIES[store.flavor]:
        resource = store.resource(family)
        if store.list_path(resource) == path:
            return store.store_resource(resource)
    return None


def content_types(flavor: FlavorName) -> dict[str, str]:
    return {family: CONTENT_TYPES[family] for family in FLAVOR_FAMILIES[flavor]}
