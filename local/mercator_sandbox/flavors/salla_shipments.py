"""Salla's shipments: the Shipping and Fulfilment API under ``/admin/v2``, and the store's own shipping.

Shapes from Salla's docs (docs.salla.dev "List Shipments" 5578809e0, "Shipment Details" 5578811e0,
"Create Shipment" 5578808e0, "Update Shipment Details" 5578810e0, "Cancel Shipments" 5578812e0, "List
Shipping Companies" 5578815e0, "Shipments Webhook Events Model" 433807m0 and the Shipping App "App
Cycle" 422994m0; their OpenAPI text as mirrored in github.com/MAshrafAi/salla-docs @ 929b39c5), and the
samples shipped with the connector (``samples/salla/shipment*.json``), which every view is filled from.

* ``GET /shipments`` lists every shipment, newest first, in Salla's list envelope, filtered by
  ``order_id``, ``courier_id``, ``courier_slug``, ``status``, ``shipment_type`` and ``from_date`` /
  ``to_date`` (creation days in store time). An unknown status, type or courier slug is a 422 naming
  the parameter, as the reference's example is for ``courier_slug``. Items carry ``created_at`` only:
  Salla's shipments have no update time.
* ``GET /shipments/{id}`` answers one (a 404 when there is none).
* ``POST /shipments`` (Create Shipment) takes ``courier_id``, ``shipment_type`` (shipment | return),
  ``payment_method`` (cod | pre_paid) and ``packages`` (all four required), ``order_id`` (the sandbox
  requires it for an outbound shipment and checks the order exists: the reference marks it optional
  but a shipment is always of an order), ``shipment_id`` (required for a return), ``ship_to`` (its
  name required when given; absent: the order's receiver), ``cash_on_delivery`` (required with
  cod), ``external_id``, ``external_additional_id``, ``external_company_name``, ``description``,
  ``remarks``, and ``overwrite_exists_pending``: with it, a pending shipment of the same order and
  type (status creating or pending) is replaced by the new one rather than kept beside it. The body
  carries no tracking: the shipment starts ``creating`` and the tracking arrives by Update. Answers
  200 ``{status, success, data: <the shipment>}``.
* ``PUT /shipments/{id}`` (Update Shipment Details) requires ``shipment_number`` and ``status``: the
  number must stay the one the shipment was first given, and a shipment shipped, delivering or
  delivered cannot go back to created or in_progress (both as the App Cycle says); it takes
  ``tracking_number``, ``tracking_link``, ``status_note``, ``pdf_label``, ``cost`` and
  ``external_company_name``. "A single API for both updating shipment and order status": shipped,
  delivering and delivered move the order to the order status of the same name.
* ``POST /shipments/{id}/cancel`` cancels a shipment not yet delivered.
* ``GET /shipping/companies`` lists the store's shipping companies (the reference's example list).

Every refusal is Salla's 422 ``alert.invalid_fields`` naming each failed field, in Arabic or, with
``Accept-Language: en``, English (the Arabic texts of courier_id and ship_to.name are the
reference's own). Webhooks (Shipments Webhook Events Model, the order envelope): ``shipment.created``
when one is made, ``shipment.updated`` when it changes, ``shipment.cancelled`` when it is cancelled;
the order's own ``order.updated`` follows whenever its status or update time moves.

A store is generated with the shipments of its orders that Salla would have shipped: one for each
order ``completed`` (created: Salla makes it when an order is completed), ``shipped``, ``delivering``
or ``delivered`` (the same status), with a tracking number; its id is its order's id less
``ID_SHIFT``, so nothing but the order is kept for it. Written and changed shipments keep their
content (:class:`ShipmentContent`) beside the store's records.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from mercator_sandbox.dataset import RecordState, ResourceSpec, Store, UnknownRecordError
from mercator_sandbox.facts import Catalog, OrderFacts
from mercator_sandbox.flavors.base import ApiError
from mercator_sandbox.flavors.salla_writes import Errors
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.templates import Template
from mercator_sandbox.writes import cents_of, is_integer

# Every status a Salla shipment shows: the reference's response enums (older and newer) together.
STATUSES: tuple[str, ...] = (
    "creating",
    "created",
    "pending",
    "in_progress",
    "in_transit",
    "received_at_final_hub",
    "to_be_reattempted",
    "reattempted",
    "unable_to_deliver",
    "delivering",
    "delivered",
    "partially_delivered",
    "shipped",
    "cancelled",
    "lost",
    "damaged",
    "return_to_origin",
    "return_in_progress",
    "returned",
)
# What Update Shipment Details accepts (its status enum): everything but Salla's own creating,
# pending and returned.
SETTABLE: frozenset[str] = frozenset(STATUSES) - {"creating", "pending", "returned"}
DISPATCHED = frozenset({"shipped", "delivering", "delivered"})
BEFORE_DISPATCH = frozenset({"created", "in_progress"})
# A pending shipment: the one Salla generates with an order, which overwrite_exists_pending replaces.
PENDING = frozenset({"creating", "pending"})
# Shipment statuses that move the order to the order status of the same name.
ORDER_STATUS_OF: Mapping[str, str] = {
    "shipped": "shipped",
    "delivering": "delivering",
    "delivered": "delivered",
}
# What the carrier reports, in Salla's words (Update Shipment Details' descriptions).
CARRIER_STATUS: Mapping[CarrierStatus, str] = {
    "in_transit": "in_transit",  # moving between hubs or facilities
    "out_for_delivery": "delivering",  # the courier is delivering it
    "delivered": "delivered",
    "failed": "unable_to_deliver",  # the courier could not complete the delivery
    "returned": "return_to_origin",  # being returned to the sender
}
# The shipment a generated order has, by the order's status slug.
GENERATED_FROM: Mapping[str, str] = {
    "completed": "created",
    "shipped": "shipped",
    "delivering": "delivering",
    "delivered": "delivered",
}
KINDS = ("shipment", "return")
PAYMENT_METHODS = ("cod", "pre_paid")
ID_SHIFT = 637_000_000  # a generated shipment's id is its order's id less this
# Mutation faults insert shipments with these statuses; generation follows the orders instead.
_WEIGHTS = {"created": 0.3, "shipped": 0.2, "delivering": 0.1, "delivered": 0.4}
SPEC = ResourceSpec(362_000_000, tuple(_WEIGHTS.get(status, 0.0) for status in STATUSES), 14 * 86400)
GENERATED_DELAY = 2 * 3600  # a generated shipment is made two hours after its order

TEMPLATES: Mapping[str, Template] = {
    "list": Template("salla/shipments_list.json", "data", 2),
    "details": Template("salla/shipment_details.json", "data"),
    "webhook": Template("salla/shipment_event_model.json", "data"),
}
# A package as the webhook model writes one, for views whose template has none.
PACKAGE_SHAPE: Mapping[str, Any] = {
    "item_id": None,
    "external_id": None,
    "name": "",
    "sku": "",
    "price": {"amount": 0, "currency": "SAR"},
    "quantity": 1,
    "weight": {"value": 0.25, "unit": "kg"},
}


@dataclass(frozen=True)
class Courier:
    """A shipping company of the store, as List Shipping Companies writes it."""

    id: int
    name: str
    app_id: str
    activation_type: str
    slug: str | None
    tracking: str | None = None  # the courier's tracking page, {} for the number
    aliases: tuple[str, ...] = ()

    def link(self, number: str) -> str | None:
        return self.tracking.format(number) if self.tracking else None

    def answers_to(self, carrier: str) -> bool:
        wanted = carrier.strip().lower()
        return wanted in {self.name.lower(), (self.slug or "").lower(), *self.aliases}

    def listed(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "app_id": self.app_id,
            "activation_type": self.activation_type,
            "slug": self.slug,
        }


# List Shipping Companies' example (ids, names, apps, slugs); the tracking pages are the couriers' own.
COURIERS: tuple[Courier, ...] = (
    Courier(
        1723506348,
        "سمسا",
        "1683195908",
        "manual",
        None,
        "https://www.smsaexpress.com/trackingdetails?tracknumbers={}",
        ("smsa", "smsa express"),
    ),
    Courier(
        989286562,
        "ارامكس",
        "1311345502",
        "manual",
        None,
        "https://www.aramex.com/track/results?ShipmentNumber={}",
        ("aramex",),
    ),
    Courier(
        2079537577,
        "البريد السعودي | سُبل",
        "88903443",
        "manual",
        None,
        "https://splonline.com.sa/en/shipmentdetailsstatic/?tid={}",
        ("spl", "saudi post", "subul"),
    ),
    Courier(
        814202285,
        "DHL Express",
        "827885927",
        "api",
        "dhl-express",
        "https://www.dhl.com/sa-en/home/tracking.html?tracking-id={}",
        ("dhl",),
    ),
    Courier(1130931637, "Ajeek", "1499493023", "api", "ajeek"),
    Courier(665151403, "أي مكان", "944213936", "manual", None),
    Courier(915304371, "UPS", "1218344689", "api", "ups", "https://www.ups.com/track?tracknum={}"),
    Courier(1764372897, "فتشر", "2099547131", "api", "fetcher"),
    Courier(1378987453, "mlcGO", "1720219575", "manual", None),
    Courier(349994915, "سلاسة", "456034465", "manual", None),
    Courier(1096243131, "Storage Station", "1353087977", "api", "storage-station"),
)
COURIER_BY_ID: Mapping[int, Courier] = {courier.id: courier for courier in COURIERS}
TRACKED: tuple[Courier, ...] = tuple(courier for courier in COURIERS if courier.tracking)
LOGO_HOST = "https://cdn.salla.sa/mercator/couriers"

# (rule key) -> (Arabic, English); {n} is an index into packages. The Arabic texts of courier_id,
# ship_to.name and courier_slug are the reference's own.
MESSAGES: Mapping[str, tuple[str, str]] = {
    "courier_id.required": ("حقل رقم الشركة مطلوب.", "The courier id field is required."),
    "courier_id.exists": ("رقم الشركة المختار غير صالح.", "The selected courier id is invalid."),
    "courier_slug.in": ("حقل ترميز الشركة يحتوي على قيم غير صحيحة", "The selected courier slug is invalid."),
    "order_id.required": ("حقل رقم الطلب مطلوب.", "The order id field is required."),
    "order_id.exists": ("رقم الطلب المختار غير صالح.", "The selected order id is invalid."),
    "shipment_id.required": (
        "حقل رقم الشحنة مطلوب عندما يكون نوع الشحنة إرجاع.",
        "The shipment id field is required when shipment type is return.",
    ),
    "shipment_id.exists": ("رقم الشحنة المختار غير صالح.", "The selected shipment id is invalid."),
    "shipment_type.required": ("حقل نوع الشحنة مطلوب.", "The shipment type field is required."),
    "shipment_type.in": ("نوع الشحنة المختار غير صالح.", "The selected shipment type is invalid."),
    "payment_method.required": ("حقل طريقة الدفع مطلوب.", "The payment method field is required."),
    "payment_method.in": ("طريقة الدفع المختارة غير صالحة.", "The selected payment method is invalid."),
    "cash_on_delivery.required": (
        "حقل مبلغ الدفع عند الاستلام مطلوب عندما تكون طريقة الدفع cod.",
        "The cash on delivery amount is required when payment method is cod.",
    ),
    "packages.required": ("حقل الطرود مطلوب.", "The packages field is required."),
    "packages.quantity": (
        "يجب أن تكون كمية الطرد {n} عددًا صحيحًا لا يقل عن 1.",
        "The packages.{n}.quantity must be an integer of at least 1.",
    ),
    "ship_to.name": ("حقل اسم المستلم مطلوب.", "The ship to name field is required."),
    "shipment_number.required": ("حقل رقم الشحنة مطلوب.", "The shipment number field is required."),
    "shipment_number.same": (
        "رقم الشحنة يجب أن يطابق الرقم المرسل أول مرة.",
        "The shipment number must match the one first sent for this shipment.",
    ),
    "status.required": ("حقل حالة الشحنة مطلوب.", "The status field is required."),
    "status.in": ("حالة الشحنة المختارة غير صالحة.", "The selected status is invalid."),
    "status.backwards": (
        "لا يمكن إرجاع حالة شحنة تم شحنها إلى تم الإنشاء أو قيد التنفيذ.",
        "A shipment that was shipped cannot go back to created or in_progress.",
    ),
    "status.final": (
        "لا يمكن إلغاء شحنة ملغاة أو تم توصيلها.",
        "A cancelled or delivered shipment cannot be cancelled.",
    ),
    "cost.integer": ("يجب أن تكون التكلفة عددًا صحيحًا.", "The cost must be an integer."),
    "text.string": ("يجب أن يكون الحقل نصًا.", "The {name} must be a string."),
}


class Host(Protocol):
    """What the shipments take from the Salla flavor: its date and money shapes, and its orders."""

    def date_object(self, epoch: int) -> dict[str, Any]: ...

    def money(self, cents: int) -> dict[str, Any]: ...

    def order_slugs(self) -> Sequence[str]:
        """The order statuses' slugs, by the index an order's status is."""
        ...

    def receiver(self, order: RecordState) -> dict[str, Any]:
        """The order's buyer and address, as a shipment's ``ship_to`` writes them."""
        ...

    def reference_id(self, order_id: int) -> int: ...

    def move_order(self, order_id: int, slug: str | None) -> None:
        """The order changed with its shipment: to the status ``slug`` (None: the same), updated now."""
        ...


@dataclass(frozen=True)
class Package:
    """One item a shipment carries."""

    name: str
    quantity: int
    sku: str = ""
    price_cents: int = 0
    item_id: int | None = None  # the order line's id
    external_id: str | None = None


@dataclass(frozen=True)
class ShipmentContent:
    """A shipment as Salla keeps it; its status is the record's (an index into STATUSES)."""

    order_id: int
    courier_id: int
    kind: str = "shipment"
    shipping_number: str | None = None
    tracking_number: str | None = None
    tracking_link: str | None = None
    external_company_name: str | None = None
    payment_method: str = "pre_paid"
    source: str = "dashboard"
    external_id: str | None = None
    external_additional_id: str | None = None
    cod_cents: int = 0
    cost_cents: int | None = None
    label_url: str | None = None
    status_note: str | None = None
    description: str | None = None
    remarks: str | None = None
    packages: tuple[Package, ...] | None = None  # None: the order's lines
    ship_to: Mapping[str, Any] = field(default_factory=dict)  # written over the order's receiver


