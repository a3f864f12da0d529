"""Shopify's fulfillments (REST Admin 2025-01): an order's shipments, its fulfillment order, tracking
and the carrier's events.

Shapes from Shopify's own examples: the fulfillments/create, fulfillments/update and
fulfillment_events/create webhook samples of shopify.dev (samples/shopify/fulfillments_*.json,
fulfillment_events_create.json) and the REST reference's examples as shopify-api-ruby replays them
(test/rest/2025_01/fulfillment_test.rb, fulfillment_order_test.rb, fulfillment_event_test.rb).

- A fulfillment is one shipment of some of an order's units: ``status`` ``success`` for the shop's own
  location (``service`` manual), ``shipment_status`` null until a carrier or an app reports progress
  (a fulfillment event sets it), ``tracking_company`` / ``tracking_number(s)`` / ``tracking_url(s)``,
  ``line_items`` (the order's lines, ``quantity`` the units it carries) and ``name`` ``#1001.1``.
  Orders generated partially fulfilled carry one fulfillment of all their lines but the last (of a
  one-line order, half its units), fulfilled ones one of every line; a single-unit order generated
  "partial" is thus wholly fulfilled. The order's ``fulfillment_status`` follows its fulfillments
  (null, ``partial``, ``fulfilled``) and a paid order fulfilled in full is archived (closed), as
  Shopify's default "automatically archive the order" setting does.
- Each order has one fulfillment order at the shop's one location: ``open`` while nothing is
  fulfilled, ``in_progress`` once some units are, ``closed`` when none is left or the order is
  cancelled. ``POST /fulfillments.json`` ``{"fulfillment": {"line_items_by_fulfillment_order":
  [{"fulfillment_order_id", "fulfillment_order_line_items"?: [{id, quantity}]}], "tracking_info":
  {number, url, company}, "notify_customer"}}`` fulfills the units named (all that are left when none
  is) and answers 201 ``{"fulfillment": {...}}``. Refusals: 400 ``{"errors": {"fulfillment": "Required
  parameter missing or invalid"}}`` for a body without that shape; 422 ``{"errors": ["..."]}`` for a
  fulfillment order id that is missing (Shopify's words: "Fulfillment payloads fulfillment order must be
  greater than 0"), unknown, of another order, or closed ("has an unfulfillable status= closed", the
  wording of Shopify's answers as reported by its developers: unverified), and for line items or
  quantities the fulfillment order does not hold. Without a company, a number starting ``1Z`` is
  UPS's, as Shopify recognises it; UPS and USPS numbers get their tracking URL when none is given
  (the URL forms of the reference's examples).
- ``POST /fulfillments/{id}/update_tracking.json`` ``{"fulfillment": {"tracking_info": {...}}}``
  replaces the tracking (a company not given is null, as in the reference's example) and answers 200.
- ``POST /orders/{order_id}/fulfillments/{id}/events.json`` ``{"event": {"status", "message"?,
  "happened_at"?, "estimated_delivery_at"?, ...}}`` records a carrier's event and sets the
  fulfillment's ``shipment_status``; 201 ``{"fulfillment_event": {...}}``; a status Shopify does not
  know is a 422 ``{"errors": {"status": ["is not included in the list"]}}``.
- Reads: ``GET /orders/{id}/fulfillment_orders.json`` (``{"fulfillment_orders": [...]}``), ``GET
  /orders/{id}/fulfillments.json`` (``{"fulfillments": [...]}``, unpaged) and ``GET
  /orders/{order_id}/fulfillments/{id}.json`` (``{"fulfillment": {...}}``); anything unknown is a 404.

Every change of a fulfillment is a change of its order (its update time moves): the webhooks go out
as Shopify sends them, ``fulfillments/create`` or ``fulfillments/update`` (the fulfillment with the
order's ``email`` and its shipping address as ``destination``), ``fulfillment_events/create`` (the
event) and then ``orders/updated``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mercator_sandbox.dataset import RecordState, Store, UnknownRecordError
from mercator_sandbox.facts import Line
from mercator_sandbox.flavors.base import ApiError, moment
from mercator_sandbox.flavors.shopify_writes import INVENTORY_ITEM_OFFSET
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.templates import Template
from mercator_sandbox.writes import IdSequence

MISSING = "Required parameter missing or invalid"
# A fulfillment's id tells its order: a slot per fulfillment of the order (1-15) after the order's
# offset from the first generated order id, so an id alone finds the order, as Shopify's URLs need.
FULFILLMENT_ID_BASE = 4_100_000_000_000
SLOTS = 16
FULFILLMENT_ORDER_ID_BASE = 1_100_000_000_000
FIRST_EVENT_ID = 9_400_000_000_001
# The fulfillment statuses that count as units shipped (cancelled, failure and error do not).
SHIPPING = frozenset({"pending", "open", "success"})
# Event statuses of the REST reference, and DELAYED of the 2025-01 FulfillmentEventStatus enum.
EVENT_STATUSES = (
    "label_printed",
    "label_purchased",
    "attempted_delivery",
    "ready_for_pickup",
    "confirmed",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "failure",
    "delayed",
)
# A carrier's report in Mercator's terms as a Shopify event; Shopify has no "returned" status, so a
# parcel sent back is a failure whose message says so.
CARRIER_EVENTS: Mapping[CarrierStatus, tuple[str, str | None]] = {
    "in_transit": ("in_transit", None),
    "out_for_delivery": ("out_for_delivery", None),
    "delivered": ("delivered", None),
    "failed": ("failure", None),
    "returned": ("failure", "Returned to sender"),
}
# The tracking URLs of the reference's examples, by company.
TRACKING_URLS: Mapping[str, str] = {
    "UPS": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums={number}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1={number}",
}
# Shipment statuses of generated fulfillments, by a slice of the order's variant.
GENERATED_PROGRESS: tuple[str | None, ...] = (
    "delivered",
    "delivered",
    "delivered",
    "delivered",
    "delivered",
    "in_transit",
    "in_transit",
    "out_for_delivery",
    None,
    None,
)

FULFILLMENT = Template("shopify/fulfillments_update.json")
EVENT = Template("shopify/fulfillment_events_create.json")
FULFILLMENT_ORDER = Template("shopify/fulfillment_orders_list.json", "fulfillment_orders", 0)
# What a webhook delivery adds to the REST fulfillment.
WEBHOOK_ONLY = ("email", "destination")

FulfillmentOrderStatus = Literal["open", "in_progress", "closed"]


@dataclass(frozen=True)
class FulfillmentEvent:
    """One event a carrier (or an app for it) reported."""

    id: int
    fulfillment_id: int
    order_id: int
    status: str
    message: str | None
    happened_at: int
    created_at: int
    estimated_delivery_at: int | None = None
    place: Mapping[str, Any] = field(default_factory=dict)  # city, province, country, zip, ...


@dataclass
class Fulfillment:
    """One shipment of an order."""

    id: int
    order_id: int
    number: int  # the n of its name, #1001.n
    lines: tuple[tuple[int, int], ...]  # (order line id, units)
    company: str | None
    numbers: list[str]
    urls: list[str]
    created: int
    updated: int
    status: str = "success"
    shipment_status: str | None = None
    events: list[FulfillmentEvent] = field(default_factory=list)


class OrderSide(Protocol):
    """What the fulfillments need of the flavor's orders."""

    def order_lines(self, state: RecordState) -> tuple[Line, ...]: ...

    def order_line_item(
        self, state: RecordState, line: Line, *, units: int, fulfilled: int
    ) -> dict[str, Any]:
        """The order's line as Shopify renders it, carrying ``units`` and ``fulfilled`` in all."""
        ...

    def order_name(self, state: RecordState) -> str: ...

    def order_contact(self, state: RecordState) -> tuple[str, dict[str, Any]]:
        """The order's email and its shipping address."""
        ...

    def order_fulfillable(self, state: RecordState) -> bool:
        """Whether the order can still be fulfilled (not cancelled)."""
        ...

    def order_generated_fulfillment(self, state: RecordState) -> str | None:
        """How far the order was fulfilled when generated: None, ``partial`` or ``fulfilled``."""
        ...

    def variant_of(self, line: Line) -> int: ...

    def stamp(self, epoch: int) -> str: ...

    def announce(self, state: RecordState, topic: str, subject: Fulfillment | FulfillmentEvent) -> None:
        """Queue the ``topic`` webhook of ``subject``: a change of the order, which moves its time."""
        ...

    def order_changed(self, state: RecordState) -> None:
        """The order's fulfillments changed: its status follows, orders/updated goes out."""
        ...


