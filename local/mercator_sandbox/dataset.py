"""The store's records: compact per-record state, sorted indexes, listings and changes.

A record is held as a few integers (:class:`RecordState`): its id, creation and update times, a
``variant`` that seeds everything else about it (names, amounts, lines) and a status. The full JSON
a platform would send is rendered from that state only when a request asks for it, so 100,000 orders
take a few megabytes and are generated in well under a second.

Each resource keeps its live records sorted three ways (by id, by creation, by update), so a listing
in any of those orders, optionally cut by a time window on the same field, is a slice of an index.
Other combinations (a window on one field, sorted by another; a status filter) are materialised once
per change of the resource and cached.

A record leaves in one of two ways. ``Store.delete`` does what the platform does when a merchant
deletes it: on a resource whose spec is ``trashable`` (WooCommerce's orders and products) the record
moves to the trash, out of the live listings but still retrievable, its update time moved to the
deletion; anywhere else, or with ``force=True`` (which also purges a trashed record), it is gone for
good and only a tombstone remains, so older records can still refer to it.

A record written through the API (a product a client created or updated) also carries its written
content (``RecordState.written``, see ``writes.py``); ``Store.write`` and ``Store.insert(...,
written=...)`` apply such writes. Generated records carry none.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Any, Literal, overload

from mercator_sandbox.timebase import StoreTime
from mercator_sandbox.writes import WrittenProduct

RESOURCES: tuple[str, ...] = ("orders", "products", "customers", "carts")
INDEX_FIELDS: tuple[str, ...] = ("id", "created", "updated")

ChangeKind = Literal["created", "updated", "trashed", "deleted"]
# Which records a listing shows: the live ones only (every platform's default), only the trashed
# ones, or both.
TrashScope = Literal["hide", "only", "with"]
SortKey = Callable[["RecordState"], Any]

# Generated ids grow by a random step of at least 2, so a record can later be inserted between two
# neighbours (the boundary-insert fault) without renumbering anything.
_MIN_ID_STEP = 2
_MAX_ID_STEP = 40
# How far a boundary insert looks for a free id next to its neighbour before giving up on the spot.
_FREE_ID_SEARCH = 10_000


@dataclass(slots=True)
class RecordState:
    """One record, compactly: everything else about it is derived from ``variant`` when rendered."""

    id: int
    created: int  # epoch seconds, UTC
    updated: int  # epoch seconds, UTC
    variant: int
    status: int  # index into the flavor's statuses for the resource
    revision: int = 0  # how many times the record was changed since generation
    # The update time the record had when it was trashed (WordPress keeps the status and time it had
    # before, to restore it); None while it is not in the trash.
    trashed_from: int | None = None
    # What a client wrote through the API (products only); None for a record as generated.
    written: WrittenProduct | None = None

    @property
    def trashed(self) -> bool:
        return self.trashed_from is not None

    def value(self, field_name: str) -> int:
        if field_name == "id":
            return self.id
        if field_name == "created":
            return self.created
        if field_name == "updated":
            return self.updated
        raise ValueError(f"no indexed field {field_name!r}; valid: {', '.join(INDEX_FIELDS)}")


@dataclass(frozen=True)
class ResourceSpec:
    """How one resource of a flavor is generated."""

    id_base: int
    status_weights: tuple[float, ...] = (1.0,)
    max_update_delay: int = 7 * 86400  # seconds between creation and the last generated update
    trashable: bool = False  # a delete without force moves the record to the trash


@dataclass(frozen=True)
class Change:
    """A record was created, updated, trashed or deleted; ``state`` is the record right after it."""

    resource: str
    id: int
    kind: ChangeKind
    state: RecordState


@dataclass(frozen=True)
class Window:
    """An inclusive range on an indexed field; None leaves that side open."""

    field: str
    lo: int | None = None
    hi: int | None = None

    def __post_init__(self) -> None:
        if self.field not in INDEX_FIELDS:
            raise ValueError(f"a window needs an indexed field; valid: {', '.join(INDEX_FIELDS)}")

    def contains(self, state: RecordState) -> bool:
        value = state.value(self.field)
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)

    def clamp(self, value: int) -> int:
        if self.lo is not None and value < self.lo:
            return self.lo
        if self.hi is not None and value > self.hi:
            return self.hi
        return value


@dataclass(frozen=True)
class Query:
    """Which records a listing shows and in what order (ties broken by id, the same way).

    ``statuses`` filters the live records only: a trashed record keeps the status it had, but lists
    as trashed whatever it was. ``ids`` keeps only those records (live or trashed): a flavor turns a
    filter on content (a SKU, a handle) into the ids that match it.
    """

    order: str = "id"
    descending: bool = False
    windows: tuple[Window, ...] = ()
    statuses: frozenset[int] | None = None
    trash: TrashScope = "hide"
    ids: frozenset[int] | None = None

    def matches(self, state: RecordState) -> bool:
        if self.statuses is not None and state.status not in self.statuses:
            return False
        if self.ids is not None and state.id not in self.ids:
            return False
        return all(window.contains(state) for window in self.windows)

    def window_on(self, field_name: str, value: int) -> int:
        """``value`` moved inside every window on ``field_name``."""
        for window in self.windows:
            if window.field == field_name:
                value = window.clamp(value)
        return value


class UnknownRecordError(LookupError):
    """No live record of that resource has that id."""

    def __init__(self, resource: str, record_id: int, message: str | None = None) -> None:
        self.resource = resource
        self.record_id = record_id
        super().__init__(message or f"no live {resource} record with id {record_id}")

    def __str__(self) -> str:
        return str(self.args[0])


class AlreadyTrashedError(UnknownRecordError):
    """The record is in the trash already: only a forced delete removes it (for good)."""

    def __init__(self, resource: str, record_id: int) -> None:
        super().__init__(
            resource,
            record_id,
            f"{resource} record {record_id} is in the trash already; delete it with force=True to purge it",
        )


class IndexSlice(Sequence[int]):
    """A contiguous run of a sorted index, read forwards or backwards, as a sequence of ids."""

    __slots__ = ("_descending", "_entries", "_start", "_stop")

    def __init__(self, entries: list[tuple[int, int]], start: int, stop: int, descending: bool) -> None:
        self._entries = entries
        self._start = start
        self._stop = max(start, stop)
        self._descending = descending

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError(index)
        where = self._stop - 1 - position if self._descending else self._start + position
        return self._entries[where][1]

    def __iter__(self) -> Iterator[int]:
        return (self[i] for i in range(len(self)))


class Table:
    """The records of one resource with their indexes; changes go through :class:`Store`."""

    def __init__(self, resource: str, spec: ResourceSpec) -> None:
        self.resource = resource
        self.spec = spec
        self.records: dict[int, RecordState] = {}
        self.trashed: dict[int, RecordState] = {}
        self.tombstones: dict[int, RecordState] = {}
        self.generated: list[int] = []  # ids as generated; other records refer to these
        self.version = 0
        self.max_id = spec.id_base
        self._index: dict[str, list[tuple[int, int]]] = {name: [] for name in INDEX_FIELDS}
        self._sort_keys: dict[str, SortKey] = {}
        self._cache: dict[Query, Sequence[int]] = {}
        self._cache_version = -1

    def load(self, states: list[RecordState]) -> None:
        """Bulk-load generated records (sorted by id and by creation already)."""
        for state in states:
            self.records[state.id] = state
        self.generated = [state.id for state in states]
        self._index["id"] = [(state.id, state.id) for state in states]
        self._index["created"] = sorted((state.created, state.id) for state in states)
        self._index["updated"] = sorted((state.updated, state.id) for state in states)
        if states:
            self.max_id = max(self.max_id, states[-1].id)
        self.version += 1

    def add(self, state: RecordState) -> None:
        if self.taken(state.id):
            raise ValueError(f"{self.resource} id {state.id} is already taken")
        self.records[state.id] = state
        for name in INDEX_FIELDS:
            bisect.insort(self._index[name], (state.value(name), state.id))
        self.max_id = max(self.max_id, state.id)
        self.version += 1

    def remove(self, state: RecordState) -> None:
        for name in INDEX_FIELDS:
            self._drop(name, state)
        del self.records[state.id]
        self.tombstones[state.id] = state
        self.version += 1

    def trash(self, state: RecordState, at: int) -> None:
        """Move a live record to the trash, modified at ``at``; it leaves every live index."""
        for name in INDEX_FIELDS:
            self._drop(name, state)
        del self.records[state.id]
        state.trashed_from = state.updated
        state.updated = at
        self.trashed[state.id] = state
        self.version += 1

    def purge(self, state: RecordState) -> None:
        """Remove a trashed record for good."""
        del self.trashed[state.id]
        self.tombstones[state.id] = state
        self.version += 1

    def retime(self, state: RecordState, updated: int) -> None:
        self._drop("updated", state)
        state.updated = updated
        bisect.insort(self._index["updated"], (updated, state.id))
        self.version += 1

    def taken(self, record_id: int) -> bool:
        return record_id in self.records or record_id in self.trashed or record_id in self.tombstones

    def register_sort_key(self, name: str, key: SortKey) -> None:
        if name in INDEX_FIELDS:
            raise ValueError(f"{name!r} is an indexed field already")
        self._sort_keys[name] = key

    def orders(self) -> tuple[str, ...]:
        return INDEX_FIELDS + tuple(self._sort_keys)

    def select(self, query: Query) -> Sequence[int]:
        """The ids ``query`` lists, in its order. Valid until the next change of this table."""
        if query.order not in INDEX_FIELDS and query.order not in self._sort_keys:
            raise ValueError(
                f"cannot order {self.resource} by {query.order!r}; valid: {', '.join(self.orders())}"
            )
        if self._cache_version != self.version:
            self._cache.clear()
            self._cache_version = self.version
        listing = self._cache.get(query)
        if listing is None:
            listing = self._compute(query)
            self._cache[query] = listing
        return listing

    def _compute(self, query: Query) -> Sequence[int]:
        if query.trash != "hide":
            return self._compute_with_trash(query)
        if (
            query.order in INDEX_FIELDS
            and query.statuses is None
            and query.ids is None
            and all(window.field == query.order for window in query.windows)
        ):
            start, stop = self._range(query.order, query.windows)
            return IndexSlice(self._index[query.order], start, stop, query.descending)
        # Read the narrowest window's index, filter, then sort if that index was not the order.
        source = "id"
        start, stop = 0, len(self._index["id"])
        for window in query.windows:
            w_start, w_stop = self._range(window.field, (window,))
            if w_stop - w_start < stop - start:
                source, start, stop = window.field, w_start, w_stop
        states = [self.records[entry[1]] for entry in self._index[source][start:stop]]
        states = [state for state in states if query.matches(state)]
        if query.order != source:
            states.sort(key=self._key(query.order))
        if query.descending:
            states.reverse()
        return [state.id for state in states]

    def _compute_with_trash(self, query: Query) -> list[int]:
        # The trash is small and unindexed (records reach it one deletion at a time): filter and sort.
        states = [
            state
            for state in self.trashed.values()
            if all(window.contains(state) for window in query.windows)
            and (query.ids is None or state.id in query.ids)
        ]
        if query.trash == "with":
            states += [self.records[i] for i in self._compute(replace(query, trash="hide"))]
        states.sort(key=self._key(query.order), reverse=query.descending)
        return [state.id for state in states]

    def _key(self, order: str) -> SortKey:
        if order in INDEX_FIELDS:
            return lambda state: (state.value(order), state.id)
        custom = self._sort_keys[order]
        return lambda state: (custom(state), state.id)

    def _range(self, field_name: str, windows: Sequence[Window]) -> tuple[int, int]:
        entries = self._index[field_name]
        lows = [w.lo for w in windows if w.lo is not None]
        highs = [w.hi for w in windows if w.hi is not None]
        start = bisect.bisect_left(entries, (max(lows),)) if lows else 0
        stop = bisect.bisect_left(entries, (min(highs) + 1,)) if highs else len(entries)
        return start, max(start, stop)

    def _drop(self, name: str, state: RecordState) -> None:
        entries = self._index[name]
        key = (state.value(name), state.id)
        where = bisect.bisect_left(entries, key)
        if where == len(entries) or entries[where] != key:  # pragma: no cover - indexes out of step
            raise AssertionError(f"{self.resource} index {name} lost record {state.id}")
        del entries[where]

    def index_entries(self, name: str) -> list[tuple[int, int]]:
        return self._index[name]


def generate(
    spec: ResourceSpec, size: int, rng: random.Random, anchor: int, span_seconds: int
) -> list[RecordState]:
    """``size`` records created over the ``span_seconds`` before ``anchor``, ids growing with time."""
    start = anchor - span_seconds
    created_times = sorted(rng.randrange(start, anchor) for _ in range(size))
    statuses = range(len(spec.status_weights))
    cumulative = list(accumulate(spec.status_weights))
    states: list[RecordState] = []
    ident = spec.id_base
    for created in created_times:
        ident += rng.randint(_MIN_ID_STEP, _MAX_ID_STEP)
        # Cubing skews updates towards soon after creation, as with real orders.
        updated = created + int(rng.random() ** 3 * spec.max_update_delay)
        if updated >= anchor:
            updated = rng.randrange(created, anchor)
        status = rng.choices(statuses, cum_weights=cumulative)[0]
        states.append(RecordState(ident, created, updated, rng.getrandbits(32), status))
    return states


@dataclass
class _Placement:
    id: int | None = None
    created: int | None = None
    updated: int | None = None


class Store:
    """Every resource of one sandbox store; the single place records change.

    ``ids``, ``touch``, ``insert`` and ``delete`` are meant for tests too: a test can snapshot
    ``ids(resource)`` when a listing starts and check later that nothing was missed. ``ids`` are the
    live records; ``trashed_ids`` those in the trash.
    """

    def __init__(
        self,
        specs: Mapping[str, ResourceSpec],
        sizes: Mapping[str, int],
        *,
        seed: int,
        time: StoreTime,
        span_days: int = 365,
    ) -> None:
        if span_days < 1:
            raise ValueError("span_days must be at least 1")
        self._time = time
        self._tables: dict[str, Table] = {}
        self._listeners: list[Callable[[Change], None]] = []
        self._rng = random.Random(f"{seed}:changes")
        anchor = int(time.anchor)
        for resource, spec in specs.items():
            table = Table(resource, spec)
            size = sizes.get(resource, 0)
            if size < 0:
                raise ValueError(f"size of {resource} must not be negative")
            rng = random.Random(f"{seed}:{resource}")
            table.load(generate(spec, size, rng, anchor, span_days * 86400))
            self._tables[resource] = table

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(self._tables)

    @property
    def time(self) -> StoreTime:
        return self._time

    def table(self, resource: str) -> Table:
        try:
            return self._tables[resource]
        except KeyError:
            raise ValueError(f"no resource {resource!r}; this store has: {', '.join(self._tables)}") from None

    def ids(self, resource: str) -> frozenset[int]:
        """The ids of the live records of ``resource`` right now."""
        return frozenset(self.table(resource).records)

    def count(self, resource: str) -> int:
        return len(self.table(resource).records)

    def get(self, resource: str, record_id: int) -> RecordState:
        """A live record; UnknownRecordError when there is none with that id."""
        state = self.table(resource).records.get(record_id)
        if state is None:
            raise UnknownRecordError(resource, record_id)
        return state

    def find(self, resource: str, record_id: int) -> RecordState | None:
        """A live record, or None."""
        return self.table(resource).records.get(record_id)

    def retrievable(self, resource: str, record_id: int) -> RecordState | None:
        """A record the platform still answers for by id: a live one or one in the trash; else None."""
        table = self.table(resource)
        return table.records.get(record_id) or table.trashed.get(record_id)

    def trashed_ids(self, resource: str) -> frozenset[int]:
        """The ids of the records of ``resource`` in the trash right now (never live ones)."""
        return frozenset(self.table(resource).trashed)

    def lookup(self, resource: str, record_id: int) -> RecordState | None:
        """A live, trashed or deleted record (deleted ones are still referred to by older records)."""
        table = self.table(resource)
        return table.records.get(record_id) or table.trashed.get(record_id) or table.tombstones.get(record_id)

    def generated_ids(self, resource: str) -> list[int]:
        """The ids the resource was generated with, in id order; never changes afterwards."""
        return self.table(resource).generated

    def select(self, resource: str, query: Query) -> Sequence[int]:
        return self.table(resource).select(query)

    def register_sort_key(self, resource: str, name: str, key: SortKey) -> None:
        """Let listings of ``resource`` be ordered by ``key(state)`` under ``name``."""
        self.table(resource).register_sort_key(name, key)

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        """Call ``listener`` after every change (the webhook emitter listens here)."""
        self._listeners.append(listener)

    def touch(self, resource: str, record_id: int) -> RecordState:
        """The record changed now: its update time moves to the store's present (always forward)."""
        table = self.table(resource)
        state = self.get(resource, record_id)
        table.retime(state, max(self._time.now_seconds(), state.updated + 1))
        state.revision += 1
        self._notify(Change(resource, record_id, "updated", state))
        return state

    def write(
        self, resource: str, record_id: int, content: WrittenProduct, *, status: int | None = None
    ) -> RecordState:
        """A client wrote the record now: it keeps ``content`` (and ``status``, when given).

        As with :meth:`touch`, the update time moves to the store's present (always forward) and
        ``revision`` grows; the ``updated`` change goes out with the new content, so webhooks carry it.
        """
        table = self.table(resource)
        state = self.get(resource, record_id)
        if status is not None:
            self._check_status(table, status)
            state.status = status
        state.written = content
        table.retime(state, max(self._time.now_seconds(), state.updated + 1))
        state.revision += 1
        self._notify(Change(resource, record_id, "updated", state))
        return state

    def delete(self, resource: str, record_id: int, *, force: bool = False) -> RecordState:
        """The merchant deleted the record now, with the platform's own consequences.

        On a ``trashable`` resource, a live record moves to the trash (status trash, update time now,
        always forward; still retrievable, listed only by a trash listing) and a ``trashed`` change
        is sent. Otherwise, or with ``force``, the record (live or trashed) is gone for good and a
        ``deleted`` change is sent. UnknownRecordError when there is no such record to delete;
        AlreadyTrashedError when it is in the trash and ``force`` is not given.
        """
        table = self.table(resource)
        state = table.records.get(record_id)
        if state is not None and table.spec.trashable and not force:
            table.trash(state, max(self._time.now_seconds(), state.updated + 1))
            state.revision += 1
            self._notify(Change(resource, record_id, "trashed", state))
            return state
        if state is not None:
            table.remove(state)
        else:
            state = table.trashed.get(record_id)
            if state is None:
                raise UnknownRecordError(resource, record_id)
            if not force:
                raise AlreadyTrashedError(resource, record_id)
            table.purge(state)
        self._notify(Change(resource, record_id, "deleted", state))
        return state

    def insert(
        self,
        resource: str,
        *,
        record_id: int | None = None,
        created: int | None = None,
        updated: int | None = None,
        status: int | None = None,
        written: WrittenProduct | None = None,
    ) -> RecordState:
        """A new record; by default created now with the next id, as the platform would do.

        ``written``: the content a client created it with (the ``created`` change carries it).
        """
        table = self.table(resource)
        now = self._time.now_seconds()
        if record_id is None:
            record_id = table.max_id + self._rng.randint(_MIN_ID_STEP, _MAX_ID_STEP)
        elif record_id <= 0:
            raise ValueError(f"a record id must be positive, got {record_id}")
        created = now if created is None else created
        updated = max(created, now) if updated is None else updated
        if updated < created:
            raise ValueError(f"updated ({updated}) is before created ({created})")
        weights = table.spec.status_weights
        if status is None:
            status = self._rng.choices(range(len(weights)), weights=weights)[0]
        else:
            self._check_status(table, status)
        state = RecordState(record_id, created, updated, self._rng.getrandbits(32), status, written=written)
        table.add(state)
        self._notify(Change(resource, record_id, "created", state))
        return state

    @staticmethod
    def _check_status(table: Table, status: int) -> None:
        count = len(table.spec.status_weights)
        if not 0 <= status < count:
            raise ValueError(f"status of {table.resource} must be in 0..{count - 1}, got {status}")

    def insert_near(self, resource: str, query: Query, position: int, *, before: bool) -> RecordState:
        """Insert a record that ``query``'s listing shows right next to the record at ``position``.

        ``before``: the new record sorts just ahead of that record (so on a page-number listing it
        pushes every later record one place on); otherwise just after it. When the order has no
        room there (a derived order, or no free id between two neighbours) the record is inserted
        the ordinary way, still matching the listing's filters.
        """
        if query.trash != "hide":
            raise ValueError("records are inserted next to live records, not into a listing of the trash")
        table = self.table(resource)
        listing = table.select(query)
        if not 0 <= position < len(listing):
            raise IndexError(f"position {position} is outside a listing of {len(listing)} records")
        anchor = table.records[listing[position]]
        other = position - 1 if before else position + 1
        neighbour = table.records[listing[other]] if 0 <= other < len(listing) else None
        now = self._time.now_seconds()
        placement = _Placement()
        if query.order in INDEX_FIELDS:
            below = before != query.descending  # in ascending index order, the new key is below anchor
            placement = self._place(table, query.order, anchor, neighbour, below)
        created = placement.created
        updated = placement.updated
        if created is None:
            created = query.window_on("created", now if updated is None else min(updated, now))
        if updated is None:
            updated = max(created, query.window_on("updated", now))
        status = min(query.statuses) if query.statuses else None
        return self.insert(resource, record_id=placement.id, created=created, updated=updated, status=status)

    def _place(
        self, table: Table, order: str, anchor: RecordState, neighbour: RecordState | None, below: bool
    ) -> _Placement:
        if order == "id":
            limit = neighbour.id if neighbour is not None else None
            free = self._free_id(table, anchor.id, limit, downwards=below)
            return _Placement(id=free)
        value = anchor.value(order)
        fresh = table.max_id + self._rng.randint(_MIN_ID_STEP, _MAX_ID_STEP)
        if below:
            # (value - 1, a fresh larger id) sorts just under the anchor unless the neighbour ties it.
            if neighbour is None or neighbour.value(order) <= value - 1:
                return self._timed(order, value - 1, fresh)
            free = self._free_id(table, anchor.id, neighbour.id, downwards=True)
        else:
            # (value, a fresh larger id) sorts just over the anchor unless the neighbour ties it.
            if neighbour is None or neighbour.value(order) > value:
                return self._timed(order, value, fresh)
            free = self._free_id(table, anchor.id, neighbour.id, downwards=False)
        return self._timed(order, value, free) if free is not None else _Placement()

    @staticmethod
    def _timed(order: str, value: int, record_id: int) -> _Placement:
        if order == "created":
            return _Placement(id=record_id, created=value)
        return _Placement(id=record_id, updated=value, created=value)

    @staticmethod
    def _free_id(table: Table, start: int, limit: int | None, *, downwards: bool) -> int | None:
        step = -1 if downwards else 1
        candidate = start + step
        for _ in range(_FREE_ID_SEARCH):
            if candidate <= 0 or (limit is not None and candidate == limit):
                return None
            if not table.taken(candidate):
                return candidate
            candidate += step
        return None

    def _notify(self, change: Change) -> None:
        for listener in self._listeners:
            listener(change)
