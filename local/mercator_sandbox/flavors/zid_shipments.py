"""Zid's orders and their delivery (Merchant API v1): on Zid the order is the shipment.

Zid has no shipment object: an order carries its delivery in its status (``order_status.code``:
``new``, ``preparing``, ``ready``, ``indelivery``, ``delivered``, ``cancelled``, ``reversed``,
``reverse_in_progress``, ``partially_reversed``; docs.zid.sa "Change Order Status") and in
``shipping.method`` (``courier``, ``waybill``, ``waybill_tracking_id``, ``tracking: {number, status,
url}``; the official SDK github.com/zidsa/sdk-python @ 9f81472 ``zid/models/order.py``
``ShippingMethodDetail`` / ``ShippingTracking``, and the reference's "Get Order by ID" example, an
order "Delivery in progress" with tracking ``{"number": "TRACK-12345678", "status": "In Transit",
"url": ...}`` and ``"courier": "FedEx"``), plus ``delivered_at`` in the full payload. Records are
rendered from the SDK's fixtures shipped with the connector: ``samples/zid/order_detail.json`` (the
full order, ``payload_type=default`` and details) and ``samples/zid/orders_list.json`` (whose keys
are those of a "simple" listed order, and whose second order gives the ZidShip shipping method).

Routes (relative to ``/v1``):

* ``GET /managers/store/orders``: ``{status: "object", orders, grand_total, total_order_count,
  total_order_count_per_status, ..., message}`` (the fixture's envelope; ``total_order_count`` and
  ``grand_total`` count what the filters match, the per-status counts the whole store). ``page``
  (default 1; past the last page: no orders), ``per_page`` (default 10, at most 100), ``order_status``
  (one code; the SDK and the reference take a single value), ``payload_type`` (``default``: full
  orders with products and invoice lines; anything else, the default ``simple``: the listed keys
  only), ``date_from`` / ``date_to`` (ISO 8601 or ``YYYY-MM-DD``; a value without a zone is UTC, a
  date alone covers its whole day) on ``date_attribute`` (``created_at``, the default, or
  ``updated_at``), ``sort_by`` (``desc``, the default, or ``asc``, on that same date). Orders carry
  their dates as ``"2026-01-30 15:56:02"`` (UTC, no zone), as the fixtures do.
* ``GET /managers/store/orders/{id}/view``: ``{status: "object", order, message}``.
* ``POST /managers/store/orders/{id}/change-order-status``: a JSON or form body ``{order_status,
  tracking_number, tracking_url, waybill_url, inventory_address_id}`` (the reference's form fields;
  the SDK's ``update_status`` sends them as JSON). It answers ``{status: "object", order, message}``
  (the reference's example; the SDK reads ``order``). Setting what the order already has changes
  nothing: the call is idempotent. A status change moves ``updated_at`` and fires
  ``order.status.update``; new tracking without a status change moves ``updated_at`` only.

Refusals (assumptions: no error body of Zid's order endpoints was found): Zid's envelope with the
field errors at the top level, as the SDK reads them (``_extract_error_message`` reads
``message.description``, ``_extract_validation_errors`` the top-level lists): an unknown order is a
404 ``{status: "error", message: {type: "error", code: "ORDER_NOT_FOUND", name: "Not Found",
description}}``; a missing or unknown ``order_status``, and a ``tracking_url`` / ``waybill_url`` that
is not an http(s) URL (Laravel's ``url`` rule), are a 422 ``{status: "error", message: {type:
"validation_errors", ...}, "<field>": ["<message>"]}``. Zid requires no tracking number for any status.

The store's own changes (``ship`` and ``set_shipment_status``, the contract of ``shipments.py``):
the merchant ships an order from the dashboard by moving it to ``indelivery`` with the carrier's
tracking number and link (the same change the endpoint makes; the merchant's carrier is kept as the
courier's name, the plain-text form of the reference's example); the carrier's reports set
``tracking.status`` (``In Transit``, ``Out for Delivery``, ``Delivered``, ``Delivery Failed``,
``Returned``: the wording of the reference's ``In Transit``, the rest assumed) and move the order
where Zid has a status for it: ``in_transit`` and ``out_for_delivery`` to ``indelivery``,
``delivered`` to ``delivered`` (``delivered_at`` stamped), ``returned`` to ``reversed``; a failed
delivery leaves the status where it is (Zid has no such status).

Generated orders: ZidShip orders with a courier (SMSA, Aramex, SPL or J&T); those in delivery, delivered
or reversed carry a tracking number and link (the couriers' public tracking pages; numbers invented).
``display_status`` ids and colours are the fixtures' for new (1), preparing (2), ready (17),
delivered (5) and cancelled (7); the others are assumed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from starlette.requests import Request

from mercator_sandbox.dataset import Query, RecordState, ResourceSpec, Store, Window
from mercator_sandbox.facts import Catalog, OrderFacts, amount
from mercator_sandbox.flavors.base import Answer, ApiError, moment
from mercator_sandbox.mutations import ServedPage
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.templates import Template

ORDERS = "orders"
ORDERS_PATH = "/managers/store/orders"
RIYADH = ZoneInfo("Asia/Riyadh")
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
# (code, English name, display_status id, colour), in the order the reference lists them.
ORDER_STATUSES: tuple[tuple[str, str, int, str], ...] = (
    ("new", "New", 1, "#3498db"),
    ("preparing", "Preparing", 2, "#f39c12"),
    ("ready", "Ready", 17, "#2ecc71"),
    ("indelivery", "Delivery in progress", 4, "#8e44ad"),
    ("delivered", "Delivered", 5, "#27ae60"),
    ("cancelled", "Canceled", 7, "#e74c3c"),
    ("reversed", "Reversed", 8, "#7f8c8d"),
    ("reverse_in_progress", "Reverse in progress", 9, "#95a5a6"),
    ("partially_reversed", "Partially reversed", 10, "#bdc3c7"),
)
CODES: tuple[str, ...] = tuple(code for code, *_ in ORDER_STATUSES)
# Statuses an order reaches only once it left the store with a carrier.
SHIPPED = frozenset({"indelivery", "delivered", "reversed", "reverse_in_progress", "partially_reversed"})
ORDER_SPEC = ResourceSpec(39_000_000, (0.12, 0.08, 0.05, 0.08, 0.5, 0.1, 0.03, 0.02, 0.02))
# What a carrier's report does: the order status it moves to (None: stays) and tracking.status.
CARRIER_REPORTS: Mapping[str, tuple[str | None, str]] = {
    "in_transit": ("indelivery", "In Transit"),
    "out_for_delivery": ("indelivery", "Out for Delivery"),
    "delivered": ("delivered", "Delivered"),
    "failed": (None, "Delivery Failed"),
    "returned": ("reversed", "Returned"),
}
# (English name, Arabic name, code, tracking page with {number})
COURIERS: tuple[tuple[str, str, str, str], ...] = (
    ("SMSA", "سمسا", "smsa", "https://www.smsaexpress.com/trackingdetails?tracknumbers={number}"),
    ("Aramex", "أرامكس", "aramex", "https://www.aramex.com/sa/en/track/results?ShipmentNumber={number}"),
    ("SPL", "سبل", "spl", "https://splonline.com.sa/en/shipmentdetailsstatic/?tid={number}"),
    ("J&T Express", "جي اند تي", "jt", "https://www.jtexpress.sa/trajectoryQuery?waybillNo={number}"),
)
# (city id, English name), (street, district); city ids besides Riyadh's 1 are assumed.
CITIES: tuple[tuple[int, str], ...] = ((1, "Riyadh"), (3, "Jeddah"), (5, "Dammam"), (4, "Mecca"))
STREETS: tuple[tuple[str, str], ...] = (
    ("King Fahd Rd", "Al Olaya Dist."),
    ("Prince Sultan St", "Al Rawdah Dist."),
    ("Al Khobar Hwy", "Al Faisaliyah Dist."),
    ("Ibrahim Al Khalil St", "Al Aziziyah Dist."),
)
SUCCESS_MESSAGE: Mapping[str, Any] = {"type": "object", "code": None, "name": None, "description": None}
REQUIRED = "The order status field is required."
INVALID_STATUS = "The selected order status is invalid."

FULL = Template("zid/order_detail.json", "order")
LISTED = Template("zid/orders_list.json", "orders", 1)
ENVELOPE = Template("zid/orders_list.json")


@dataclass(frozen=True)
class Delivery:
    """What an order says about its delivery, besides its status."""

    courier: str | Mapping[str, Any] | None  # ZidShip's courier object, or a merchant's carrier by name
    tracking_number: str | None = None
    tracking_url: str | None = None
    tracking_status: str | None = None
    waybill_url: str | None = None
    delivered_at: int | None = None  # epoch seconds

    @property
    def carrier(self) -> str | None:
        """The courier's English name (or the merchant's carrier as given)."""
        if isinstance(self.courier, Mapping):
            name = self.courier.get("name")
            return str(name.get("en")) if isinstance(name, Mapping) else None
        return self.courier


def zid_datetime(epoch: int | None) -> str | None:
    """Zid's order time: UTC without a zone, ``2026-01-30 15:56:02``."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def issue_date(epoch: int) -> str:
    """The invoice date as Zid prints it in English: Riyadh time, ``05-12-2024 | 03:27 PM``."""
    return datetime.fromtimestamp(epoch, RIYADH).strftime("%d-%m-%Y | %I:%M %p")