class ShipmentErrors(Errors):
    def __init__(self, lang: int) -> None:
        super().__init__(lang, MESSAGES)


class SallaShipping:
    """The store's shipments: generated with it, written through the API, moved by the carrier."""

    def __init__(self, store: Store, catalog: Catalog, host: Host) -> None:
        self.store = store
        self.catalog = catalog
        self.host = host
        self.written: dict[int, ShipmentContent] = {}
        # The event a change fires instead of shipment.updated (a cancellation), while it is made.
        self.announcing: str | None = None
        self._ids = random.Random(f"{len(store.generated_ids('orders'))}:salla-shipments")

    # --- the store's shipments ------------------------------------------------------------------

    def generate(self) -> None:
        """Give every generated order that Salla would have shipped its shipment."""
        orders = self.store.table("orders")
        latest = int(self.store.time.anchor) - 1
        # By the order's status index: the shipment's (a million orders go through this loop).
        shipped = {
            index: STATUSES.index(GENERATED_FROM[slug])
            for index, slug in enumerate(self.host.order_slugs())
            if slug in GENERATED_FROM
        }
        states = []
        for order_id in self.store.generated_ids("orders"):
            order = orders.records[order_id]
            status = shipped.get(order.status)
            if status is None:
                continue
            created = min(order.created + GENERATED_DELAY, latest)
            states.append(
                RecordState(
                    order_id - ID_SHIFT, created, max(created, order.updated), order.variant ^ 0x5A11A, status
                )
            )
        self.store.table("shipments").load(states)

    def content(self, state: RecordState) -> ShipmentContent:
        """What the shipment is: as written or changed, else as its order makes it."""
        written = self.written.get(state.id)
        if written is not None:
            return written
        order_id = self._order_of(state)
        courier = TRACKED[state.variant % len(TRACKED)]
        number = f"{state.variant % 10**10:010d}"
        return ShipmentContent(
            order_id=order_id,
            courier_id=courier.id,
            shipping_number=number,
            tracking_number=number,
            tracking_link=courier.link(number),
            source="dashboard",
        )

    def _order_of(self, state: RecordState) -> int:
        guess = state.id + ID_SHIFT
        if self.store.lookup("orders", guess) is not None:
            return guess
        # A shipment the mutation faults made: any order of the store will do.
        generated = self.store.generated_ids("orders")
        return generated[state.variant % len(generated)] if generated else guess

    def status(self, state: RecordState) -> str:
        return STATUSES[state.status]

    def view(self, state: RecordState) -> ShipmentView:
        content = self.content(state)
        courier = COURIER_BY_ID[content.courier_id]
        return ShipmentView(
            id=state.id,
            order_id=content.order_id,
            status=self.status(state),
            carrier=content.external_company_name or courier.name,
            tracking_numbers=[content.tracking_number] if content.tracking_number else [],
            tracking_url=content.tracking_link,
        )

    def views(self, order_id: int | None = None) -> list[ShipmentView]:
        table = self.store.table("shipments")
        found = [self.view(table.records[i]) for i in sorted(table.records)]
        return [view for view in found if order_id is None or view["order_id"] == order_id]

    # --- the merchant and the carrier -----------------------------------------------------------

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None
    ) -> ShipmentView:
        """The merchant ships the order from the dashboard with the carrier's tracking number: the
        shipment is made shipped, the order moves to shipped."""
        if self.store.find("orders", order_id) is None:
            raise UnknownRecordError("orders", order_id)
        courier = next((c for c in COURIERS if c.answers_to(carrier)), COURIERS[0])
        content = ShipmentContent(
            order_id=order_id,
            courier_id=courier.id,
            shipping_number=tracking_number,
            tracking_number=tracking_number,
            tracking_link=tracking_url or courier.link(tracking_number),
            external_company_name=carrier,
            source="dashboard",
        )
        state = self._insert(content, "shipped")
        self.host.move_order(order_id, ORDER_STATUS_OF["shipped"])
        return self.view(state)

    def set_status(self, shipment_id: int, status: CarrierStatus) -> ShipmentView:
        """The carrier reports progress: the shipment's status set, its order moved with it."""
        state = self.store.get("shipments", shipment_id)
        self._move(state, CARRIER_STATUS[status])
        return self.view(state)

    # --- the API --------------------------------------------------------------------------------

    def matching(self, params: Mapping[str, str], lang: int) -> frozenset[int] | None:
        """The shipments List Shipments' filters keep; None when none is given."""
        errors = ShipmentErrors(lang)
        status, kind, slug = params.get("status"), params.get("shipment_type"), params.get("courier_slug")
        if status and status not in STATUSES:
            errors.add("status", "status.in")
        if kind and kind not in KINDS:
            errors.add("shipment_type", "shipment_type.in")
        slugs = {courier.slug: courier.id for courier in COURIERS if courier.slug}
        if slug and slug not in slugs:
            errors.add("courier_slug", "courier_slug.in")
        errors.raise_any()
        order_id = _whole(params, "order_id")
        courier_id = _whole(params, "courier_id")
        if slug:
            if courier_id is not None and courier_id != slugs[slug]:
                return frozenset()
            courier_id = slugs[slug]
        if not any((status, kind, order_id is not None, courier_id is not None)):
            return None
        table = self.store.table("shipments")
        candidates: list[int] = list(table.records)
        if order_id is not None:
            own = [i for i, content in self.written.items() if content.order_id == order_id]
            candidates = [i for i in {order_id - ID_SHIFT, *own} if i in table.records]
        kept = []
        for shipment_id in candidates:
            state = table.records[shipment_id]
            content = self.content(state)
            if (
                (order_id is None or content.order_id == order_id)
                and (courier_id is None or content.courier_id == courier_id)
                and (not status or self.status(state) == status)
                and (not kind or content.kind == kind)
            ):
                kept.append(shipment_id)
        return frozenset(kept)

    def create(self, fields: dict[str, Any], lang: int) -> RecordState:
        """Create Shipment: a new shipment, creating (or the order's pending one replaced)."""
        errors = ShipmentErrors(lang)
        courier_id, kind, method = (
            fields.get("courier_id"),
            fields.get("shipment_type"),
            fields.get("payment_method"),
        )
        if courier_id in (None, ""):
            errors.add("courier_id", "courier_id.required")
        elif not is_integer(courier_id) or courier_id not in COURIER_BY_ID:
            errors.add("courier_id", "courier_id.exists")
        if kind in (None, ""):
            errors.add("shipment_type", "shipment_type.required")
        elif kind not in KINDS:
            errors.add("shipment_type", "shipment_type.in")
        if method in (None, ""):
            errors.add("payment_method", "payment_method.required")
        elif method not in PAYMENT_METHODS:
            errors.add("payment_method", "payment_method.in")
        order_id = self._check_order(errors, fields, required=kind != "return")
        original = self._check_original(errors, fields, required=kind == "return")
        cod = fields.get("cash_on_delivery")
        cod_cents = _cod_cents(cod)
        if method == "cod" and cod_cents is None:
            errors.add("cash_on_delivery.amount", "cash_on_delivery.required")
        packages = _packages(errors, fields.get("packages"))
        ship_to = fields.get("ship_to")
        if ship_to is not None and (not isinstance(ship_to, dict) or not _text(ship_to.get("name"))):
            errors.add("ship_to.name", "ship_to.name")
        texts = _texts(
            errors,
            fields,
            ("external_id", "external_additional_id", "external_company_name", "description", "remarks"),
        )
        errors.raise_any()
        assert isinstance(courier_id, int) and isinstance(kind, str) and isinstance(method, str)
        if order_id is None and original is not None:
            order_id = self.content(original).order_id
        assert order_id is not None
        content = ShipmentContent(
            order_id=order_id,
            courier_id=courier_id,
            kind=kind,
            payment_method=method,
            source="api",
            cod_cents=cod_cents or 0,
            packages=self._matched(order_id, packages),
            ship_to={
                key: value for key, value in (ship_to or {}).items() if isinstance(value, str | int | float)
            },
            external_id=texts.get("external_id"),
            external_additional_id=texts.get("external_additional_id"),
            external_company_name=texts.get("external_company_name"),
            description=texts.get("description"),
            remarks=texts.get("remarks"),
        )
        if fields.get("overwrite_exists_pending") is True:
            for pending in self._pending(order_id, kind):
                self.store.delete("shipments", pending)
                self.written.pop(pending, None)
        return self._insert(content, "creating")

    def update(self, state: RecordState, fields: dict[str, Any], lang: int) -> RecordState:
        """Update Shipment Details: tracking and status (the order moved with it)."""
        errors = ShipmentErrors(lang)
        content = self.content(state)
        number, status = fields.get("shipment_number"), fields.get("status")
        if number in (None, ""):
            errors.add("shipment_number", "shipment_number.required")
        elif not isinstance(number, str | int) or isinstance(number, bool):
            errors.add("shipment_number", "text.string", name="shipment number")
        elif content.shipping_number is not None and str(number) != content.shipping_number:
            errors.add("shipment_number", "shipment_number.same")
        current = self.status(state)
        if status in (None, ""):
            errors.add("status", "status.required")
        elif status not in SETTABLE:
            errors.add("status", "status.in")
        elif current in DISPATCHED and status in BEFORE_DISPATCH:
            errors.add("status", "status.backwards")
        cost = fields.get("cost")
        if cost is not None and not is_integer(cost):
            errors.add("cost", "cost.integer")
        texts = _texts(
            errors,
            fields,
            ("tracking_number", "tracking_link", "status_note", "pdf_label", "external_company_name"),
        )
        errors.raise_any()
        changes: dict[str, Any] = {"shipping_number": str(number)}
        for name, value in texts.items():
            changes["label_url" if name == "pdf_label" else name] = value
        if cost is not None:
            changes["cost_cents"] = cost * 100
        self.written[state.id] = dataclasses.replace(content, **changes)
        return self._move(state, str(status))

    def cancel(self, state: RecordState, lang: int) -> RecordState:
        """Cancel Shipment: a shipment not yet delivered (nor cancelled already) is cancelled."""
        if self.status(state) in ("cancelled", "delivered"):
            errors = ShipmentErrors(lang)
            errors.add("status", "status.final")
            errors.raise_any()
        return self._move(state, "cancelled")

    @staticmethod
    def companies() -> list[dict[str, Any]]:
        return [courier.listed() for courier in COURIERS]

    # --- changes --------------------------------------------------------------------------------

    def _insert(self, content: ShipmentContent, status: str) -> RecordState:
        # The id is known before the record exists, so the created webhook renders its content.
        table = self.store.table("shipments")
        shipment_id = table.max_id + self._ids.randint(2, 40)
        self.written[shipment_id] = content
        return self.store.insert("shipments", record_id=shipment_id, status=STATUSES.index(status))

    def _move(self, state: RecordState, status: str) -> RecordState:
        """The shipment moves to ``status`` now (its webhook sent), then its order with it."""
        cancelling = status == "cancelled" and self.status(state) != "cancelled"
        state.status = STATUSES.index(status)
        with self._announce("shipment.cancelled" if cancelling else None):
            self.store.touch("shipments", state.id)
        self.host.move_order(self.content(state).order_id, ORDER_STATUS_OF.get(status))
        return state

    @contextmanager
    def _announce(self, event: str | None) -> Iterator[None]:
        self.announcing = event
        try:
            yield
        finally:
            self.announcing = None

    def _pending(self, order_id: int, kind: str) -> list[int]:
        table = self.store.table("shipments")
        own = [i for i, content in self.written.items() if content.order_id == order_id]
        return [
            i
            for i in sorted({order_id - ID_SHIFT, *own})
            if i in table.records
            and self.content(table.records[i]).order_id == order_id
            and self.content(table.records[i]).kind == kind
            and self.status(table.records[i]) in PENDING
        ]

    def _check_order(self, errors: Errors, fields: dict[str, Any], *, required: bool) -> int | None:
        raw = fields.get("order_id")
        if raw in (None, ""):
            if required:
                errors.add("order_id", "order_id.required")
            return None
        if not is_integer(raw) or self.store.find("orders", raw) is None:
            errors.add("order_id", "order_id.exists")
            return None
        return int(raw)

    def _check_original(
        self, errors: Errors, fields: dict[str, Any], *, required: bool
    ) -> RecordState | None:
        raw = fields.get("shipment_id")
        if raw in (None, ""):
            if required:
                errors.add("shipment_id", "shipment_id.required")
            return None
        state = self.store.find("shipments", raw) if is_integer(raw) else None
        if state is None:
            errors.add("shipment_id", "shipment_id.exists")
        return state

    def _matched(self, order_id: int, packages: tuple[Package, ...]) -> tuple[Package, ...]:
        """Packages tied to the order's lines by SKU, as Salla answers them with each line's id."""
        facts = self._facts(order_id)
        lines = {line.product.sku: line for line in facts.lines} if facts else {}
        matched = []
        for package in packages:
            line = lines.get(package.sku)
            if line is None:
                matched.append(package)
                continue
            matched.append(
                dataclasses.replace(
                    package,
                    item_id=line.line_id,
                    name=package.name or line.product.title,
                    price_cents=package.price_cents or line.unit_cents,
                )
            )
        return tuple(matched)

    # --- views ----------------------------------------------------------------------------------

    def render(self, state: RecordState, view: str) -> dict[str, Any]:
        content = self.content(state)
        courier = COURIER_BY_ID[content.courier_id]
        order = self.store.lookup("orders", content.order_id)
        facts = self._facts(content.order_id)
        record = TEMPLATES[view].fresh()
        record.update(
            {
                "id": state.id,
                "order_id": content.order_id,
                "order_reference_id": self.host.reference_id(content.order_id),
                # Create, Update and Details answer it and the webhooks carry it; the docs' list
                # example predates it (find matches a written shipment by it).
                "reference": {
                    "external_id": content.external_id,
                    "external_additional_id": content.external_additional_id,
                },
                "created_at": self.host.date_object(state.created),
                "type": content.kind,
                "courier_id": courier.id,
                "courier_name": courier.name,
                "courier_logo": f"{LOGO_HOST}/{courier.id}.png",
                # In every view since Salla's changelog 2.0.7 (09-01-2025).
                "external_company_name": content.external_company_name,
                "shipping_number": content.shipping_number,
                "tracking_number": content.tracking_number,
                "pickup_id": None,
                "trackable": content.tracking_number is not None,
                "tracking_link": content.tracking_link,
                "label": {"format": "pdf", "url": content.label_url} if content.label_url else [],
                "payment_method": content.payment_method,
                "source": content.source,
                "status": self.status(state),
            }
        )
        shipping = (
            content.cost_cents if content.cost_cents is not None else (facts.shipping_cents if facts else 0)
        )
        record["total"] = self._money_like(record.get("total"), shipping)
        record["cash_on_delivery"] = self._money_like(record.get("cash_on_delivery"), content.cod_cents)
        for key in ("description", "remarks"):
            if key in record:
                record[key] = getattr(content, key)
        record["packages"] = self._packages(record.get("packages"), content, facts)
        ship_to = dict(record.get("ship_to") or {})
        if order is not None:
            ship_to.update({key: value for key, value in self.host.receiver(order).items() if key in ship_to})
        ship_to.update(
            {key: value for key, value in content.ship_to.items() if key in ship_to or key == "name"}
        )
        record["ship_to"] = ship_to
        if isinstance(record.get("ship_from"), dict) and "country_code" in record["ship_from"]:
            # The store ships from its Saudi branch (the docs' example branch is coded KW).
            record["ship_from"]["country_code"] = "SA"
        return record

    def _packages(
        self, template: Any, content: ShipmentContent, facts: OrderFacts | None
    ) -> list[dict[str, Any]]:
        shape = dict(template[0]) if isinstance(template, list) and template else dict(PACKAGE_SHAPE)
        # Every view names the order line a package is (the list and details examples leave it out).
        shape.setdefault("item_id", None)
        shape.setdefault("external_id", None)
        if content.packages is not None:
            packages = content.packages
        elif facts is not None:
            packages = tuple(
                Package(line.product.title, line.quantity, line.product.sku, line.unit_cents, line.line_id)
                for line in facts.lines
            )
        else:
            packages = ()
        rendered = []
        for package in packages:
            item = dict(shape)
            item.update(
                {
                    "item_id": package.item_id,
                    "external_id": package.external_id,
                    "name": package.name,
                    "sku": package.sku,
                    "price": self._money_like(shape.get("price"), package.price_cents),
                    "quantity": package.quantity,
                }
            )
            weight = shape.get("weight")
            if isinstance(weight, dict):
                value = 0.25 * package.quantity
                item["weight"] = {
                    **weight,
                    "value": f"{value:.2f}" if isinstance(weight.get("value"), str) else value,
                }
            rendered.append(item)
        return rendered

    def _money_like(self, template: Any, cents: int) -> dict[str, Any]:
        """Money as the template writes it: Salla's lists write amounts as text ("10.70")."""
        money = self.host.money(cents)
        if isinstance(template, dict) and isinstance(template.get("amount"), str):
            money["amount"] = f"{cents // 100}.{cents % 100:02d}"
        return money

    def _facts(self, order_id: int) -> OrderFacts | None:
        order = self.store.lookup("orders", order_id)
        return self.catalog.order(order.variant, placed=order.created) if order is not None else None


