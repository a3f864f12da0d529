"""Shopify (Admin REST API 2025-01): ``/admin/api/2025-01`` orders, products, customers, checkouts.

Lists answer ``{"orders": [...]}`` (``products``, ``customers``, ``checkouts``), ordered by id, at
most ``limit`` records (50 by default; more than 250 is cut to 250). Pagination is a keyset cursor
in the ``Link`` header, exactly as Shopify sends it: ``<URL?limit=50&page_info=...>; rel="next"``
(and ``rel="previous"``), built on the request's own base URL, with no next link on the last page.
``page_info`` is opaque (URL-safe base64 of the last id, the direction and the filters of the first
request); a request with ``page_info`` may carry only ``limit`` and ``fields`` besides, anything
else is a 400, as on Shopify. Filters: ``since_id``, ``created_at_min/max``, ``updated_at_min/max``
(ISO 8601; a time without an offset is read in the shop's zone), orders' ``status``
(``open`` by default, ``closed``, ``cancelled``, ``any``) and products' ``status`` (a comma list).
Details: ``/orders/{id}.json`` answers ``{"order": {...}}`` (products and customers alike);
abandoned checkouts have no details endpoint on Shopify, so none here either. A deleted record's
details answer 404 ``{"errors": "Not Found"}``.

Events: ``/events.json`` answers ``{"events": [...]}``, the shop's log (``shopify_events.py``): a
``destroy`` event for every deletion of a product, an order or a customer, ``create`` / ``confirmed``
for new products and orders, stamped with the store's time. Filters: ``filter`` (subject types,
comma-separated: ``Product,Order,Customer``), ``verb``, ``since_id``, ``created_at_min/max``; paged by
id with ``limit`` and the same ``Link`` / ``page_info`` cursors as the other lists (the filters travel
inside ``page_info``).

Products are written as in the REST Admin API (details in ``shopify_writes.py``): ``POST
/products.json`` ``{"product": {title, body_html, vendor, product_type, handle, status, tags,
images: [{src}], variants: [{option1, sku, price, compare_at_price, inventory_management,
inventory_policy}]}}`` answers 201 ``{"product": {...}}``; ``PUT /products/{id}.json`` answers 200
(variants with an ``id`` are updated in place, others matched on ``option1`` or added, variants left
out deleted; ``images`` replace the images). Every variant has an ``inventory_item_id``; stock is set
with ``POST /inventory_levels/set.json`` ``{location_id, inventory_item_id, available}`` (200
``{"inventory_level": {...}}``) at the shop's one location (``GET /locations.json``), and shows as
the variant's ``inventory_quantity``, which bodies cannot set. Refusals: 400 ``{"errors": {"product":
"Required parameter missing or invalid"}}`` without a ``product`` object; 422 ``{"errors": {"title":
["can't be blank"]}}`` and the like (``status``, ``handle`` taken, ``variants.price``). The product
list also filters on ``ids``, ``handle`` (comma lists), ``title``, ``vendor`` and ``product_type``.

Fulfillments (``shopify_fulfillments.py``): every order lists its ``fulfillments`` and has one
fulfillment order (``GET /orders/{id}/fulfillment_orders.json``); ``POST /fulfillments.json`` ships
units of it with tracking, ``POST /fulfillments/{id}/update_tracking.json`` changes the tracking,
``POST /orders/{order_id}/fulfillments/{id}/events.json`` records a carrier's event (its status
becomes the fulfillment's ``shipment_status``); ``GET /orders/{id}/fulfillments.json`` and ``GET
/orders/{order_id}/fulfillments/{id}.json`` read them. Each change fires fulfillments/create or
fulfillments/update (and fulfillment_events/create for an event), then orders/updated.

Credentials: any ``X-Shopify-Access-Token``. Rate limit: a leaky bucket (40, leaking 2 a second
by default); every answer carries ``X-Shopify-Shop-Api-Call-Limit: n/40``; a refusal is a 429 with
``Retry-After: 2.0``. Webhooks carry the REST object (``{"id": N}`` for deletions), signed with a
base64 HMAC-SHA256 in ``X-Shopify-Hmac-SHA256``; carts/* deliveries carry the storefront cart of a
checkout.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from starlette.requests import Request

from mercator_sandbox.dataset import (
    Change,
    ChangeKind,
    Query,
    RecordState,
    ResourceSpec,
    Store,
    UnknownRecordError,
    Window,
)
from mercator_sandbox.facts import Line, OrderFacts, Person, money
from mercator_sandbox.flavors.base import (
    Answer,
    ApiError,
    DeliveryContext,
    Endpoint,
    Flavor,
    View,
    json_object,
    moment,
    origin_of,
    whole_number,
)
from mercator_sandbox.flavors.shopify_events import EventLog
from mercator_sandbox.flavors.shopify_fulfillments import (
    CARRIER_EVENTS,
    Fulfillment,
    FulfillmentEvent,
    ShopifyFulfillments,
    event_fields,
    tracking_of,
)
from mercator_sandbox.flavors.shopify_writes import (
    INVENTORY_ITEM_OFFSET,
    LOCATION_ID,
    MISSING,
    PRODUCT_STATUSES,
    SHOP_ID,
    ShopifyProductWriter,
)
from mercator_sandbox.mutations import ServedPage
from mercator_sandbox.ratelimit import Admission, RateLimitConfig
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.templates import Template
from mercator_sandbox.writes import ProductView, WrittenImage, WrittenProduct, WrittenVariant, decimal_of

API_VERSION = "2025-01"
SHOP_ZONE = ZoneInfo("America/New_York")
CURRENCY = "USD"
SHOP = "mercator-sandbox"
SHOP_DOMAIN = f"{SHOP}.myshopify.com"
ORDER_NUMBER_BASE = 1000  # an order's name is #(base + a slice of its id), as a shop's first is #1001

# (state, financial_status, fulfillment_status): state is what the orders `status` filter reads.
ORDER_STATUSES: tuple[tuple[str, str, str | None], ...] = (
    ("open", "paid", None),
    ("open", "pending", None),
    ("open", "authorized", None),
    ("open", "paid", "partial"),
    ("closed", "paid", "fulfilled"),
    ("cancelled", "refunded", None),
    ("cancelled", "voided", None),
)
ORDER_STATES = ("open", "closed", "cancelled")
GATEWAYS = ("shopify_payments", "paypal", "manual", "gift_card")
CONSENT = ("subscribed", "not_subscribed", "unsubscribed", "pending")
SIZES = ("Small", "Medium", "Large")
# (address1, city, province, province_code, zip, country, country_code)
ADDRESSES: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("123 Elm St.", "Ottawa", "Ontario", "ON", "K2H7A8", "Canada", "CA"),
    ("92 Chestnut Street", "Louisville", "Kentucky", "KY", "40202", "United States", "US"),
    ("5 Market Street", "San Francisco", "California", "CA", "94103", "United States", "US"),
    ("17 Harbour Road", "Toronto", "Ontario", "ON", "M5V2T6", "Canada", "CA"),
    ("400 Broadway", "New York", "New York", "NY", "10013", "United States", "US"),
)

TEMPLATES: Mapping[str, Template] = {
    # The orders/create sample is the full 2025-01 order (the REST object, line items included);
    # the orders list fixture is an older, line-less shape.
    "orders": Template("shopify/orders_create.json"),
    "order_line": Template("shopify/orders_create.json", "line_items", 0),
    "products": Template("shopify/products_list.json", "products", 0),
    "customers": Template("shopify/customers_list.json", "customers", 0),
    "carts": Template("shopify/abandoned_checkouts_list.json", "checkouts", 0),
    "cart_webhook": Template("shopify/carts_update.json"),
}
ENVELOPES = {"orders": "orders", "products": "products", "customers": "customers", "carts": "checkouts"}
SINGULAR = {"orders": "order", "products": "product", "customers": "customer"}

EVENTS: Mapping[str, Mapping[ChangeKind, str]] = {
    "orders": {"created": "orders/create", "updated": "orders/updated", "deleted": "orders/delete"},
    "products": {"created": "products/create", "updated": "products/update", "deleted": "products/delete"},
    "customers": {
        "created": "customers/create",
        "updated": "customers/update",
        "deleted": "customers/delete",
    },
    # A checkout's cart fires carts/*; Shopify sends no event when a checkout goes away.
    "carts": {"created": "carts/create", "updated": "carts/update"},
}
EXTRA_EVENTS: Mapping[str, tuple[str, ...]] = {"orders": ("orders/paid", "orders/cancelled")}
DELETE_EVENTS = frozenset({"orders/delete", "products/delete", "customers/delete"})
# Deliveries of a fulfillment's changes: queued as they happen, never for a bare order.
FULFILLMENT_TOPICS = ("fulfillments/create", "fulfillments/update", "fulfillment_events/create")
FULFILLMENT_READS = frozenset({"fulfillment_orders", "order_fulfillments", "order_fulfillment"})
FULFILLMENT_WRITES = frozenset({"create_fulfillment", "update_tracking", "fulfillment_event"})
# A paid order's status as its fulfillment moves (Shopify archives a paid order once fulfilled).
PAID_BY_FULFILLMENT: Mapping[str | None, int] = {
    fulfilled: ORDER_STATUSES.index((state, "paid", fulfilled))
    for state, fulfilled in (("open", None), ("open", "partial"), ("closed", "fulfilled"))
}

FILTERS = (
    "since_id",
    "created_at_min",
    "created_at_max",
    "updated_at_min",
    "updated_at_max",
    "status",
    "ids",
)
# Product lists also filter on content (exact values; handle and ids take comma lists).
PRODUCT_FILTERS = ("handle", "title", "vendor", "product_type")
# The Event resource's filters: ``filter`` is a comma list of subject types (Product, Order, ...).
EVENT_FILTERS = ("since_id", "created_at_min", "created_at_max", "filter", "verb")
WITH_PAGE_INFO = frozenset({"limit", "page_info", "fields"})
# The shop's one location, as a fulfillment order names the location assigned to it.
ASSIGNED_LOCATION: Mapping[str, Any] = {
    "address1": "5 Market Street",
    "address2": None,
    "city": "San Francisco",
    "country_code": "US",
    "location_id": LOCATION_ID,
    "name": "Mercator Sandbox Warehouse",
    "phone": None,
    "province": "California",
    "zip": "94103",
}


def shop_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, SHOP_ZONE).isoformat()


def money_set(cents: int) -> dict[str, Any]:
    value = {"amount": money(cents), "currency_code": CURRENCY}
    return {"shop_money": value, "presentment_money": dict(value)}


class Shopify(Flavor):
    name = "shopify"
    prefix = f"/admin/api/{API_VERSION}"
    endpoints = (
        Endpoint("orders", "list", "/orders.json"),
        Endpoint("orders", "details", "/orders/{id}.json"),
        Endpoint("products", "list", "/products.json"),
        Endpoint("products", "write", "/products.json", "POST", action="create"),
        Endpoint("products", "details", "/products/{id}.json"),
        Endpoint("products", "write", "/products/{id}.json", "PUT", action="update"),
        Endpoint("locations", "read", "/locations.json", action="locations"),
        Endpoint("shop", "read", "/shop.json", action="shop"),
        Endpoint("inventory_levels", "write", "/inventory_levels/set.json", "POST", action="set_inventory"),
        Endpoint("customers", "list", "/customers.json"),
        Endpoint("customers", "details", "/customers/{id}.json"),
        Endpoint("carts", "list", "/checkouts.json"),
        Endpoint("events", "list", "/events.json"),
        Endpoint(
            "fulfillment_orders", "read", "/orders/{id}/fulfillment_orders.json", action="fulfillment_orders"
        ),
        Endpoint("fulfillments", "read", "/orders/{id}/fulfillments.json", action="order_fulfillments"),
        Endpoint(
            "fulfillments", "read", "/orders/{order_id}/fulfillments/{id}.json", action="order_fulfillment"
        ),
        Endpoint("fulfillments", "write", "/fulfillments.json", "POST", action="create_fulfillment"),
        Endpoint(
            "fulfillments",
            "write",
            "/fulfillments/{id}/update_tracking.json",
            "POST",
            action="update_tracking",
        ),
        Endpoint(
            "fulfillment_events",
            "write",
            "/orders/{order_id}/fulfillments/{id}/events.json",
            "POST",
            action="fulfillment_event",
        ),
    )
    specs: ClassVar[Mapping[str, ResourceSpec]] = {
        "orders": ResourceSpec(5_900_000_000_000, (0.35, 0.1, 0.05, 0.05, 0.35, 0.05, 0.05)),
        "products": ResourceSpec(7_700_000_000_000, (0.85, 0.1, 0.05), max_update_delay=60 * 86400),
        "customers": ResourceSpec(6_800_000_000_000, max_update_delay=30 * 86400),
        "carts": ResourceSpec(3_300_000_000_000, max_update_delay=86400),
    }
    platform_rate_limit = RateLimitConfig(rate=2, burst=40)
    default_max_per_page = 250
    credentials_hint = "any access token: X-Shopify-Access-Token: <token>"
    sample_headers: ClassVar[dict[str, str]] = {"X-Shopify-Access-Token": "shpat_sandbox"}
    default_limit = 50

    def __init__(self, store: Store, *, max_per_page: int | None = None) -> None:
        super().__init__(store, max_per_page=max_per_page)
        self.event_log = EventLog(SHOP_DOMAIN)
        self.writer = ShopifyProductWriter(store, self._content)
        self.fulfillments = ShopifyFulfillments(
            store, self, shop_id=SHOP_ID, location_id=LOCATION_ID, location=ASSIGNED_LOCATION
        )
        # The fulfillment change the order's next change announces (see announce).
        self._announcing: tuple[str, Fulfillment | FulfillmentEvent] | None = None
        store.subscribe(self._log_change)

    def _log_change(self, change: Change) -> None:
        """Every change the shop logs goes into the Event log at the store's present."""
        if not self.event_log.logs(change.resource, change.kind):
            return
        self.event_log.record(
            change.resource,
            change.kind,
            change.id,
            self._labels(change.resource, change.state),
            self.store.time.now_seconds(),
        )

    def _labels(self, resource: str, state: RecordState) -> tuple[str, ...]:
        """How the shop names a record in its log: a product's title, an order's name and buyer, a
        customer's name."""
        if resource == "products":
            return (self._content(state).name,)
        if resource == "orders":
            facts = self.catalog.order(state.variant, placed=state.created, guest_share=0.1)
            return (f"#{ORDER_NUMBER_BASE + state.id % 10_000_000}", facts.customer.name)
        if resource == "customers":
            return (self.catalog.customer(state.id).name,)
        return ()

    # --- requests -------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> bool:
        return bool(request.headers.get("x-shopify-access-token", "").strip())

    def access_token(self, headers: Mapping[str, str]) -> str | None:
        value = next(
            (value for name, value in headers.items() if name.lower() == "x-shopify-access-token"), ""
        )
        return value.strip() or None

    def list_page(self, request: Request, endpoint: Endpoint) -> Answer:
        if endpoint.resource == "events":
            return self._events_page(request, endpoint)
        params = request.query_params
        allowed = FILTERS + PRODUCT_FILTERS if endpoint.resource == "products" else FILTERS
        limit, direction, cursor_id, filters = self._paging(params, allowed)
        query = self._query(endpoint.resource, filters)
        listing = self.store.select(endpoint.resource, query)
        start, stop = self._slice(listing, direction, cursor_id, limit)
        ids = listing[start:stop]
        records = [
            self.render(endpoint.resource, self.store.get(endpoint.resource, i), "list", origin_of(request))
            for i in ids
        ]
        body = {ENVELOPES[endpoint.resource]: self._project(records, params.get("fields"))}
        headers = self._links(
            request,
            endpoint,
            limit,
            ids,
            more_before=start > 0,
            more_after=stop < len(listing),
            filters=filters,
        )
        return Answer(body, headers=headers, page=ServedPage(endpoint.resource, query, stop, len(ids)))

    def _events_page(self, request: Request, endpoint: Endpoint) -> Answer:
        """``GET /events.json``: the shop's event log, by id, with Shopify's filters and cursors."""
        params = request.query_params
        limit, direction, cursor_id, filters = self._paging(params, EVENT_FILTERS)
        since = filters.get("since_id")
        try:
            since_id = int(since) if since is not None else None
        except ValueError:
            raise ApiError(400, f"since_id must be a whole number, got {since!r}", param="since_id") from None
        subject_types = filters.get("filter")
        events = self.event_log.select(
            since_id=since_id,
            created_min=moment(filters, "created_at_min", SHOP_ZONE),
            created_max=moment(filters, "created_at_max", SHOP_ZONE),
            subject_types=[part.strip() for part in subject_types.split(",")] if subject_types else None,
            verb=filters.get("verb"),
        )
        listing = [event.id for event in events]
        start, stop = self._slice(listing, direction, cursor_id, limit)
        page = events[start:stop]
        ids = listing[start:stop]
        records = [event.as_json(SHOP_ZONE) for event in page]
        body = {"events": self._project(records, params.get("fields"))}
        return Answer(
            body,
            headers=self._links(
                request,
                endpoint,
                limit,
                ids,
                more_before=start > 0,
                more_after=stop < len(listing),
                filters=filters,
            ),
        )

    def _paging(
        self, params: Mapping[str, str], allowed: tuple[str, ...]
    ) -> tuple[int, str, int | None, dict[str, str]]:
        """``limit``, the cursor's direction and last id (None on a first page) and the filters.

        A first page takes its filters from the query; later pages carry them inside ``page_info``,
        which may travel with ``limit`` and ``fields`` only, as on Shopify.
        """
        limit = min(whole_number(params, "limit", self.default_limit), self.max_per_page)
        raw_cursor = params.get("page_info")
        if raw_cursor is None:
            return limit, "next", None, {name: params[name] for name in allowed if params.get(name)}
        extra = sorted(set(params.keys()) - WITH_PAGE_INFO)
        if extra:
            raise ApiError(
                400,
                f"page_info cannot be combined with other parameters ({', '.join(extra)}); "
                "only limit and fields may be sent with it",
                param="page_info",
            )
        direction, cursor_id, filters = self._decode(raw_cursor, allowed)
        return limit, direction, cursor_id, filters

    @staticmethod
    def _slice(listing: Sequence[int], direction: str, cursor_id: int | None, limit: int) -> tuple[int, int]:
        """Where the page falls in an id-ordered listing: after the cursor, or just before it."""
        if cursor_id is None:
            return 0, min(limit, len(listing))
        if direction == "next":
            start = bisect.bisect_right(listing, cursor_id)
            return start, min(start + limit, len(listing))
        stop = bisect.bisect_left(listing, cursor_id)
        return max(0, stop - limit), stop

    def _project(self, records: list[dict[str, Any]], raw_fields: str | None) -> list[dict[str, Any]]:
        fields = self._fields(raw_fields)
        if not fields:
            return records
        return [{key: record[key] for key in fields if key in record} for record in records]

    def _links(
        self,
        request: Request,
        endpoint: Endpoint,
        limit: int,
        ids: Sequence[int],
        *,
        more_before: bool,
        more_after: bool,
        filters: Mapping[str, str],
    ) -> dict[str, str]:
        """The ``Link`` header of a page, or no header on a lone page."""
        params = request.query_params
        # Shopify's cursor URLs carry limit and page_info only (and fields, which may go with them).
        base = f"{origin_of(request)}{self.prefix}{endpoint.path}?limit={limit}&page_info="
        suffix = f"&fields={params['fields']}" if params.get("fields") else ""
        links = []
        if ids and more_before:
            links.append(f'<{base}{self._encode("prev", ids[0], filters)}{suffix}>; rel="previous"')
        if ids and more_after:
            links.append(f'<{base}{self._encode("next", ids[-1], filters)}{suffix}>; rel="next"')
        return {"Link": ", ".join(links)} if links else {}

    def _query(self, resource: str, filters: Mapping[str, str]) -> Query:
        windows: list[Window] = []
        since = filters.get("since_id")
        if since is not None:
            try:
                windows.append(Window("id", lo=int(since) + 1))
            except ValueError:
                raise ApiError(
                    400, f"since_id must be a whole number, got {since!r}", param="since_id"
                ) from None
        for name, field_name in (("created_at", "created"), ("updated_at", "updated")):
            lo = moment(filters, f"{name}_min", SHOP_ZONE)
            hi = moment(filters, f"{name}_max", SHOP_ZONE)
            if lo is not None or hi is not None:
                windows.append(Window(field_name, lo, hi))
        return Query(
            order="id",
            windows=tuple(windows),
            statuses=self._statuses(resource, filters.get("status")),
            ids=self._content_filter(resource, filters),
        )

    def _content_filter(self, resource: str, filters: Mapping[str, str]) -> frozenset[int] | None:
        """The ids the ``ids`` filter and (on products) the content filters leave; None if none given."""
        chosen: frozenset[int] | None = None
        if filters.get("ids"):
            try:
                chosen = frozenset(int(part) for part in filters["ids"].split(",") if part.strip())
            except ValueError:
                raise ApiError(400, "ids must be a comma-separated list of ids", param="ids") from None
        if resource != "products" or not any(filters.get(name) for name in PRODUCT_FILTERS):
            return chosen
        handles = {part.strip() for part in filters.get("handle", "").split(",") if part.strip()}
        exact = {name: filters[name] for name in ("title", "vendor", "product_type") if filters.get(name)}

        def matches(state: RecordState) -> bool:
            content = self._content(state)
            values = {"title": content.name, "vendor": content.vendor, "product_type": content.product_type}
            if handles and content.handle not in handles:
                return False
            return all(values[name] == value for name, value in exact.items())

        matching = self.product_ids(matches)
        return matching if chosen is None else chosen & matching

    @staticmethod
    def _statuses(resource: str, raw: str | None) -> frozenset[int] | None:
        if resource == "orders":
            state = raw or "open"
            if state == "any":
                return None
            if state not in ORDER_STATES:
                raise ApiError(
                    400, f"status must be one of open, closed, cancelled, any; got {state!r}", param="status"
                )
            return frozenset(i for i, (name, _, _) in enumerate(ORDER_STATUSES) if name == state)
        if resource == "products" and raw:
            wanted = [part.strip() for part in raw.split(",") if part.strip()]
            unknown = [part for part in wanted if part not in PRODUCT_STATUSES]
            if unknown:
                raise ApiError(
                    400, f"status must be among active, archived, draft; got {raw!r}", param="status"
                )
            return frozenset(PRODUCT_STATUSES.index(part) for part in wanted)
        return None

    @staticmethod
    def _fields(raw: str | None) -> list[str]:
        return [part.strip() for part in raw.split(",") if part.strip()] if raw else []

    @staticmethod
    def _encode(direction: str, record_id: int, filters: Mapping[str, str]) -> str:
        raw = json.dumps(
            {"direction": direction, "last_id": record_id, "filters": dict(filters)}, separators=(",", ":")
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def _decode(token: str, allowed: tuple[str, ...]) -> tuple[str, int, dict[str, str]]:
        invalid = ApiError(400, "Invalid value.", param="page_info")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            cursor = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise invalid from None
        if not isinstance(cursor, dict):
            raise invalid
        direction, record_id, filters = cursor.get("direction"), cursor.get("last_id"), cursor.get("filters")
        if (
            direction not in ("next", "prev")
            or not isinstance(record_id, int)
            or not isinstance(filters, dict)
        ):
            raise invalid
        if not all(key in allowed and isinstance(value, str) for key, value in filters.items()):
            raise invalid
        return str(direction), record_id, {str(key): str(value) for key, value in filters.items()}

    def write(self, request: Request, endpoint: Endpoint, body: bytes) -> Answer:
        """Product create (201) and update (200), ``{"product": {...}}``; inventory set (200);
        fulfillment create (201), tracking update (200) and event (201)."""
        if endpoint.action in FULFILLMENT_WRITES:
            return self._fulfillment_write(request, endpoint, body)
        missing = ApiError(400, MISSING, param="product")
        fields = json_object(body, missing)
        if endpoint.action == "set_inventory":
            state, content, available = self.writer.set_inventory(fields)
            self.store.write("products", state.id, content)
            level = {
                "inventory_item_id": fields["inventory_item_id"],
                "location_id": LOCATION_ID,
                "available": available,
                "updated_at": shop_time(self.store.time.now_seconds()),
                "admin_graphql_api_id": (
                    f"gid://shopify/InventoryLevel/{LOCATION_ID}?inventory_item_id={fields['inventory_item_id']}"
                ),
            }
            return Answer({"inventory_level": level})
        product = fields.get("product")
        if not isinstance(product, dict):
            raise missing
        if endpoint.action == "create":
            content, status = self.writer.create(product)
            state = self.store.insert("products", status=status, written=content)
            return Answer({"product": self._product(state)}, 201)
        state = self.find("products", request.path_params["id"])
        content, status = self.writer.update(state, product)
        state = self.store.write("products", state.id, content, status=status)
        return Answer({"product": self._product(state)})

    def read(self, request: Request, endpoint: Endpoint) -> Answer:
        """``GET /locations.json``: the shop's one location, active, where all its stock is;
        ``GET /shop.json``: the shop, whose ``primary_location_id`` is that location; an order's
        fulfillment order and fulfillments."""
        if endpoint.action in FULFILLMENT_READS:
            return self._fulfillment_read(request, endpoint)
        opened = shop_time(int(self.store.time.anchor) - 400 * 86400)
        if endpoint.action == "shop":
            return Answer(
                {
                    "shop": {
                        "id": SHOP_ID,
                        "name": "Mercator Sandbox",
                        "email": "owner@acme-e2e.example",
                        "domain": "acme-e2e.myshopify.com",
                        "myshopify_domain": "acme-e2e.myshopify.com",
                        "currency": "USD",
                        "iana_timezone": "America/Los_Angeles",
                        "primary_location_id": LOCATION_ID,
                        "created_at": opened,
                        "updated_at": opened,
                    }
                }
            )
        location = {
            "id": LOCATION_ID,
            "name": ASSIGNED_LOCATION["name"],
            "address1": ASSIGNED_LOCATION["address1"],
            "address2": None,
            "city": ASSIGNED_LOCATION["city"],
            "zip": ASSIGNED_LOCATION["zip"],
            "province": ASSIGNED_LOCATION["province"],
            "country": "US",
            "phone": None,
            "created_at": opened,
            "updated_at": opened,
            "country_code": "US",
            "country_name": "United States",
            "province_code": "CA",
            "legacy": False,
            "active": True,
            "admin_graphql_api_id": f"gid://shopify/Location/{LOCATION_ID}",
            "localized_country_name": "United States",
            "localized_province_name": "California",
        }
        return Answer({"locations": [location]})

    def _fulfillment_read(self, request: Request, endpoint: Endpoint) -> Answer:
        params = request.path_params
        if endpoint.action == "fulfillment_orders":
            state = self.find("orders", params["id"])
            return Answer({"fulfillment_orders": [self.fulfillments.fulfillment_order(state)]})
        if endpoint.action == "order_fulfillments":
            state = self.find("orders", params["id"])
            fulfillments = self.fulfillments.of(state)
            return Answer({"fulfillments": [self.fulfillments.rest(state, f) for f in fulfillments]})
        state, fulfillment = self._order_fulfillment(params["order_id"], params["id"])
        return Answer({"fulfillment": self.fulfillments.rest(state, fulfillment)})

    def _order_fulfillment(self, raw_order_id: str, raw_id: str) -> tuple[RecordState, Fulfillment]:
        """The live order and its fulfillment the URL names; 404 when either is not there."""
        state = self.find("orders", raw_order_id)
        fulfillment = next((f for f in self.fulfillments.of(state) if str(f.id) == raw_id), None)
        if fulfillment is None:
            raise ApiError(404, self.not_found_message("fulfillments"), code="not_found")
        return state, fulfillment

    def _fulfillment_write(self, request: Request, endpoint: Endpoint, body: bytes) -> Answer:
        params = request.path_params
        if endpoint.action == "fulfillment_event":
            state, fulfillment = self._order_fulfillment(params["order_id"], params["id"])
            fields = json_object(body, ApiError(400, MISSING, param="event"))
            event = self.fulfillments.record_event(state, fulfillment.id, **event_fields(fields))
            return Answer({"fulfillment_event": self.fulfillments.event(event)}, 201)
        if endpoint.action == "update_tracking":
            state, fulfillment = self._fulfillment(params["id"])
            info = self._fulfillment_fields(body).get("tracking_info")
            if not isinstance(info, dict):
                raise ApiError(400, MISSING, param="tracking_info")
            fulfillment = self.fulfillments.retrack(state, fulfillment.id, tracking_of(info))
            return Answer({"fulfillment": self.fulfillments.rest(state, fulfillment)})
        fields = self._fulfillment_fields(body)
        state, units = self.fulfillments.units_asked(fields)
        fulfillment = self.fulfillments.create(state, units, tracking_of(fields.get("tracking_info")))
        return Answer({"fulfillment": self.fulfillments.rest(state, fulfillment)}, 201)

    @staticmethod
    def _fulfillment_fields(body: bytes) -> dict[str, Any]:
        """The ``fulfillment`` object of a write's body; 400 as Shopify words it when there is none."""
        missing = ApiError(400, MISSING, param="fulfillment")
        fields = json_object(body, missing).get("fulfillment")
        if not isinstance(fields, dict):
            raise missing
        return fields

    def _fulfillment(self, raw_id: str) -> tuple[RecordState, Fulfillment]:
        """A fulfillment by its id alone (and its live order); 404 when there is none."""
        found = self.fulfillments.find(int(raw_id)) if raw_id.isdigit() else None
        if found is None:
            raise ApiError(404, self.not_found_message("fulfillments"), code="not_found")
        return found

    def details(self, request: Request, endpoint: Endpoint, raw_id: str) -> Answer:
        answer = super().details(request, endpoint, raw_id)
        fields = self._fields(request.query_params.get("fields"))
        if fields:
            key = SINGULAR[endpoint.resource]
            answer.body[key] = {name: answer.body[key][name] for name in fields if name in answer.body[key]}
        return answer

    def wrap_details(self, resource: str, record: dict[str, Any]) -> Any:
        return {SINGULAR[resource]: record}

    def error_body(self, error: ApiError, endpoint: Endpoint | None) -> Any:
        if error.fields:
            return {"errors": error.fields}
        if error.param:
            return {"errors": {error.param: error.message}}
        return {"errors": error.message}

    def unauthorized(self, endpoint: Endpoint | None) -> ApiError:
        return ApiError(401, "[API] Invalid API key or access token (unrecognized login or wrong password)")

    def budget_headers(self, admission: Admission) -> dict[str, str]:
        return {"X-Shopify-Shop-Api-Call-Limit": f"{admission.used}/{admission.capacity}"}

    def throttled(self, retry_after: float, admission: Admission | None) -> Answer:
        rate = f"{admission.rate:g}" if admission else "2"
        error = ApiError(
            429,
            f"Exceeded {rate} calls per second for api client. "
            "Reduce request rates to resume uninterrupted service.",
        )
        # Shopify asks for 2.0 seconds whatever the fill; a slower leak needs longer.
        headers = {"Retry-After": f"{max(2.0, retry_after):.1f}"}
        if admission is not None:
            headers.update(self.budget_headers(admission))
        return Answer(self.error_body(error, None), 429, headers)

    # --- records --------------------------------------------------------------------------------

    def render(self, resource: str, state: RecordState, view: View, origin: str) -> dict[str, Any]:
        if resource == "orders":
            return self._order(state)
        if resource == "products":
            return self._product(state)
        if resource == "customers":
            return self._customer(state)
        if resource == "carts":
            return self._checkout(state)
        raise ValueError(f"Shopify has no resource {resource!r}")

    def _order(self, state: RecordState) -> dict[str, Any]:
        facts = self._facts(state)
        order_state, financial, _ = ORDER_STATUSES[state.status]
        fulfillment = self.fulfillments.fulfillment_status(state)
        record = TEMPLATES["orders"].fresh()
        number = ORDER_NUMBER_BASE + state.id % 10_000_000
        paid = financial in ("paid", "refunded")
        total = facts.total_cents
        record.update(
            {
                "id": state.id,
                "admin_graphql_api_id": f"gid://shopify/Order/{state.id}",
                "name": f"#{number}",
                "number": number - ORDER_NUMBER_BASE,
                "order_number": number,
                "token": facts.token,
                "confirmation_number": facts.token[:9].upper(),
                "email": facts.customer.email,
                "contact_email": facts.customer.email,
                "phone": None,
                "created_at": shop_time(state.created),
                "processed_at": shop_time(state.created),
                "updated_at": shop_time(state.updated),
                "closed_at": shop_time(state.updated) if order_state == "closed" else None,
                "cancelled_at": shop_time(state.updated) if order_state == "cancelled" else None,
                "cancel_reason": "customer" if order_state == "cancelled" else None,
                "financial_status": financial,
                "fulfillment_status": fulfillment,
                "confirmed": True,
                "test": False,
                "tags": "",
                "currency": CURRENCY,
                "presentment_currency": CURRENCY,
                "payment_gateway_names": [GATEWAYS[facts.payment % len(GATEWAYS)]],
                "order_status_url": f"{self._shop_url(state)}/orders/{facts.token}/authenticate",
                "subtotal_price": money(facts.subtotal_cents - facts.discount_cents),
                "total_line_items_price": money(facts.subtotal_cents),
                "total_discounts": money(facts.discount_cents),
                "total_tax": money(facts.tax_cents),
                "total_price": money(total),
                "current_subtotal_price": money(facts.subtotal_cents - facts.discount_cents),
                "current_total_discounts": money(facts.discount_cents),
                "current_total_tax": money(facts.tax_cents),
                "current_total_price": money(total),
                "total_outstanding": money(0 if paid or order_state == "cancelled" else total),
                "total_tip_received": "0.00",
                "total_weight": sum(200 * line.quantity for line in facts.lines),
            }
        )
        for key, cents in (
            ("subtotal_price_set", facts.subtotal_cents - facts.discount_cents),
            ("total_line_items_price_set", facts.subtotal_cents),
            ("total_discounts_set", facts.discount_cents),
            ("total_tax_set", facts.tax_cents),
            ("total_price_set", total),
            ("total_shipping_price_set", facts.shipping_cents),
            ("current_subtotal_price_set", facts.subtotal_cents - facts.discount_cents),
            ("current_total_discounts_set", facts.discount_cents),
            ("current_total_tax_set", facts.tax_cents),
            ("current_total_price_set", total),
            ("current_shipping_price_set", facts.shipping_cents),
        ):
            record[key] = money_set(cents)
        shipping_line = record["shipping_lines"][0]
        shipping_line.update(
            {
                "id": state.id + 11,
                "price": money(facts.shipping_cents),
                "price_set": money_set(facts.shipping_cents),
                "discounted_price": money(facts.shipping_cents),
                "discounted_price_set": money_set(facts.shipping_cents),
                "current_discounted_price_set": money_set(facts.shipping_cents),
                "title": "Standard" if facts.shipping_cents else "Free Shipping",
            }
        )
        record["shipping_lines"] = [shipping_line]
        template_line = record["line_items"][0]
        shipped = self.fulfillments.fulfilled(state)
        record["line_items"] = [
            self._order_line(template_line, line, line.quantity, shipped.get(line.line_id, 0))
            for line in facts.lines
        ]
        record["fulfillments"] = [self.fulfillments.rest(state, f) for f in self.fulfillments.of(state)]
        record["discount_codes"] = []
        record["discount_applications"] = []
        if facts.coupon:
            record["discount_codes"] = [
                {"code": facts.coupon, "amount": money(facts.discount_cents), "type": "fixed_amount"}
            ]
            record["discount_applications"] = [
                {
                    "allocation_method": "across",
                    "code": facts.coupon,
                    "target_selection": "all",
                    "target_type": "line_item",
                    "type": "discount_code",
                    "value": f"{facts.discount_cents / 100:.1f}",
                    "value_type": "fixed_amount",
                }
            ]
        address = self._address(facts.customer)
        record["billing_address"] = dict(address)
        record["shipping_address"] = dict(address)
        if facts.customer_id is None:
            record["customer"] = None
        else:
            record["customer"] = self._order_customer(record["customer"], facts)
        return record

    def _order_line(self, template: dict[str, Any], line: Line, units: int, fulfilled: int) -> dict[str, Any]:
        """The order's line as it carries ``units`` (all of them on the order, some in a fulfillment),
        ``fulfilled`` of its units shipped so far."""
        item = dict(template)
        product = line.product
        size = SIZES[line.line_id % product.variant_count] if product.variant_count > 1 else None
        variant_id = self._variant_id(line.product_id, line.line_id % product.variant_count)
        item.update(
            {
                "id": line.line_id,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{line.line_id}",
                "name": f"{product.title} - {size}" if size else product.title,
                "title": product.title,
                "price": money(line.unit_cents),
                "price_set": money_set(line.unit_cents),
                "quantity": units,
                "current_quantity": line.quantity,
                "fulfillable_quantity": max(0, line.quantity - fulfilled),
                "fulfillment_status": (
                    "fulfilled" if fulfilled >= line.quantity else "partial" if fulfilled else None
                ),
                "sku": product.sku,
                "product_id": line.product_id,
                "variant_id": variant_id,
                "variant_title": size,
                "vendor": product.vendor,
                "grams": 200,
                "total_discount": "0.00",
                "total_discount_set": money_set(0),
                "attributed_staffs": [],
            }
        )
        return item

    def _order_customer(self, template: dict[str, Any], facts: OrderFacts) -> dict[str, Any]:
        assert facts.customer_id is not None
        person = facts.customer
        customer = self.store.lookup("customers", facts.customer_id)
        template.update(
            {
                "id": facts.customer_id,
                "admin_graphql_api_id": f"gid://shopify/Customer/{facts.customer_id}",
                "email": person.email,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "phone": self._phone(person),
                # The customer's account state, as the customers endpoints show it.
                "state": self._account_state(customer) if customer else "disabled",
                "created_at": shop_time(customer.created) if customer else None,
                "updated_at": shop_time(customer.updated) if customer else None,
                "default_address": self._customer_address(
                    template["default_address"], facts.customer_id, person
                ),
            }
        )
        return template

    def _facts(self, state: RecordState) -> OrderFacts:
        return self.catalog.order(state.variant, placed=state.created, guest_share=0.1)

    # --- fulfillments (what shopify_fulfillments.OrderSide asks of the orders) --------------------

    def order_lines(self, state: RecordState) -> tuple[Line, ...]:
        return self._facts(state).lines

    def order_line_item(
        self, state: RecordState, line: Line, *, units: int, fulfilled: int
    ) -> dict[str, Any]:
        return self._order_line(TEMPLATES["order_line"].fresh(), line, units, fulfilled)

    def order_name(self, state: RecordState) -> str:
        return f"#{ORDER_NUMBER_BASE + state.id % 10_000_000}"

    def order_contact(self, state: RecordState) -> tuple[str, dict[str, Any]]:
        person = self._facts(state).customer
        return person.email, self._address(person)

    def order_fulfillable(self, state: RecordState) -> bool:
        return ORDER_STATUSES[state.status][0] != "cancelled"

    def order_generated_fulfillment(self, state: RecordState) -> str | None:
        return ORDER_STATUSES[state.status][2]

    def variant_of(self, line: Line) -> int:
        return self._variant_id(line.product_id, line.line_id % line.product.variant_count)

    def stamp(self, epoch: int) -> str:
        return shop_time(epoch)

    def announce(self, state: RecordState, topic: str, subject: Fulfillment | FulfillmentEvent) -> None:
        """Queue ``topic`` for ``subject``: the change is the order's (its time moves), and the
        delivery it makes while announcing is the fulfillment's, not orders/updated."""
        self._announcing = (topic, subject)
        try:
            self.store.touch("orders", state.id)
        finally:
            self._announcing = None

    def order_changed(self, state: RecordState) -> None:
        """A paid order follows its fulfillments (open, partly fulfilled, archived once fulfilled);
        orders/updated goes out."""
        if state.status in PAID_BY_FULFILLMENT.values():
            state.status = PAID_BY_FULFILLMENT[self.fulfillments.fulfillment_status(state)]
        self.store.touch("orders", state.id)

    def shipments(self, order_id: int | None = None) -> list[ShipmentView]:
        return self.fulfillments.views(order_id)

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None = None
    ) -> ShipmentView:
        """The merchant fulfills every unit left, with tracking, from the order's page."""
        state = self.store.get("orders", order_id)
        remaining = self.fulfillments.remaining(state)
        if not remaining:
            raise ValueError(f"order {order_id} has nothing left to fulfill")
        tracking = tracking_of({"company": carrier, "number": tracking_number, "url": tracking_url})
        return self.fulfillments.view(self.fulfillments.create(state, remaining, tracking))

    def set_shipment_status(self, shipment_id: int, status: CarrierStatus) -> ShipmentView:
        """The carrier's report as a fulfillment event (a return is a ``failure``: Shopify has no
        returned status)."""
        found = self.fulfillments.find(shipment_id)
        if found is None:
            raise UnknownRecordError("fulfillments", shipment_id)
        state, fulfillment = found
        event_status, message = CARRIER_EVENTS[status]
        self.fulfillments.record_event(state, fulfillment.id, event_status, message=message)
        return self.fulfillments.view(fulfillment)

    def _content(self, state: RecordState) -> WrittenProduct:
        """What the product is: as written through the API, else as its facts make it."""
        if state.written is not None:
            return state.written
        product = self.catalog.product(state.id)
        variants = []
        for index in range(product.variant_count):
            title = SIZES[index] if product.variant_count > 1 else "Default Title"
            variant_id = self._variant_id(state.id, index)
            variants.append(
                WrittenVariant(
                    id=variant_id,
                    inventory_item_id=variant_id + INVENTORY_ITEM_OFFSET,
                    title=title,
                    sku=f"{product.sku}-{index + 1}" if product.variant_count > 1 else product.sku,
                    price_cents=product.sale_cents or product.price_cents,
                    compare_at_cents=product.price_cents if product.sale_cents else None,
                    # The products sample's variants are tracked by Shopify and sell on when out of stock.
                    tracked=True,
                    policy="continue",
                    quantity=product.stock // product.variant_count,
                    option1=title,
                )
            )
        images = tuple(
            WrittenImage(
                state.id * 10 + index,
                f"https://cdn.shopify.com/s/files/1/0000/0001/products/{product.handle}-{index}.jpg",
            )
            for index in range(product.images)
        )
        first = variants[0]
        return WrittenProduct(
            name=product.title,
            description=f"<p>{product.title} by {product.vendor}.</p>",
            sku=first.sku,
            handle=product.handle,
            price_cents=first.price_cents,
            quantity=first.quantity,
            images=images,
            tags=(product.category.lower(), product.vendor.lower()),
            vendor=product.vendor,
            product_type=product.category,
            variants=tuple(variants),
            extra={
                "published_at": state.created if PRODUCT_STATUSES[state.status] == "active" else None,
                "options": ["Size" if product.variant_count > 1 else "Title"],
            },
        )

    def _product(self, state: RecordState) -> dict[str, Any]:
        content = self._content(state)
        record = TEMPLATES["products"].fresh()
        created, updated = shop_time(state.created), shop_time(state.updated)
        variant_template = record["variants"][0]
        variants = []
        for index, written in enumerate(content.variants):
            variant = dict(variant_template)
            variant.update(
                {
                    "id": written.id,
                    "product_id": state.id,
                    "title": written.title,
                    "option1": written.option1,
                    "position": index + 1,
                    "price": money(written.price_cents),
                    "compare_at_price": (
                        None if written.compare_at_cents is None else money(written.compare_at_cents)
                    ),
                    "sku": written.sku,
                    "inventory_management": "shopify" if written.tracked else None,
                    "inventory_policy": written.policy,
                    "inventory_item_id": written.inventory_item_id,
                    "inventory_quantity": written.quantity,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
            variants.append(variant)
        image_template = record["images"][0]
        images = []
        for index, written_image in enumerate(content.images):
            image = dict(image_template)
            image.update(
                {
                    "id": written_image.id,
                    "product_id": state.id,
                    "position": index + 1,
                    "src": written_image.src,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
            if written_image.alt:
                image["alt"] = written_image.alt
            images.append(image)
        published = content.extra.get("published_at")
        options = content.extra.get("options") or ["Title"]
        record.update(
            {
                "id": state.id,
                "title": content.name,
                "handle": content.handle,
                "body_html": content.description,
                "vendor": content.vendor,
                "product_type": content.product_type,
                "created_at": created,
                "updated_at": updated,
                "published_at": None if published is None else shop_time(published),
                "tags": ", ".join(content.tags),
                "status": PRODUCT_STATUSES[state.status],
                "variants": variants,
                "images": images,
                "options": [{"name": name} for name in options],
            }
        )
        return record

    def product_view(self, state: RecordState) -> ProductView:
        """From the first variant: its SKU, its regular price (``compare_at_price`` when that is the
        higher, else ``price``); ``quantity`` the stock of the tracked variants (None if none is
        tracked); ``visible`` an ``active`` product."""
        content = self._content(state)
        first = content.variants[0]
        regular = max(first.price_cents, first.compare_at_cents or 0)
        tracked = [variant.quantity for variant in content.variants if variant.tracked]
        return ProductView(
            id=state.id,
            sku=first.sku,
            handle=content.handle,
            name=content.name,
            description=content.description,
            price=decimal_of(regular),
            quantity=sum(tracked) if tracked else None,
            visible=PRODUCT_STATUSES[state.status] == "active",
            images=[image.src for image in content.images],
            tags=list(content.tags),
        )

    @staticmethod
    def _shop_url(state: RecordState) -> str:
        return f"https://{SHOP_DOMAIN}/{state.id % 1_000_000_000}"

    @staticmethod
    def _variant_id(product_id: int, index: int) -> int:
        return 40_000_000_000_000 + product_id % 1_000_000_000_000 * 4 + index

    def _customer(self, state: RecordState) -> dict[str, Any]:
        person = self.catalog.customer(state.id)
        record = TEMPLATES["customers"].fresh()
        address = self._customer_address(record["default_address"], state.id, person)
        consent = CONSENT[person.place % len(CONSENT)]
        record.update(
            {
                "id": state.id,
                "admin_graphql_api_id": f"gid://shopify/Customer/{state.id}",
                "email": person.email,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "phone": self._phone(person),
                "created_at": shop_time(state.created),
                "updated_at": shop_time(state.updated),
                "orders_count": state.variant % 12,
                "total_spent": money(state.variant % 12 * 4_599),
                "state": self._account_state(state),
                "tags": "",
                "currency": CURRENCY,
                "addresses": [address],
                "default_address": dict(address),
            }
        )
        record["email_marketing_consent"] = dict(record["email_marketing_consent"], state=consent)
        return record

    @staticmethod
    def _account_state(customer: RecordState) -> str:
        return "enabled" if customer.variant % 3 else "disabled"

    def _customer_address(self, template: dict[str, Any], customer_id: int, person: Person) -> dict[str, Any]:
        address1, city, province, province_code, zip_code, country, country_code = ADDRESSES[
            person.place % len(ADDRESSES)
        ]
        address = dict(template)
        address.update(
            {
                "id": customer_id + 17,
                "customer_id": customer_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "name": person.name,
                "address1": address1,
                "city": city,
                "province": province,
                "province_code": province_code,
                "zip": zip_code,
                "country": country,
                "country_code": country_code,
                "phone": self._phone(person),
                "default": True,
            }
        )
        if "country_name" in address:
            address["country_name"] = country
        return address

    def _address(self, person: Person) -> dict[str, Any]:
        address1, city, province, province_code, zip_code, country, country_code = ADDRESSES[
            person.place % len(ADDRESSES)
        ]
        return {
            "first_name": person.first_name,
            "address1": address1,
            "phone": self._phone(person),
            "city": city,
            "zip": zip_code,
            "province": province,
            "country": country,
            "last_name": person.last_name,
            "address2": None,
            "company": None,
            "latitude": None,
            "longitude": None,
            "name": person.name,
            "country_code": country_code,
            "province_code": province_code,
        }

    @staticmethod
    def _phone(person: Person) -> str:
        return f"+1613{person.digits % 10_000_000:07d}"

    def _checkout(self, state: RecordState) -> dict[str, Any]:
        facts = self.catalog.order(state.variant, placed=state.created, max_lines=2)
        record = TEMPLATES["carts"].fresh()
        token = facts.token
        cart_token = f"{state.variant:08x}{token[8:]}"
        line_template = record["line_items"][0]
        lines = []
        for line in facts.lines:
            item = dict(line_template)
            item.update(
                {
                    "key": f"{line.line_id:016x}",
                    "product_id": line.product_id,
                    "variant_id": self._variant_id(line.product_id, 0),
                    "title": line.product.title,
                    "presentment_title": line.product.title,
                    "variant_title": "",
                    "presentment_variant_title": "",
                    "sku": line.product.sku,
                    "vendor": line.product.vendor,
                    "quantity": line.quantity,
                    "price": money(line.unit_cents),
                    "line_price": money(line.total_cents),
                    "discount_allocations": [],
                    "applied_discounts": [],
                }
            )
            lines.append(item)
        person = facts.customer
        record.update(
            {
                "id": state.id,
                "token": token,
                "cart_token": cart_token,
                "email": person.email,
                "created_at": shop_time(state.created),
                "updated_at": shop_time(state.updated),
                "name": f"#{state.id}",
                "abandoned_checkout_url": f"{self._shop_url(state)}/checkouts/{token}/recover",
                "line_items": lines,
                "discount_codes": (
                    [{"code": facts.coupon, "amount": money(facts.discount_cents), "type": "fixed_amount"}]
                    if facts.coupon
                    else []
                ),
                "tax_lines": (
                    [
                        {
                            "price": money(facts.tax_cents),
                            "rate": facts.tax_rate_bp / 10_000,
                            "title": "Sales Tax",
                            "channel_liable": None,
                        }
                    ]
                    if facts.tax_cents
                    else []
                ),
                "total_discounts": money(facts.discount_cents),
                "total_line_items_price": money(facts.subtotal_cents),
                "total_price": money(facts.total_cents),
                "total_tax": money(facts.tax_cents),
                "subtotal_price": money(facts.subtotal_cents - facts.discount_cents),
                "phone": None,
                "note_attributes": [],
                "billing_address": self._address(person),
                "shipping_address": self._address(person),
            }
        )
        if facts.customer_id is None:
            record["customer"] = None
        else:
            record["customer"] = self._order_customer(record["customer"], facts)
        return record

    def _cart(self, state: RecordState) -> dict[str, Any]:
        """The storefront cart behind a checkout, as carts/create and carts/update deliver it."""
        checkout = self._checkout(state)
        facts = self.catalog.order(state.variant, placed=state.created, max_lines=2)
        record = TEMPLATES["cart_webhook"].fresh()
        line_template = record["line_items"][0]
        lines = []
        for line in facts.lines:
            item = dict(line_template)
            variant_id = self._variant_id(line.product_id, 0)
            item.update(
                {
                    "id": variant_id,
                    "key": f"{variant_id}:{checkout['cart_token']}",
                    "product_id": line.product_id,
                    "variant_id": variant_id,
                    "title": line.product.title,
                    "sku": line.product.sku,
                    "vendor": line.product.vendor,
                    "quantity": line.quantity,
                    "price": money(line.unit_cents),
                    "price_set": money_set(line.unit_cents),
                    "original_price": money(line.unit_cents),
                    "discounted_price": money(line.unit_cents),
                    "discounted_price_set": money_set(line.unit_cents),
                    "line_price": money(line.total_cents),
                    "line_price_set": money_set(line.total_cents),
                    "original_line_price": money(line.total_cents),
                    "original_line_price_set": money_set(line.total_cents),
                    "total_discount": "0.00",
                    "total_discount_set": money_set(0),
                    "discounts": [],
                }
            )
            lines.append(item)
        record.update(
            {
                "id": checkout["cart_token"],
                "token": checkout["cart_token"],
                "line_items": lines,
                "note": None,
                "created_at": self._utc_millis(state.created),
                "updated_at": self._utc_millis(state.updated),
            }
        )
        return record

    @staticmethod
    def _utc_millis(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    # --- webhooks -------------------------------------------------------------------------------

    def events(self, resource: str) -> tuple[str, ...]:
        """Also ``fulfillments``: the topics a fulfillment's changes send (queued as they happen,
        see announce; they cannot be emitted for a bare record)."""
        if resource == "fulfillments":
            return FULFILLMENT_TOPICS
        return tuple(EVENTS.get(resource, {}).values()) + EXTRA_EVENTS.get(resource, ())

    def event_for(self, resource: str, change: ChangeKind) -> str | None:
        if resource == "orders" and change == "updated" and self._announcing is not None:
            return self._announcing[0]
        return EVENTS.get(resource, {}).get(change)

    def delivery_body(self, resource: str, state: RecordState, event: str, context: DeliveryContext) -> Any:
        if event in FULFILLMENT_TOPICS:
            if self._announcing is None or self._announcing[0] != event:
                raise ValueError(f"{event} is sent as a fulfillment changes, not for a record")
            subject = self._announcing[1]
            if isinstance(subject, FulfillmentEvent):
                return self.fulfillments.event(subject)
            return self.fulfillments.webhook(state, subject)
        if event in DELETE_EVENTS:
            return {"id": state.id}
        if resource == "carts":
            return self._cart(state)
        record = self.render(resource, state, "webhook", context.source)
        if event == "orders/cancelled":
            record["cancelled_at"] = record["cancelled_at"] or shop_time(int(context.occurred_at))
            record["cancel_reason"] = record["cancel_reason"] or "customer"
        if event == "orders/paid":
            record["financial_status"] = "paid"
            record["total_outstanding"] = "0.00"
        return record

    def delivery_headers(
        self, resource: str, event: str, body: bytes, secret: str, context: DeliveryContext
    ) -> dict[str, str]:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        triggered = datetime.fromtimestamp(context.occurred_at, UTC).isoformat().replace("+00:00", "Z")
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": event,
            "X-Shopify-Hmac-SHA256": base64.b64encode(digest).decode(),
            "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": context.delivery_id,
            "X-Shopify-Event-Id": context.event_id,
            "X-Shopify-Triggered-At": triggered,
        }