def decimal_text(cents: int) -> str:
    """Zid's order amounts: ``"100.00000000000000"``."""
    return f"{cents // 100}.{cents % 100:02d}{'0' * 12}"


def sar_text(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d} SAR"


class ZidOrders:
    """The orders of a Zid store: listing, details, status changes and the store's own shipping."""

    def __init__(self, store: Store, catalog: Catalog, product_id: Callable[[int], str]) -> None:
        self.store = store
        self.catalog = catalog
        self.product_id = product_id  # record id -> the product's uuid
        self.deliveries: dict[int, Delivery] = {}  # orders whose delivery the store changed
        self._counts: tuple[int, dict[str, int]] = (-1, {})  # (table version, orders per status)

    # --- requests -------------------------------------------------------------------------------

    def list_page(self, request: Request) -> Answer:
        params = request.query_params
        per_page = self._whole(params.get("per_page"), DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE)
        page = self._whole(params.get("page"), 1)
        query = self._query(params)
        listing = self.store.select(ORDERS, query)
        start = min((page - 1) * per_page, len(listing))
        stop = min(start + per_page, len(listing))
        full = params.get("payload_type") == "default"
        orders = [self.render(self.store.get(ORDERS, i), full=full) for i in listing[start:stop]]
        body = ENVELOPE.fresh()
        body.update(
            {
                "orders": orders,
                "grand_total": len(listing),
                "total_order_count": len(listing),
                "total_order_count_per_status": self._per_status(body["total_order_count_per_status"]),
                "message": dict(SUCCESS_MESSAGE),
            }
        )
        return Answer(body, page=ServedPage(ORDERS, query, stop, len(orders)))

    def _per_status(self, keys: Mapping[str, Any]) -> dict[str, int]:
        """The store's orders per status code (the fixture's keys first), counted once per change."""
        table = self.store.table(ORDERS)
        if self._counts[0] != table.version:
            counts = dict.fromkeys(keys, 0)
            for state in table.records.values():
                counts[CODES[state.status]] = counts.get(CODES[state.status], 0) + 1
            self._counts = (table.version, counts)
        return dict(self._counts[1])

    @staticmethod
    def _whole(raw: str | None, default: int, *, maximum: int | None = None) -> int:
        """A positive whole number, cut to ``maximum``; anything else is the default (as Laravel's
        paginator reads page and per_page)."""
        try:
            value = int(raw) if raw else default
        except ValueError:
            return default
        value = value if value >= 1 else default
        return min(value, maximum) if maximum is not None else value

    def _query(self, params: Mapping[str, str]) -> Query:
        field = "updated" if params.get("date_attribute") == "updated_at" else "created"
        low = moment(params, "date_from")
        high = moment(params, "date_to")
        if high is not None and len(params.get("date_to", "").strip()) == 10:
            high += 86_399  # a date alone covers its whole day
        windows = (Window(field, low, high),) if low is not None or high is not None else ()
        wanted = params.get("order_status", "").strip()
        statuses = None
        if wanted:
            # An unknown code (a custom status this store has none of) matches no order.
            statuses = frozenset({CODES.index(wanted)}) if wanted in CODES else frozenset({-1})
        return Query(
            order=field,
            descending=params.get("sort_by", "desc").lower() != "asc",
            windows=windows,
            statuses=statuses,
        )

    def find(self, raw_id: str) -> RecordState:
        try:
            state = self.store.find(ORDERS, int(raw_id))
        except ValueError:
            state = None
        if state is None:
            raise not_found()
        return state

    def details(self, raw_id: str) -> Answer:
        return Answer(self.wrap(self.find(raw_id)))

    def wrap(self, state: RecordState) -> dict[str, Any]:
        return {"status": "object", "order": self.render(state, full=True), "message": dict(SUCCESS_MESSAGE)}

    def change_status(self, request: Request, body: bytes) -> Answer:
        """Change-order-status: validate, then set status and tracking (the same call twice is one change)."""
        state = self.find(request.path_params["id"])
        fields = form_or_json(body, request.headers.get("content-type", ""))
        errors: dict[str, list[str]] = {}
        code = str(fields.get("order_status") or "").strip()
        if not code:
            errors["order_status"] = [REQUIRED]
        elif code not in CODES:
            errors["order_status"] = [INVALID_STATUS]
        for name in ("tracking_url", "waybill_url"):
            value = text(fields.get(name))
            if value is not None and not is_url(value):
                errors[name] = [f"The {name.replace('_', ' ')} format is invalid."]
        if errors:
            raise invalid(errors)
        delivery = self.delivery(state)
        changes: dict[str, Any] = {}
        for name, attribute in (
            ("tracking_number", "tracking_number"),
            ("tracking_url", "tracking_url"),
            ("waybill_url", "waybill_url"),
        ):
            value = text(fields.get(name))
            if value is not None:
                changes[attribute] = value
        self._apply(state, code, replace(delivery, **changes))
        return Answer(self.wrap(state))

    # --- the store's own shipping ---------------------------------------------------------------

    def delivery(self, state: RecordState) -> Delivery:
        """The order's delivery: as the store changed it, else as generated."""
        found = self.deliveries.get(state.id)
        if found is not None:
            return found
        name, arabic, code, page = COURIERS[state.variant % len(COURIERS)]
        courier = {
            "name": {"ar": arabic, "en": name},
            "code": code,
            "logo": f"https://media.zid.store/courier/{code}.png",
            "identifier": code.upper(),
        }
        status = CODES[state.status]
        if status not in SHIPPED:
            return Delivery(courier)
        number = f"{code.upper()}{state.variant % 10_000_000_000:010d}"
        reported = {"indelivery": "In Transit", "delivered": "Delivered"}.get(status, "Returned")
        return Delivery(
            courier,
            tracking_number=number,
            tracking_url=page.format(number=number),
            tracking_status=reported,
            delivered_at=state.updated if status == "delivered" else None,
        )

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None
    ) -> ShipmentView:
        """The merchant moves the order to delivery with the carrier's tracking, from the dashboard."""
        state = self.store.get(ORDERS, order_id)
        delivery = Delivery(carrier, tracking_number, tracking_url)
        self._apply(state, "indelivery", delivery)
        return self.view(state)

    def report(self, order_id: int, status: CarrierStatus) -> ShipmentView:
        """The carrier reports progress: tracking.status set, the order moved where Zid has a status."""
        state = self.store.get(ORDERS, order_id)
        delivery = self.delivery(state)
        if delivery.tracking_number is None and CODES[state.status] not in SHIPPED:
            raise ValueError(f"Zid order {order_id} was not shipped: no carrier reports on it")
        moves_to, reported = CARRIER_REPORTS[status]
        self._apply(state, moves_to or CODES[state.status], replace(delivery, tracking_status=reported))
        return self.view(state)

    def _apply(self, state: RecordState, code: str, delivery: Delivery) -> None:
        """Set the order's status and delivery the way Zid records them; a change of status fires
        order.status.update, a change of delivery alone only moves updated_at."""
        now = self.store.time.now_seconds()
        moved = CODES.index(code) != state.status
        before = self.delivery(state)
        if (
            delivery.tracking_number != before.tracking_number
            and delivery.tracking_status == before.tracking_status
        ):
            delivery = replace(delivery, tracking_status=None)  # a new parcel: no carrier report yet
        if code == "delivered" and (moved or delivery.delivered_at is None):
            delivery = replace(delivery, delivered_at=now)
        elif code != "delivered":
            delivery = replace(delivery, delivered_at=None)
        changed = delivery != before
        self.deliveries[state.id] = delivery
        if moved:
            state.status = CODES.index(code)
            self.store.touch(ORDERS, state.id)
        elif changed:
            # Zid sends no webhook for tracking alone: the order's update time moves, nothing is sent.
            self.store.table(ORDERS).retime(state, max(now, state.updated + 1))
            state.revision += 1

    def view(self, state: RecordState) -> ShipmentView:
        delivery = self.delivery(state)
        return ShipmentView(
            id=state.id,
            order_id=state.id,
            status=CODES[state.status],
            carrier=delivery.carrier,
            tracking_numbers=[delivery.tracking_number] if delivery.tracking_number else [],
            tracking_url=delivery.tracking_url,
        )

    def shipments(self, order_id: int | None) -> list[ShipmentView]:
        """Orders that left with a carrier (a shipped status, or tracking given), by id."""
        table = self.store.table(ORDERS)
        ids = sorted(table.records) if order_id is None else [order_id] if order_id in table.records else []
        states = [table.records[i] for i in ids]
        return [
            self.view(state)
            for state in states
            if CODES[state.status] in SHIPPED or self.delivery(state).tracking_number
        ]

    # --- records --------------------------------------------------------------------------------

    def render(self, state: RecordState, *, full: bool) -> dict[str, Any]:
        """The order as the API answers it: ``full`` as details and ``payload_type=default`` do, else
        with the keys of a "simple" listed order only."""
        facts = self.catalog.order(state.variant, placed=state.created)
        code, name, display_id, colour = ORDER_STATUSES[state.status]
        delivery = self.delivery(state)
        buyer = facts.customer
        token = f"{int(facts.token[:16], 16):x}"[:10]
        record = FULL.fresh()
        record.update(
            {
                "id": state.id,
                "invoice_number": state.id,
                "code": token,
                "store_id": 13_579,
                "order_url": f"https://mercator-sandbox.zid.store/o/{token}/inv",
                "store_name": "Mercator Sandbox",
                "shipping_method_code": "zid_zidship",
                "store_url": "https://mercator-sandbox.zid.store/",
                "order_status": {"name": name, "code": code},
                "display_status": {"id": display_id, "code": code, "color": colour, "name": name},
                "currency_code": "SAR",
                "customer": {
                    "id": 200 + state.variant % 100_000,
                    "name": buyer.name,
                    "email": buyer.email,
                    "mobile": f"9665{buyer.digits:08d}",
                    "note": "",
                    "type": "individual",
                },
                "order_total": decimal_text(facts.total_cents),
                "order_total_string": sar_text(facts.total_cents),
                "transaction_amount": amount(facts.total_cents),
                "transaction_amount_string": sar_text(facts.total_cents),
                "issue_date": issue_date(state.created),
                "payment_status": "pending" if code == "new" else "paid",
                "source": "Store",
                "source_code": "catalog",
                "created_at": zid_datetime(state.created),
                "updated_at": zid_datetime(state.updated),
                "requires_shipping": True,
                "shipping": self._shipping(facts, delivery, state.variant),
                "payment": self._payment(facts),
                "products": self._products(facts),
                "products_count": len(facts.lines),
                "products_sum_total_string": sar_text(facts.subtotal_cents),
                "delivered_at": zid_datetime(delivery.delivered_at),
                "histories": [],
                "inventory_address": None,
                "previous_order": None,
                "return_policy": None,
                "weight": 0,
            }
        )
        if full:
            return record
        return {key: record[key] for key in LISTED.fresh()}

    @staticmethod
    def _shipping(facts: OrderFacts, delivery: Delivery, variant: int) -> dict[str, Any]:
        method = LISTED.fresh()["shipping"]["method"]
        city_id, city = CITIES[facts.customer.place % len(CITIES)]
        street, district = STREETS[variant % len(STREETS)]
        method.update(
            {
                "id": 5_423,
                "name": "ZidShip",
                "code": "zid_zidship",
                "icon": "https://media.zid.store/static/zidship.png",
                "waybill": delivery.waybill_url,
                "waybill_tracking_id": delivery.tracking_number,
                "tracking": {
                    "number": delivery.tracking_number,
                    "status": delivery.tracking_status,
                    "url": delivery.tracking_url,
                },
                "order_shipping_status": delivery.tracking_status,
                "courier": dict(delivery.courier)
                if isinstance(delivery.courier, Mapping)
                else delivery.courier,
            }
        )
        return {
            "method": method,
            "address": {
                "formatted_address": "N/A",
                "street": street,
                "district": district,
                "lat": None,
                "lng": None,
                "short_address": None,
                "meta": {"postcode": f"{12_000 + facts.customer.place % 8_000}", "building_number": "7"},
                "city": {"id": city_id, "name": city},
                "country": {"id": 184, "name": "Saudi Arabia", "code": "SA"},
            },
        }

    @staticmethod
    def _payment(facts: OrderFacts) -> dict[str, Any]:
        before_vat = facts.subtotal_cents - facts.discount_cents + facts.shipping_cents
        lines = [("sub_totals_before_vat", before_vat, "Total without VAT")]
        if facts.shipping_cents:
            lines.append(("shipping", facts.shipping_cents, "Shipping"))
        lines += [
            ("vat", facts.tax_cents, f"VAT (%{facts.tax_rate_bp // 100})"),
            ("sub_totals_after_vat", facts.total_cents, "Total Inc. VAT"),
            ("total", facts.total_cents, "Total"),
        ]
        return {
            "method": {"name": "Cash On Delivery", "code": "zid_cod", "type": "zid_cod"},
            "invoice": [
                {"code": code, "value": decimal_text(cents), "value_string": sar_text(cents), "title": title}
                for code, cents, title in lines
            ],
        }

    def _products(self, facts: OrderFacts) -> list[dict[str, Any]]:
        template = FULL.fresh()["products"][0]
        products = []
        for line in facts.lines:
            item = dict(template)
            unit = amount(line.unit_cents)
            item.update(
                {
                    "id": self.product_id(line.product_id),
                    "order_product_id": line.line_id,
                    "name": line.product.title,
                    "sku": line.product.sku,
                    "custom_fields": [],
                    "quantity": line.quantity,
                    "price": unit,
                    "price_string": sar_text(line.unit_cents),
                    "net_price": unit,
                    "gross_price": unit,
                    "total": amount(line.total_cents),
                    "total_string": sar_text(line.total_cents),
                    "discounted_total": amount(line.total_cents),
                    "discounted_total_string": sar_text(line.total_cents),
                }
            )
            products.append(item)
        return products