def _whole(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number, got {raw!r}", param=name) from None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _texts(errors: Errors, fields: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    """The text fields given (numbers taken as their text); anything else is refused."""
    found: dict[str, str] = {}
    for name in names:
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            errors.add(name, "text.string", name=name.replace("_", " "))
        elif str(value).strip():
            found[name] = str(value).strip()
    return found


def _cod_cents(cod: Any) -> int | None:
    if not isinstance(cod, dict) or cod.get("amount") in (None, ""):
        return None
    try:
        return cents_of(cod["amount"])
    except ValueError:
        return None


def _packages(errors: Errors, raw: Any) -> tuple[Package, ...]:
    if not isinstance(raw, list) or not raw:
        errors.add("packages", "packages.required")
        return ()
    packages = []
    for index, item in enumerate(raw):
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or not isinstance(quantity, int)
            or not is_integer(quantity)
            or quantity < 1
        ):
            errors.add(f"packages.{index}.quantity", "packages.quantity", n=index)
            continue
        price = item.get("price")
        amount = price.get("amount") if isinstance(price, dict) else price
        try:
            price_cents = cents_of(amount) if amount not in (None, "") else 0
        except ValueError:
            price_cents = 0
        external = item.get("external_id")
        packages.append(
            Package(
                name=str(item.get("name") or ""),
                quantity=quantity,
                sku=str(item.get("sku") or ""),
                price_cents=price_cents,
                external_id=None if external in (None, "") else str(external),
            )
        )
    return tuple(packages)
