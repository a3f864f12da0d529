"""WooCommerce's order tracking and notes: core has no shipment, so the order is the shipment.

WooCommerce core records fulfilment only in the order status (``processing``: paid, awaiting
fulfilment; ``completed``: "fulfilled and complete", which sends the Completed Order email). Tracking
is kept by the Shipment Tracking extension (woocommerce.com/document/shipment-tracking) in the order
meta ``_wc_shipment_tracking_items``, a list of ``{tracking_provider, custom_tracking_provider,
custom_tracking_link, tracking_number, date_shipped, tracking_id}`` (the extension's
``WC_Shipment_Tracking_Actions::add_tracking_item``: ``date_shipped`` is ``strtotime`` of the date put
through ``wc_clean``, so epoch seconds as text; ``tracking_id`` an md5; ``tracking_provider`` the name
of one of its predefined providers, or empty with ``custom_tracking_provider`` and
``custom_tracking_link`` for any other carrier). The REST API shows every order meta in
``meta_data`` as ``{id, key, value}`` (protected keys too: the documentation's own example lists
``_download_permissions_granted``), and order webhooks carry the same order.

What the sandbox serves (the flavor's routes, under ``/wp-json/wc/v3``):

* ``PUT /orders/{id}`` writes ``status`` and ``meta_data`` (``[{key, value}]``, or ``{id, key,
  value}`` to change one entry): as ``WC_Data::update_meta_data``, an entry without ``id`` replaces
  every entry with that key by one new entry (a new meta id); with a known ``id`` it changes that
  entry. The order's ``date_modified`` moves and ``order.updated`` fires once when anything changed
  (HPOS, WooCommerce's default order storage since 8.2, stamps ``date_modified`` after a meta change;
  the older posts storage does not, which is why tracking plugins set it themselves). Writing what the
  order already holds changes nothing. Refusals as WordPress's argument validation: ``meta_data`` that
  is not a list of objects with a text ``key`` is a 400 ``rest_invalid_param``.
* ``POST /orders/{id}/notes`` ``{note, customer_note, added_by_user}`` (woocommerce-rest-api-docs
  ``_order-notes.md``): 201 with the note ``{id, author, date_created, date_created_gmt, note,
  customer_note, _links}`` and a ``Location``; ``customer_note: true`` is shown to the customer and
  emailed (the sandbox keeps it as such). A missing ``note`` is WordPress's 400
  ``rest_missing_callback_param`` ("Missing parameter(s): note"); a ``customer_note`` that is not a
  boolean a 400 ``rest_invalid_param``; an unknown order core's 404
  ``woocommerce_rest_shop_order_invalid_id`` "Invalid order ID.". A note changes neither the order
  nor its ``date_modified``, and fires no webhook (``add_order_note`` does not save the order).
* ``GET /orders/{id}/notes`` (``type``: ``any``, the default, ``customer`` or ``internal``): the
  order's notes, newest first, a bare array.

Not served: the extension's own ``/wp-json/wc-shipment-tracking/v3/...`` routes (outside the
``wc/v3`` prefix); the shipped connector writes the meta through ``PUT /orders/{id}`` instead.

The store's own changes (the contract of ``shipments.py``): the merchant ships an order by saving a
tracking item in the extension's meta box (a predefined provider when the carrier is one, else a
custom provider with the link): the meta is added, the order saved (``order.updated``), its status
left alone, as the extension leaves it. A carrier's ``delivered`` makes the order ``completed`` (the
Completed Order email then carries the tracking); core keeps no other carrier progress, so
``in_transit``, ``out_for_delivery``, ``failed`` and ``returned`` change nothing and send nothing.

Generated orders: four in five ``completed`` orders carry one tracking item from the extension's
United States providers, shipped when they were completed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mercator_sandbox.dataset import RecordState, Store
from mercator_sandbox.flavors.base import ApiError
from mercator_sandbox.shipments import CarrierStatus, ShipmentView

ORDERS = "orders"
TRACKING_KEY = "_wc_shipment_tracking_items"
# The extension's "United States" providers, as its get_providers() lists them (name -> link format).
PROVIDERS: Mapping[str, str] = {
    "DHL US": "https://www.logistics.dhl/us-en/home/tracking/tracking-ecommerce.html?tracking-id=%1$s",
    "Fedex": "https://www.fedex.com/apps/fedextrack/?action=track&action=track&tracknumbers=%1$s",
    "UPS": "https://www.ups.com/track?loc=en_US&tracknum=%1$s",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=%1$s",
}
NOTE_TYPES = ("any", "customer", "internal")
TRUE_TEXT = frozenset({"true", "1", "yes"})
FALSE_TEXT = frozenset({"false", "0", "no", ""})


@dataclass(frozen=True)
class Note:
    id: int
    created: int  # epoch seconds
    note: str
    customer_note: bool
    added_by_user: bool


def tracking_link(item: Mapping[str, Any]) -> str | None:
    """The link the extension shows for an item: the custom link, else its provider's format."""
    custom = str(item.get("custom_tracking_link") or "")
    if item.get("custom_tracking_provider"):
        return custom or None
    template = PROVIDERS.get(str(item.get("tracking_provider") or ""))
    number = str(item.get("tracking_number") or "")
    return template.replace("%1$s", number) if template and number else None