# --- request helpers ----------------------------------------------------------------------------


def form_or_json(body: bytes, content_type: str) -> dict[str, Any]:
    """The fields of a JSON body, or of a form (the reference's examples post a form)."""
    if "application/x-www-form-urlencoded" in content_type:
        return {name: values[-1] for name, values in parse_qs(body.decode(), keep_blank_values=True).items()}
    try:
        fields = json.loads(body) if body.strip() else {}
    except ValueError:
        raise invalid({"order_status": [REQUIRED]}, "The given data was invalid.") from None
    return fields if isinstance(fields, dict) else {}


def text(value: Any) -> str | None:
    """A form value as text; blank (as the reference's example sends unused fields) is absent."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    written = str(value).strip()
    return written or None


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def not_found() -> ApiError:
    message = {
        "type": "error",
        "code": "ORDER_NOT_FOUND",
        "name": "Not Found",
        "description": "Order not found.",
    }
    return ApiError(404, "Order not found.", code="not_found", body={"status": "error", "message": message})


def invalid(errors: Mapping[str, list[str]], description: str | None = None) -> ApiError:
    first = next(iter(errors.values()))[0]
    message = {
        "type": "validation_errors",
        "code": "VALIDATION_ERROR",
        "name": "The given data was invalid.",
        "description": description or first,
    }
    return ApiError(
        422,
        first,
        code="invalid",
        fields=errors,
        body={"status": "error", "message": message, **{name: list(found) for name, found in errors.items()}},
    )
