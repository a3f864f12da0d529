"""Changes made to the store right after a list page is served, to shake a listing in progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mercator_sandbox.counters import Counters
from mercator_sandbox.dataset import Query, Store
from mercator_sandbox.faults import FaultInjector, Mutations


@dataclass(frozen=True)
class ServedPage:
    """A list page just served: which listing, and where in it the page ended."""

    resource: str
    query: Query
    boundary: int  # position in the listing of the first record the page did not show
    size: int  # records on the page


def apply_mutations(
    store: Store, page: ServedPage, plan: Mutations, injector: FaultInjector, counters: Counters
) -> None:
    """Touch, insert at the page boundary and delete on both sides of it, as ``plan`` says."""
    if page.size == 0 or not plan.active:
        return
    rng = injector.rng
    listing = store.select(page.resource, page.query)
    boundary = min(page.boundary, len(listing))
    if boundary == 0:
        return
    anchor = listing[boundary - 1]  # the last record the page showed
    served, unserved = range(boundary), range(boundary, len(listing))
    doomed = [listing[i] for i in rng.sample(served, min(injector.how_many(plan.delete_before), len(served)))]
    doomed += [
        listing[i] for i in rng.sample(unserved, min(injector.how_many(plan.delete_after), len(unserved)))
    ]
    every = store.table(page.resource).index_entries("id")
    touched = (
        {every[rng.randrange(len(every))][1] for _ in range(injector.how_many(plan.touch))}
        if every
        else set()
    )

    # Inserts first: they are placed next to the anchor, which touches and deletes may move or remove.
    position = boundary - 1
    for _ in range(injector.how_many(plan.insert)):
        listing = store.select(page.resource, page.query)
        position = _locate(listing, anchor, position)
        store.insert_near(page.resource, page.query, position, before=plan.insert_before_boundary)
        counters.mutations["insert"] += 1
    for record_id in sorted(touched):
        store.touch(page.resource, record_id)
        counters.mutations["touch"] += 1
    for record_id in doomed:
        if store.find(page.resource, record_id) is not None:
            store.delete(page.resource, record_id)
            counters.mutations["delete"] += 1


def _locate(listing: Sequence[int], record_id: int, hint: int) -> int:
    # The anchor is where it was or one place on (an insert just ahead of it); look there first.
    for position in (hint, hint + 1, hint - 1):
        if 0 <= position < len(listing) and listing[position] == record_id:
            return position
    return list(listing).index(record_id)