def provider_name(item: Mapping[str, Any]) -> str | None:
    return str(item.get("custom_tracking_provider") or item.get("tracking_provider") or "") or None


class WooShipping:
    """Order meta (the extension's tracking) and order notes of one WooCommerce store."""

    def __init__(self, store: Store, statuses: tuple[str, ...]) -> None:
        self.store = store
        self.statuses = statuses
        self.meta: dict[int, list[dict[str, Any]]] = {}  # orders whose meta was written
        self.notes: dict[int, list[Note]] = {}
        self._meta_ids = 900_000
        self._note_ids = 500_000

    # --- meta -----------------------------------------------------------------------------------

    def meta_of(self, state: RecordState) -> list[dict[str, Any]]:
        """The order's ``meta_data``: as written, else as generated (a tracking item on most
        completed orders)."""
        written = self.meta.get(state.id)
        if written is not None:
            return [dict(entry) for entry in written]
        if self.statuses[state.status] != "completed" or state.variant % 5 == 0:
            return []
        provider = sorted(PROVIDERS)[state.variant % len(PROVIDERS)]
        number = f"9400{state.variant:012d}"[:22]
        item = {
            "tracking_provider": provider,
            "custom_tracking_provider": "",
            "custom_tracking_link": "",
            "tracking_number": number,
            "date_shipped": str(state.trashed_from or state.updated),
            "tracking_id": hashlib.md5(f"{provider}-{number}{state.created}".encode()).hexdigest(),
        }
        return [{"id": state.id * 10 + 7, "key": TRACKING_KEY, "value": [item]}]

    def tracking_items(self, state: RecordState) -> list[dict[str, Any]]:
        for entry in self.meta_of(state):
            if entry["key"] == TRACKING_KEY and isinstance(entry["value"], list):
                return [item for item in entry["value"] if isinstance(item, dict)]
        return []

    def write_meta(self, state: RecordState, raw: Any) -> bool:
        """Apply a PUT's ``meta_data`` (validated first); whether the order's meta changed."""
        entries = self._valid_meta(raw)
        current = self.meta_of(state)
        updated = [dict(entry) for entry in current]
        for entry in entries:
            known = [i for i, found in enumerate(updated) if "id" in entry and found["id"] == entry["id"]]
            if known:
                updated[known[0]].update(key=entry["key"], value=entry["value"])
                continue
            same = [found for found in updated if found["key"] == entry["key"]]
            if len(same) == 1 and same[0]["value"] == entry["value"]:
                continue  # already so: nothing to write
            updated = [found for found in updated if found["key"] != entry["key"]]
            self._meta_ids += 1
            updated.append({"id": self._meta_ids, "key": entry["key"], "value": entry["value"]})
        if updated == current:
            return False
        self.meta[state.id] = updated
        return True

    @staticmethod
    def _valid_meta(raw: Any) -> list[dict[str, Any]]:
        if not isinstance(raw, list):
            raise ApiError(400, "meta_data is not of type array.", param="meta_data")
        entries = []
        for index, entry in enumerate(raw):
            if not isinstance(entry, dict):
                raise ApiError(400, f"meta_data[{index}] is not of type object.", param="meta_data")
            if not isinstance(entry.get("key"), str) or not entry["key"]:
                raise ApiError(400, f"meta_data[{index}][key] is not of type string.", param="meta_data")
            clean = {"key": entry["key"], "value": entry.get("value")}
            if isinstance(entry.get("id"), int) and not isinstance(entry.get("id"), bool):
                clean["id"] = entry["id"]
            entries.append(clean)
        return entries

    # --- notes ----------------------------------------------------------------------------------

    def add_note(self, state: RecordState, fields: Mapping[str, Any]) -> Note:
        if "note" not in fields or fields["note"] is None:
            raise ApiError(
                400,
                "Missing parameter(s): note",
                code="rest_missing_callback_param",
                data={"params": ["note"]},
            )
        if not isinstance(fields["note"], str | int | float) or isinstance(fields["note"], bool):
            raise ApiError(400, "note is not of type string.", param="note")
        flags = {name: self._flag(fields, name) for name in ("customer_note", "added_by_user")}
        self._note_ids += 1
        note = Note(
            self._note_ids,
            self.store.time.now_seconds(),
            str(fields["note"]),
            flags["customer_note"],
            flags["added_by_user"],
        )
        self.notes.setdefault(state.id, []).append(note)
        return note

    @staticmethod
    def _flag(fields: Mapping[str, Any], name: str) -> bool:
        """A boolean as WordPress's ``rest_sanitize_boolean`` reads it."""
        value = fields.get(name, False)
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in TRUE_TEXT | FALSE_TEXT:
            return value.strip().lower() in TRUE_TEXT
        raise ApiError(400, f"{name} is not of type boolean.", param=name)

    def notes_of(self, state: RecordState, kind: str) -> list[Note]:
        if kind not in NOTE_TYPES:
            raise ApiError(400, f"type is not one of {', '.join(NOTE_TYPES)}.", param="type")
        notes = self.notes.get(state.id, [])
        if kind != "any":
            notes = [note for note in notes if note.customer_note == (kind == "customer")]
        return sorted(notes, key=lambda note: note.id, reverse=True)

    # --- the store's own shipping ---------------------------------------------------------------

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None
    ) -> ShipmentView:
        """The merchant saves a tracking item in the extension's meta box; the order is saved."""
        state = self.store.get(ORDERS, order_id)
        predefined = carrier in PROVIDERS and not tracking_url
        now = self.store.time.now_seconds()
        item = {
            "tracking_provider": carrier if predefined else "",
            "custom_tracking_provider": "" if predefined else carrier,
            "custom_tracking_link": "" if predefined else tracking_url or "",
            "tracking_number": tracking_number,
            "date_shipped": str(now),
            "tracking_id": hashlib.md5(f"{carrier}-{tracking_number}{now}".encode()).hexdigest(),
        }
        items = [*self.tracking_items(state), item]
        self.write_meta(state, [{"key": TRACKING_KEY, "value": items}])
        self.store.touch(ORDERS, order_id)
        return self.view(state)

    def report(self, order_id: int, status: CarrierStatus) -> ShipmentView:
        """A carrier's report: only ``delivered`` has a place in core (the order is completed)."""
        state = self.store.get(ORDERS, order_id)
        if not self.tracking_items(state):
            raise ValueError(f"WooCommerce order {order_id} carries no tracking: no carrier reports on it")
        completed = self.statuses.index("completed")
        if status == "delivered" and state.status != completed:
            state.status = completed
            self.store.touch(ORDERS, order_id)
        return self.view(state)

    def view(self, state: RecordState) -> ShipmentView:
        items = self.tracking_items(state)
        first = items[0] if items else {}
        return ShipmentView(
            id=state.id,
            order_id=state.id,
            status=self.statuses[state.status],
            carrier=provider_name(first),
            tracking_numbers=[str(item["tracking_number"]) for item in items if item.get("tracking_number")],
            tracking_url=tracking_link(first),
        )

    def shipments(self, order_id: int | None) -> list[ShipmentView]:
        """Orders that carry tracking, by id."""
        table = self.store.table(ORDERS)
        ids = sorted(table.records) if order_id is None else [order_id] if order_id in table.records else []
        return [self.view(table.records[i]) for i in ids if self.tracking_items(table.records[i])]


def note_answer(
    note: Note, order_url: str, local: Callable[[int], str | None], gmt: Callable[[int], str | None]
) -> dict[str, Any]:
    """A note as the notes endpoints answer it; ``order_url`` is the order's REST URL."""
    base = order_url
    return {
        "id": note.id,
        "author": "WooCommerce" if note.added_by_user else "system",
        "date_created": local(note.created),
        "date_created_gmt": gmt(note.created),
        "note": note.note,
        "customer_note": note.customer_note,
        "_links": {
            "self": [{"href": f"{base}/notes/{note.id}"}],
            "collection": [{"href": f"{base}/notes"}],
            "up": [{"href": base}],
        },
    }