class ShopifyFulfillments:
    """The shop's fulfillments: generated with the orders, written by the API and the shop's admin."""

    def __init__(
        self,
        store: Store,
        orders: OrderSide,
        *,
        shop_id: int,
        location_id: int,
        location: Mapping[str, Any],
    ) -> None:
        self.store = store
        self.orders = orders
        self.shop_id = shop_id
        self.location_id = location_id
        self.location = dict(location)
        self._order_base = store.table("orders").spec.id_base
        self._written: dict[int, list[Fulfillment]] = {}
        self._event_ids = IdSequence(FIRST_EVENT_ID)

    # --- ids ------------------------------------------------------------------------------------

    def fulfillment_id(self, order_id: int, number: int) -> int:
        return FULFILLMENT_ID_BASE + (order_id - self._order_base) * SLOTS + number

    def fulfillment_order_id(self, order_id: int) -> int:
        return FULFILLMENT_ORDER_ID_BASE + order_id - self._order_base

    def order_of(self, fulfillment_id: int) -> int | None:
        offset = fulfillment_id - FULFILLMENT_ID_BASE
        if offset <= 0 or offset % SLOTS == 0:
            return None
        return self._order_base + offset // SLOTS

    def order_of_fulfillment_order(self, fulfillment_order_id: int) -> int | None:
        offset = fulfillment_order_id - FULFILLMENT_ORDER_ID_BASE
        return self._order_base + offset if offset >= 0 else None

    @staticmethod
    def fulfillment_order_line_id(fulfillment_order_id: int, index: int) -> int:
        return fulfillment_order_id * 8 + index + 1

    # --- what an order has ----------------------------------------------------------------------

    def of(self, state: RecordState) -> list[Fulfillment]:
        """The order's fulfillments, by id: as written, else as the order was generated."""
        written = self._written.get(state.id)
        return written if written is not None else self._generated(state)

    def _generated(self, state: RecordState) -> list[Fulfillment]:
        generated = self.orders.order_generated_fulfillment(state)
        if generated is None or not self.orders.order_fulfillable(state):
            return []
        lines = self.orders.order_lines(state)
        if generated == "fulfilled":
            shipped = tuple((line.line_id, line.quantity) for line in lines)
        elif len(lines) > 1:
            shipped = tuple((line.line_id, line.quantity) for line in lines[:-1])
        else:
            shipped = ((lines[0].line_id, max(1, lines[0].quantity // 2)),)
        # Shipped a few hours to three days after the order, moving on for as long again.
        delay = 3_600 * (1 + state.variant % 72)
        created = min(state.created + delay, state.updated)
        company = ("UPS", "USPS")[state.variant >> 7 & 1]
        number = (
            f"1Z{state.variant % 1_000_000:06d}{state.id % 100_000_000:08d}"
            if company == "UPS"
            else f"9400{state.id % 10**12:012d}{state.variant % 10_000:04d}"
        )
        progress = GENERATED_PROGRESS[(state.variant >> 9) % len(GENERATED_PROGRESS)]
        if generated == "partial" and progress == "delivered":
            progress = "in_transit"
        return [
            Fulfillment(
                id=self.fulfillment_id(state.id, 1),
                order_id=state.id,
                number=1,
                lines=shipped,
                company=company,
                numbers=[number],
                urls=[TRACKING_URLS[company].format(number=number)],
                created=created,
                updated=min(created + delay, state.updated),
                shipment_status=progress,
            )
        ]

    def fulfilled(self, state: RecordState) -> dict[int, int]:
        """Units shipped of each of the order's lines."""
        shipped: dict[int, int] = {}
        for fulfillment in self.of(state):
            if fulfillment.status in SHIPPING:
                for line_id, units in fulfillment.lines:
                    shipped[line_id] = shipped.get(line_id, 0) + units
        return shipped

    def remaining(self, state: RecordState) -> dict[int, int]:
        """Units still to ship of each line (none for an order that cannot be fulfilled)."""
        if not self.orders.order_fulfillable(state):
            return {}
        shipped = self.fulfilled(state)
        left = {
            line.line_id: line.quantity - shipped.get(line.line_id, 0)
            for line in self.orders.order_lines(state)
        }
        return {line_id: units for line_id, units in left.items() if units > 0}

    def fulfillment_status(self, state: RecordState) -> str | None:
        """The order's ``fulfillment_status``: null, ``partial`` or ``fulfilled``."""
        shipped = self.fulfilled(state)
        if not any(shipped.values()):
            return None
        lines = self.orders.order_lines(state)
        return (
            "fulfilled" if all(shipped.get(line.line_id, 0) >= line.quantity for line in lines) else "partial"
        )

    def fulfillment_order_status(self, state: RecordState) -> FulfillmentOrderStatus:
        if not self.remaining(state):
            return "closed"
        return "in_progress" if any(self.fulfilled(state).values()) else "open"

    def find(self, fulfillment_id: int) -> tuple[RecordState, Fulfillment] | None:
        """The live order and the fulfillment with that id; None when there is none."""
        order_id = self.order_of(fulfillment_id)
        state = self.store.find("orders", order_id) if order_id is not None else None
        if state is None:
            return None
        found = next((f for f in self.of(state) if f.id == fulfillment_id), None)
        return (state, found) if found is not None else None

    # --- rendering ------------------------------------------------------------------------------

    def rest(self, state: RecordState, fulfillment: Fulfillment) -> dict[str, Any]:
        """The fulfillment as the REST API answers it (and as the order's ``fulfillments`` hold it)."""
        record = FULFILLMENT.fresh()
        for name in WEBHOOK_ONLY:
            record.pop(name, None)
        shipped = self.fulfilled(state)
        lines = {line.line_id: line for line in self.orders.order_lines(state)}
        record.update(
            {
                "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment.id}",
                "created_at": self.orders.stamp(fulfillment.created),
                "id": fulfillment.id,
                "line_items": [
                    self.orders.order_line_item(
                        state, lines[line_id], units=units, fulfilled=shipped.get(line_id, 0)
                    )
                    for line_id, units in fulfillment.lines
                    if line_id in lines
                ],
                "location_id": self.location_id,
                "name": f"{self.orders.order_name(state)}.{fulfillment.number}",
                "order_id": fulfillment.order_id,
                "origin_address": None,
                "receipt": {},
                "service": "manual",
                "shipment_status": fulfillment.shipment_status,
                "status": fulfillment.status,
                "tracking_company": fulfillment.company,
                "tracking_number": fulfillment.numbers[0] if fulfillment.numbers else None,
                "tracking_numbers": list(fulfillment.numbers),
                "tracking_url": fulfillment.urls[0] if fulfillment.urls else None,
                "tracking_urls": list(fulfillment.urls),
                "updated_at": self.orders.stamp(fulfillment.updated),
            }
        )
        return record

    def webhook(self, state: RecordState, fulfillment: Fulfillment) -> dict[str, Any]:
        """A fulfillments/create or fulfillments/update delivery: the fulfillment, the order's email
        and where it goes."""
        email, address = self.orders.order_contact(state)
        return {**self.rest(state, fulfillment), "email": email, "destination": address}

    def event(self, event: FulfillmentEvent) -> dict[str, Any]:
        """A fulfillment event, as the REST API answers it and fulfillment_events/create delivers it."""
        record = EVENT.fresh()
        # Where the carrier saw it: only what the event says (the sample's country is an example's).
        record.update(
            dict.fromkeys(("address1", "city", "country", "province", "zip", "latitude", "longitude"))
        )
        record.update({key: value for key, value in event.place.items() if key in record})
        record.update(
            {
                "admin_graphql_api_id": f"gid://shopify/FulfillmentEvent/{event.id}",
                "created_at": self.orders.stamp(event.created_at),
                "estimated_delivery_at": (
                    None
                    if event.estimated_delivery_at is None
                    else self.orders.stamp(event.estimated_delivery_at)
                ),
                "fulfillment_id": event.fulfillment_id,
                "happened_at": self.orders.stamp(event.happened_at),
                "id": event.id,
                "message": event.message,
                "order_id": event.order_id,
                "shop_id": self.shop_id,
                "status": event.status,
                "updated_at": self.orders.stamp(event.created_at),
            }
        )
        return record

    def fulfillment_order(self, state: RecordState) -> dict[str, Any]:
        """The order's one fulfillment order, at the shop's location."""
        record = FULFILLMENT_ORDER.fresh()
        fulfillment_order_id = self.fulfillment_order_id(state.id)
        status = self.fulfillment_order_status(state)
        remaining = self.remaining(state)
        email, address = self.orders.order_contact(state)
        destination = dict(record["destination"])
        destination.update({key: address.get(key) for key in destination if key not in ("id", "email")})
        destination.update({"id": fulfillment_order_id + 17, "email": email})
        line_template = record["line_items"][0]
        line_items = []
        for index, line in enumerate(self.orders.order_lines(state)):
            variant_id = self.orders.variant_of(line)
            item = dict(line_template)
            item.update(
                {
                    "id": self.fulfillment_order_line_id(fulfillment_order_id, index),
                    "shop_id": self.shop_id,
                    "fulfillment_order_id": fulfillment_order_id,
                    "quantity": line.quantity,
                    "line_item_id": line.line_id,
                    "inventory_item_id": variant_id + INVENTORY_ITEM_OFFSET,
                    "fulfillable_quantity": remaining.get(line.line_id, 0),
                    "variant_id": variant_id,
                }
            )
            line_items.append(item)
        fulfillments = self.of(state)
        changed = max([state.created, *(f.updated for f in fulfillments)])
        record.update(
            {
                "id": fulfillment_order_id,
                "created_at": self.orders.stamp(state.created),
                "updated_at": self.orders.stamp(changed),
                "shop_id": self.shop_id,
                "order_id": state.id,
                "assigned_location_id": self.location_id,
                # The shop's own location: nothing is requested of a fulfillment service.
                "request_status": "unsubmitted",
                "status": status,
                "supported_actions": [] if status == "closed" else ["create_fulfillment", "move", "hold"],
                "destination": destination,
                "line_items": line_items,
                "assigned_location": {**record["assigned_location"], **self.location},
            }
        )
        return record

    def view(self, fulfillment: Fulfillment) -> ShipmentView:
        """The fulfillment in platform-neutral terms: its status is the carrier's last word
        (``shipment_status``) while it stands, else its own (``success``, ``cancelled``...)."""
        progress = fulfillment.shipment_status if fulfillment.status == "success" else None
        return ShipmentView(
            id=fulfillment.id,
            order_id=fulfillment.order_id,
            status=progress or fulfillment.status,
            carrier=fulfillment.company,
            tracking_numbers=list(fulfillment.numbers),
            tracking_url=fulfillment.urls[0] if fulfillment.urls else None,
        )

    def views(self, order_id: int | None = None) -> list[ShipmentView]:
        if order_id is not None:
            states: Iterable[RecordState] = [self.store.get("orders", order_id)]
        else:
            table = self.store.table("orders")
            states = (table.records[i] for i in sorted(table.records))
        return [self.view(fulfillment) for state in states for fulfillment in self.of(state)]

    # --- changes --------------------------------------------------------------------------------

    def _own(self, state: RecordState) -> list[Fulfillment]:
        """The order's fulfillments to change: the generated ones are copied the first time."""
        written = self._written.get(state.id)
        if written is None:
            written = [dataclasses.replace(f, events=list(f.events)) for f in self._generated(state)]
            self._written[state.id] = written
        return written

    def create(
        self,
        state: RecordState,
        units: Mapping[int, int],
        tracking: tuple[str | None, list[str], list[str]],
    ) -> Fulfillment:
        """Ship ``units`` of the order's lines now, with ``tracking`` (company, numbers, URLs)."""
        fulfillments = self._own(state)
        number = max((f.number for f in fulfillments), default=0) + 1
        if number >= SLOTS:
            raise ApiError(
                422, "Unprocessable Entity", body={"errors": ["The order has too many fulfillments"]}
            )
        now = self.store.time.now_seconds()
        company, numbers, urls = tracking
        fulfillment = Fulfillment(
            id=self.fulfillment_id(state.id, number),
            order_id=state.id,
            number=number,
            lines=tuple((line_id, count) for line_id, count in units.items() if count > 0),
            company=company,
            numbers=numbers,
            urls=urls,
            created=now,
            updated=now,
        )
        fulfillments.append(fulfillment)
        self.orders.announce(state, "fulfillments/create", fulfillment)
        self.orders.order_changed(state)
        return fulfillment

    def retrack(
        self, state: RecordState, fulfillment_id: int, tracking: tuple[str | None, list[str], list[str]]
    ) -> Fulfillment:
        fulfillment = self._mine(state, fulfillment_id)
        fulfillment.company, fulfillment.numbers, fulfillment.urls = tracking
        fulfillment.updated = self.store.time.now_seconds()
        self.orders.announce(state, "fulfillments/update", fulfillment)
        self.orders.order_changed(state)
        return fulfillment

    def record_event(
        self,
        state: RecordState,
        fulfillment_id: int,
        status: str,
        *,
        message: str | None = None,
        happened_at: int | None = None,
        estimated_delivery_at: int | None = None,
        place: Mapping[str, Any] | None = None,
    ) -> FulfillmentEvent:
        """The carrier's event: the fulfillment's ``shipment_status`` set, the webhooks queued."""
        fulfillment = self._mine(state, fulfillment_id)
        now = self.store.time.now_seconds()
        event = FulfillmentEvent(
            id=self._event_ids.take(),
            fulfillment_id=fulfillment.id,
            order_id=state.id,
            status=status,
            message=message,
            happened_at=now if happened_at is None else happened_at,
            created_at=now,
            estimated_delivery_at=estimated_delivery_at,
            place=dict(place or {}),
        )
        fulfillment.events.append(event)
        fulfillment.shipment_status = status
        fulfillment.updated = now
        self.orders.announce(state, "fulfillment_events/create", event)
        self.orders.announce(state, "fulfillments/update", fulfillment)
        self.orders.order_changed(state)
        return event

    def _mine(self, state: RecordState, fulfillment_id: int) -> Fulfillment:
        found = next((f for f in self._own(state) if f.id == fulfillment_id), None)
        if found is None:
            raise UnknownRecordError("fulfillments", fulfillment_id)
        return found

    # --- request bodies -------------------------------------------------------------------------

    def units_asked(self, fields: Mapping[str, Any]) -> tuple[RecordState, dict[int, int]]:
        """The order and the units of each line a create's ``line_items_by_fulfillment_order`` asks for."""
        entries = fields.get("line_items_by_fulfillment_order")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise ApiError(400, MISSING, param="fulfillment")
        state: RecordState | None = None
        asked: dict[int, int] = {}
        for entry in entries:
            raw_id = entry.get("fulfillment_order_id")
            if isinstance(raw_id, bool) or not isinstance(raw_id, int) or raw_id <= 0:
                raise refused("Fulfillment payloads fulfillment order must be greater than 0")
            entry_state = self._fulfillment_order_state(raw_id)
            if state is not None and entry_state.id != state.id:
                raise refused("All fulfillment orders must belong to the same order")
            state = entry_state
            remaining = self.remaining(state)
            if not remaining:
                raise refused(f"Fulfillment order {raw_id} has an unfulfillable status= closed.")
            for line_id, units in self._lines_asked(raw_id, entry, state, remaining).items():
                asked[line_id] = asked.get(line_id, 0) + units
        assert state is not None
        if any(units > self.remaining(state).get(line_id, 0) for line_id, units in asked.items()):
            raise refused("Invalid fulfillment order line item quantity requested.")
        return state, asked

    def _fulfillment_order_state(self, fulfillment_order_id: int) -> RecordState:
        order_id = self.order_of_fulfillment_order(fulfillment_order_id)
        state = self.store.find("orders", order_id) if order_id is not None else None
        if state is None:
            raise refused(f"Fulfillment order {fulfillment_order_id} does not exist.")
        return state

    def _lines_asked(
        self,
        fulfillment_order_id: int,
        entry: Mapping[str, Any],
        state: RecordState,
        remaining: Mapping[int, int],
    ) -> dict[int, int]:
        given = entry.get("fulfillment_order_line_items")
        if given is None:
            return dict(remaining)
        lines = self.orders.order_lines(state)
        by_id = {
            self.fulfillment_order_line_id(fulfillment_order_id, index): line.line_id
            for index, line in enumerate(lines)
        }
        if not isinstance(given, list) or not given:
            raise ApiError(400, MISSING, param="fulfillment")
        asked: dict[int, int] = {}
        for item in given:
            if not isinstance(item, dict) or item.get("id") not in by_id:
                raise refused("Invalid fulfillment order line item id.")
            quantity = item.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise refused("Invalid fulfillment order line item quantity requested.")
            line_id = by_id[item["id"]]
            asked[line_id] = asked.get(line_id, 0) + quantity
        return asked


def refused(message: str) -> ApiError:
    """A 422 as Shopify words a refused fulfillment: ``{"errors": ["..."]}``."""
    return ApiError(422, message, body={"errors": [message]})


def tracking_of(info: Any) -> tuple[str | None, list[str], list[str]]:
    """Company, numbers and URLs from a ``tracking_info`` object (400 when it is not one).

    ``number``/``numbers`` and ``url``/``urls`` both count; a number starting ``1Z`` without a
    company is UPS's; a UPS or USPS number without a URL gets the carrier's.
    """
    if info is None:
        return None, [], []
    if not isinstance(info, dict):
        raise ApiError(400, MISSING, param="tracking_info")
    numbers = _texts(info.get("numbers")) or _texts(info.get("number"))
    urls = _texts(info.get("urls")) or _texts(info.get("url"))
    company = info.get("company")
    company = str(company).strip() if company not in (None, "") else None
    if company is None and numbers and numbers[0].upper().startswith("1Z"):
        company = "UPS"
    if not urls and company is not None and company in TRACKING_URLS:
        urls = [TRACKING_URLS[company].format(number=number) for number in numbers]
    return company, numbers, urls


def _texts(value: Any) -> list[str]:
    values: Sequence[Any] = value if isinstance(value, list) else [value]
    return [
        str(v).strip() for v in values if v is not None and not isinstance(v, dict | list) and str(v).strip()
    ]


def event_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``record_event`` a POST events.json body gives (its ``event``)."""
    event = fields.get("event")
    if not isinstance(event, dict):
        raise ApiError(400, MISSING, param="event")
    status = event.get("status")
    if status not in EVENT_STATUSES:
        raise ApiError(422, "Unprocessable Entity", fields={"status": ["is not included in the list"]})
    message = event.get("message")
    for name in ("happened_at", "estimated_delivery_at"):
        if event.get(name) is not None and not isinstance(event[name], str):
            raise ApiError(400, f"{name} must be an ISO 8601 date-time", param=name)
    return {
        "status": status,
        "message": None if message is None else str(message),
        "happened_at": moment(event, "happened_at"),
        "estimated_delivery_at": moment(event, "estimated_delivery_at"),
        "place": {
            key: event[key]
            for key in ("address1", "city", "province", "country", "zip", "latitude", "longitude")
            if key in event
        },
    }
