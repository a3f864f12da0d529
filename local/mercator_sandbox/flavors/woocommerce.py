"""WooCommerce (REST API v3): ``/wp-json/wc/v3`` orders, products and customers.

Lists answer a bare JSON array with ``X-WP-Total``, ``X-WP-TotalPages`` and a ``Link`` header
(``rel="prev"`` / ``rel="next"``, the request's own URL with another ``page``). Parameters as in
WooCommerce: ``page``, ``per_page`` (10 by default, 1 to 100, anything else a 400
``rest_invalid_param``), ``offset``, ``order`` (``asc`` / ``desc``) and ``orderby`` (orders and
products: ``date`` (the default, newest first), ``id``, ``modified``; customers: ``name`` (the
default, ascending), ``id``, ``registered_date``). Orders and products filter with
``modified_after`` / ``modified_before`` / ``after`` / ``before`` and ``status``; ``dates_are_gmt``
says whether a date without an offset is GMT or the site's local time (America/Sao_Paulo here).
A page past the last answers an empty array.
``PUT /orders/{id}`` updates an order's ``status`` and ``meta_data`` (other fields are ignored) and
answers the order; an unknown status is a 400 ``rest_invalid_param``. Order notes (``POST`` / ``GET
/orders/{id}/notes``), the Shipment Tracking extension's meta and the store's own shipping
(``Sandbox.ship`` / ``set_shipment_status``) are described in ``woocommerce_shipments.py``.

Products are written as in wc/v3 (details in ``woocommerce_writes.py``): ``POST /products`` ``{name,
type, status, catalog_visibility, description, short_description, sku, regular_price: "12.50",
sale_price, manage_stock, stock_quantity, backorders, images: [{src} | {id}], tags: [{name} | {id}],
slug}`` answers 201 with the product (and a ``Location``); ``PUT`` (or ``POST`` / ``PATCH``)
``/products/{id}`` writes the fields given and answers 200 (an unknown id is a 400
``woocommerce_rest_product_invalid_id``). Refusals: 400 ``rest_invalid_param`` naming every invalid
parameter (``params`` and ``details``), 400 ``product_invalid_sku`` with ``resource_id`` for a taken
SKU. Product lists also filter on ``sku`` (comma list), ``slug`` and ``include``.

Deletion, as in WooCommerce: deleting an order or a product (``Store.delete`` or ``DELETE
/orders/{id}`` without ``force=true``) moves it to the trash. Its ``status`` reads ``trash`` and
``date_modified`` / ``date_modified_gmt`` move to the deletion; listings with the default status
(``any``) or any other status leave it out, ``status=trash`` lists only trashed records (the other
filters, ``modified_after`` and so on, still apply) and ``GET /orders/{id}`` still answers it. Deleting
it again without force is a 410 ``woocommerce_rest_already_trashed``; with ``force=true`` (or
``Store.delete(..., force=True)``) it is gone for good and its details answer a 404. Customers cannot
be trashed: a delete without force is a 501 ``woocommerce_rest_trash_not_supported`` and
``Store.delete`` removes them for good. ``DELETE`` answers the record as it was before the deletion
(the v3 CRUD controller renders it first). Webhooks follow WooCommerce's topic hooks: trashing fires
``order.deleted`` / ``product.deleted`` (``wp_trash_post``, ``woocommerce_trash_order``), deleting a
customer fires ``customer.deleted`` (``delete_user``), and a permanent deletion of an order or a
product fires nothing.

WooCommerce has no abandoned-cart API (carts live in the shopper's session until checkout; only
third-party plugins keep abandoned carts), so this flavor serves no carts and sends no cart webhooks.

Credentials: HTTP Basic (consumer key and secret) or ``consumer_key`` / ``consumer_secret`` in the
query, any non-empty values. WooCommerce itself sets no rate limit (the host may); configure one to
get 429s with ``Retry-After``. Webhooks carry the REST object (``{"id": N}`` for deletions), signed
with a base64 HMAC-SHA256 in ``X-WC-Webhook-Signature``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from starlette.requests import Request

from mercator_sandbox.dataset import ChangeKind, Query, RecordState, ResourceSpec, Store, TrashScope, Window
from mercator_sandbox.facts import OrderFacts, Person, money, person
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
from mercator_sandbox.flavors.woocommerce_shipments import WooShipping, note_answer
from mercator_sandbox.flavors.woocommerce_writes import PRODUCT_STATUSES, WooProductWriter
from mercator_sandbox.mutations import ServedPage
from mercator_sandbox.ratelimit import Admission
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.templates import Template
from mercator_sandbox.writes import ProductView, WrittenImage, WrittenProduct, decimal_of, slugify

API = "/wp-json/wc/v3"
SITE_ZONE = ZoneInfo("America/Sao_Paulo")
CURRENCY = "USD"
USER_AGENT = "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)"

ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
PAID = frozenset({"processing", "completed", "refunded"})
STATUSES = {"orders": ORDER_STATUSES, "products": PRODUCT_STATUSES}
TRASH = "trash"
# The post types WooCommerce names in its deletion errors ("The shop_order has already been deleted.").
POST_TYPES = {"orders": "shop_order", "products": "product"}
PAYMENTS: tuple[tuple[str, str], ...] = (
    ("bacs", "Direct Bank Transfer"),
    ("cod", "Cash on delivery"),
    ("stripe", "Credit Card (Stripe)"),
    ("paypal", "PayPal"),
)
# (address_1, city, state, postcode, country)
ADDRESSES: tuple[tuple[str, str, str, str, str], ...] = (
    ("969 Market", "San Francisco", "CA", "94103", "US"),
    ("Av. Brasil, 432", "Rio de Janeiro", "RJ", "12345-000", "BR"),
    ("Rua Augusta, 1500", "São Paulo", "SP", "01304-001", "BR"),
    ("12 High Street", "Austin", "TX", "73301", "US"),
)
ORDERINGS: Mapping[str, Mapping[str, str]] = {
    "orders": {"date": "created", "id": "id", "modified": "updated"},
    "products": {"date": "created", "id": "id", "modified": "updated"},
    "customers": {"name": "name", "id": "id", "registered_date": "created"},
}
DEFAULT_ORDERING = {"orders": ("date", "desc"), "products": ("date", "desc"), "customers": ("name", "asc")}

TEMPLATES: Mapping[str, Template] = {
    "orders": Template("woocommerce/orders_list.json", 0),
    # The second listed product is a simple one (the first is variable and has no price of its own).
    "products": Template("woocommerce/products_list.json", 1),
    "customers": Template("woocommerce/customers_list.json", 0),
}
RESOURCE_NAMES = {"orders": "order", "products": "product", "customers": "customer"}
NOT_FOUND_CODES = {
    "orders": "woocommerce_rest_shop_order_invalid_id",
    "products": "woocommerce_rest_product_invalid_id",
    "customers": "woocommerce_rest_invalid_id",
}
PRICE_HTML = (
    '<span class="woocommerce-Price-amount amount">'
    '<span class="woocommerce-Price-currencySymbol">&#36;</span>{}</span>'
)
EXTRA_EVENTS: Mapping[str, tuple[str, ...]] = {
    "orders": ("order.restored",),
    "products": ("product.restored",),
}


def _display_name(state: RecordState) -> str:
    """What WooCommerce sorts customers by name on: the display name, first and last."""
    return person(state.variant).name


def local_time(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, SITE_ZONE).strftime("%Y-%m-%dT%H:%M:%S")


def gmt_time(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class WooCommerce(Flavor):
    name = "woocommerce"
    prefix = API
    endpoints = (
        Endpoint("orders", "list", "/orders"),
        Endpoint("orders", "details", "/orders/{id}"),
        Endpoint("orders", "status", "/orders/{id}", "PUT"),
        Endpoint("orders", "delete", "/orders/{id}", "DELETE"),
        Endpoint("orders", "write", "/orders/{id}/notes", "POST", action="note"),
        Endpoint("orders", "read", "/orders/{id}/notes", action="notes"),
        Endpoint("products", "list", "/products"),
        Endpoint("products", "write", "/products", "POST", action="create"),
        Endpoint("products", "details", "/products/{id}"),
        Endpoint("products", "write", "/products/{id}", "PUT", action="update"),
        Endpoint("products", "write", "/products/{id}", "POST", action="update"),
        Endpoint("products", "write", "/products/{id}", "PATCH", action="update"),
        Endpoint("products", "delete", "/products/{id}", "DELETE"),
        Endpoint("customers", "list", "/customers"),
        Endpoint("customers", "details", "/customers/{id}"),
        Endpoint("customers", "delete", "/customers/{id}", "DELETE"),
    )
    specs: ClassVar[Mapping[str, ResourceSpec]] = {
        # Orders, products and customers share WordPress's post and user id sequences. Orders and
        # products are posts and go to the trash when deleted; customers are users and do not.
        "orders": ResourceSpec(700, (0.05, 0.2, 0.05, 0.55, 0.05, 0.05, 0.05), trashable=True),
        "products": ResourceSpec(90, (0.85, 0.1, 0.03, 0.02), max_update_delay=60 * 86400, trashable=True),
        "customers": ResourceSpec(20, max_update_delay=30 * 86400),
    }
    platform_rate_limit = None
    default_max_per_page = 100
    credentials_hint = "any consumer key and secret: HTTP Basic, or ?consumer_key=...&consumer_secret=..."
    sample_headers: ClassVar[dict[str, str]] = {
        "Authorization": "Basic " + base64.b64encode(b"ck_sandbox:cs_sandbox").decode()
    }
    default_per_page = 10

    def __init__(self, store: Store, *, max_per_page: int | None = None) -> None:
        super().__init__(store, max_per_page=max_per_page)
        self.writer = WooProductWriter(store, self._content)
        self.shipping = WooShipping(store, ORDER_STATUSES)
        if "customers" in store.resources:
            store.register_sort_key("customers", "name", _display_name)

    # --- requests -------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> bool:
        params = request.query_params
        if params.get("consumer_key", "").strip() and params.get("consumer_secret", "").strip():
            return True
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(user.strip() and password.strip())

    def list_page(self, request: Request, endpoint: Endpoint) -> Answer:
        resource = endpoint.resource
        params = request.query_params
        page = whole_number(params, "page", 1)
        per_page = whole_number(params, "per_page", self.default_per_page, maximum=self.max_per_page)
        offset = whole_number(params, "offset", -1, minimum=0) if params.get("offset") else None
        query = self._query(resource, params)
        listing = self.store.select(resource, query)
        total = len(listing)
        start = min(offset if offset is not None else (page - 1) * per_page, total)
        stop = min(start + per_page, total)
        records = [
            self.render(resource, self._listed(resource, i), "list", origin_of(request))
            for i in listing[start:stop]
        ]
        total_pages = math.ceil(total / per_page)
        links = []
        if page > 1:
            previous = min(page - 1, total_pages) if total_pages else 1
            links.append(f'<{request.url.include_query_params(page=previous)}>; rel="prev"')
        if total_pages > page:
            links.append(f'<{request.url.include_query_params(page=page + 1)}>; rel="next"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(total_pages)}
        if links:
            headers["Link"] = ", ".join(links)
        # The mutation faults shake listings of live records; a listing of the trash is left alone.
        served = ServedPage(resource, query, stop, len(records)) if query.trash == "hide" else None
        return Answer(records, headers=headers, page=served)

    def _query(self, resource: str, params: Mapping[str, str]) -> Query:
        default_by, default_direction = DEFAULT_ORDERING[resource]
        orderby = params.get("orderby") or default_by
        direction = params.get("order") or default_direction
        if orderby not in ORDERINGS[resource]:
            valid = ", ".join(ORDERINGS[resource])
            raise ApiError(400, f"orderby is not one of {valid}.", param="orderby")
        if direction not in ("asc", "desc"):
            raise ApiError(400, "order is not one of asc, desc.", param="order")
        windows: list[Window] = []
        statuses: frozenset[int] | None = None
        trash: TrashScope = "hide"
        if resource in STATUSES:
            gmt = self._flag(params, "dates_are_gmt")
            zone = UTC if gmt else SITE_ZONE
            for low, high, field_name in (
                ("after", "before", "created"),
                ("modified_after", "modified_before", "updated"),
            ):
                lo, hi = moment(params, low, zone), moment(params, high, zone)
                if lo is not None or hi is not None:
                    # WooCommerce's after/before are exclusive bounds.
                    windows.append(
                        Window(field_name, None if lo is None else lo + 1, None if hi is None else hi - 1)
                    )
            statuses, trash = self._statuses(resource, params.get("status"))
        return Query(
            order=ORDERINGS[resource][orderby],
            descending=direction == "desc",
            windows=tuple(windows),
            statuses=statuses,
            trash=trash,
            ids=self._content_filter(resource, params),
        )

    def _content_filter(self, resource: str, params: Mapping[str, str]) -> frozenset[int] | None:
        """Products' ``sku`` (exact, a comma list or the whole text), ``slug`` and ``include`` (ids)."""
        if resource != "products" or not any(params.get(name) for name in ("sku", "slug", "include")):
            return None
        raw_sku = params.get("sku", "")
        skus = {part for part in raw_sku.split(",") if part} | ({raw_sku} if raw_sku else set())
        slug = params.get("slug", "")
        include: set[int] | None = None
        if params.get("include"):
            try:
                include = {int(part) for part in params["include"].split(",") if part.strip()}
            except ValueError:
                raise ApiError(400, "include[0] is not of type integer.", param="include") from None

        def matches(state: RecordState) -> bool:
            content = self._content(state)
            return (
                (not skus or content.sku in skus)
                and (not slug or content.handle == slug)
                and (include is None or state.id in include)
            )

        return self.product_ids(matches, trashed=True)

    def _listed(self, resource: str, record_id: int) -> RecordState:
        state = self.store.retrievable(resource, record_id)
        if state is None:  # pragma: no cover - a listing names only live or trashed records
            raise AssertionError(f"{resource} listing lost record {record_id}")
        return state

    @staticmethod
    def _flag(params: Mapping[str, str], name: str) -> bool:
        raw = (params.get(name) or "false").lower()
        if raw in ("1", "true", "yes"):
            return True
        if raw in ("0", "false", "no", ""):
            return False
        raise ApiError(400, f"{name} is not of type boolean.", param=name)

    @staticmethod
    def _statuses(resource: str, raw: str | None) -> tuple[frozenset[int] | None, TrashScope]:
        """The live statuses a ``status`` parameter lists (None: all) and what it shows of the trash.

        ``any`` means every status but trash, as WordPress's ``post_status=any`` does.
        """
        names = STATUSES[resource]
        wanted = [part.strip() for part in (raw or "any").split(",") if part.strip()]
        unknown = [part for part in wanted if part not in (*names, "any", TRASH)]
        if unknown:
            raise ApiError(400, f"status[0] is not one of any, {TRASH}, {', '.join(names)}.", param="status")
        live = [part for part in wanted if part != TRASH]
        if TRASH not in wanted:
            trash: TrashScope = "hide"
        else:
            trash = "with" if live else "only"
        if "any" in live:
            return None, trash
        return frozenset(names.index(part) for part in live), trash

    def wrap_details(self, resource: str, record: dict[str, Any]) -> Any:
        return record

    def not_found_message(self, resource: str) -> str:
        return "Invalid ID."

    def details(self, request: Request, endpoint: Endpoint, raw_id: str) -> Answer:
        try:
            return super().details(request, endpoint, raw_id)
        except ApiError as error:
            error.code = NOT_FOUND_CODES[endpoint.resource]
            raise

    def delete_record(self, request: Request, endpoint: Endpoint, raw_id: str) -> Answer:
        """``DELETE /{resource}/{id}[?force=true]``: trash, or with force delete for good (see above)."""
        resource = endpoint.resource
        force = self._flag(request.query_params, "force")
        if resource == "customers":
            if not force:
                raise ApiError(
                    501, "Customers do not support trashing.", code="woocommerce_rest_trash_not_supported"
                )
            try:
                state = self.find(resource, raw_id)
            except ApiError as error:
                raise ApiError(400, "Invalid resource id.", code="woocommerce_rest_invalid_id") from error
        else:
            try:
                state = self.find(resource, raw_id, trashed=True)
            except ApiError as error:
                error.code = NOT_FOUND_CODES[resource]
                raise
            if state.trashed and not force:
                raise ApiError(
                    410,
                    f"The {POST_TYPES[resource]} has already been deleted.",
                    code="woocommerce_rest_already_trashed",
                )
        record = self.render(resource, state, "details", origin_of(request))
        self.store.delete(resource, state.id, force=force)
        return Answer(record)

    def write(self, request: Request, endpoint: Endpoint, body: bytes) -> Answer:
        """Create a product (201, with ``Location``) or update one (200); answers the product. Or add
        an order note (201, with ``Location``)."""
        fields = json_object(body, ApiError(400, "Invalid JSON body passed.", code="rest_invalid_json"))
        origin = origin_of(request)
        if endpoint.action == "note":
            state = self._order_for_note(request.path_params["id"])
            note = self.shipping.add_note(state, fields)
            answer = note_answer(note, f"{origin}{API}/orders/{state.id}", local_time, gmt_time)
            return Answer(answer, 201, {"Location": answer["_links"]["self"][0]["href"]})
        if endpoint.action == "create":
            if fields.get("id"):
                raise ApiError(400, "Cannot create existing product.", code="woocommerce_rest_product_exists")
            content, status = self.writer.create(fields)
            state = self.store.insert("products", status=status, written=content)
            location = f"{origin}{API}/products/{state.id}"
            return Answer(self.render("products", state, "details", origin), 201, {"Location": location})
        try:
            state = self.find("products", request.path_params["id"])
        except ApiError:
            # WooCommerce answers an update of an unknown id with a 400, not the details' 404.
            raise ApiError(400, "Invalid ID.", code=NOT_FOUND_CODES["products"]) from None
        content, status = self.writer.update(state, fields)
        state = self.store.write("products", state.id, content, status=status)
        return Answer(self.render("products", state, "details", origin))

    def read(self, request: Request, endpoint: Endpoint) -> Answer:
        """An order's notes (``type``: any, customer, internal), newest first."""
        state = self._order_for_note(request.path_params["id"])
        notes = self.shipping.notes_of(state, request.query_params.get("type", "any"))
        order_url = f"{origin_of(request)}{API}/orders/{state.id}"
        return Answer([note_answer(note, order_url, local_time, gmt_time) for note in notes])

    def _order_for_note(self, raw_id: str) -> RecordState:
        try:
            return self.find("orders", raw_id)
        except ApiError as error:
            error.message = "Invalid order ID."
            error.code = NOT_FOUND_CODES["orders"]
            raise

    def update_status(self, request: Request, endpoint: Endpoint, raw_id: str, body: bytes) -> Answer:
        """Update an order: its ``status`` and ``meta_data`` (other fields are left as they are);
        answers the order. One change of the order (one ``order.updated``) whatever changed."""
        try:
            state = self.find(endpoint.resource, raw_id)
        except ApiError as error:
            error.code = NOT_FOUND_CODES[endpoint.resource]
            raise
        try:
            fields = json.loads(body)
        except ValueError:
            raise ApiError(400, "Invalid JSON body passed.", code="rest_invalid_json") from None
        if not isinstance(fields, dict):
            raise ApiError(400, "Invalid JSON body passed.", code="rest_invalid_json")
        status = fields.get("status")
        index = state.status
        if status is not None:
            if status not in ORDER_STATUSES:
                valid = ", ".join(ORDER_STATUSES)
                raise ApiError(400, f"status is not one of {valid}.", param="status")
            index = ORDER_STATUSES.index(status)
        # Arguments are validated before anything is saved, as WordPress does.
        meta_changed = "meta_data" in fields and self.shipping.write_meta(state, fields["meta_data"])
        if state.status != index or meta_changed:
            state.status = index
            self.store.touch(endpoint.resource, state.id)
        return Answer(self.render(endpoint.resource, state, "details", origin_of(request)))

    def error_body(self, error: ApiError, endpoint: Endpoint | None) -> Any:
        if error.fields:
            codes = error.data.get("detail_codes", {})
            params = {name: messages[0] for name, messages in error.fields.items()}
            return {
                "code": error.code or "rest_invalid_param",
                "message": error.message,
                "data": {
                    "status": error.status,
                    "params": params,
                    "details": {
                        name: {
                            "code": codes.get(name, "rest_invalid_param"),
                            "message": message,
                            "data": None,
                        }
                        for name, message in params.items()
                    },
                },
            }
        if error.param:
            return {
                "code": "rest_invalid_param",
                "message": f"Invalid parameter(s): {error.param}",
                "data": {"status": error.status, "params": {error.param: error.message}},
            }
        codes = {401: "woocommerce_rest_cannot_view", 404: "rest_no_route", 429: "too_many_requests"}
        platform = ("woocommerce_", "rest_", "product_")  # the codes WooCommerce and WordPress send
        code = error.code if error.code.startswith(platform) else codes.get(error.status)
        return {
            "code": code or "internal_server_error",
            "message": error.message,
            "data": {"status": error.status, **error.data},
        }

    def unauthorized(self, endpoint: Endpoint | None) -> ApiError:
        if endpoint is not None and endpoint.kind == "write":
            if endpoint.action in ("create", "note"):
                return ApiError(
                    401,
                    "Sorry, you are not allowed to create resources.",
                    code="woocommerce_rest_cannot_create",
                )
            return ApiError(
                401, "Sorry, you are not allowed to edit this resource.", code="woocommerce_rest_cannot_edit"
            )
        if endpoint is not None and endpoint.kind == "delete":
            return ApiError(
                401,
                "Sorry, you are not allowed to delete this resource.",
                code="woocommerce_rest_cannot_delete",
            )
        verb = (
            "view this resource" if endpoint is not None and endpoint.kind == "details" else "list resources"
        )
        return ApiError(401, f"Sorry, you cannot {verb}.", code="woocommerce_rest_cannot_view")

    def no_route(self) -> ApiError:
        return ApiError(404, "No route was found matching the URL and request method.", code="rest_no_route")

    def budget_headers(self, admission: Admission) -> dict[str, str]:
        return {}

    def throttled(self, retry_after: float, admission: Admission | None) -> Answer:
        error = ApiError(429, "Too many requests. Please slow down.", code="too_many_requests")
        return Answer(self.error_body(error, None), 429, {"Retry-After": str(max(1, math.ceil(retry_after)))})

    # --- records --------------------------------------------------------------------------------

    def render(self, resource: str, state: RecordState, view: View, origin: str) -> dict[str, Any]:
        origin = origin.rstrip("/")
        if resource == "orders":
            record = self._order(state, origin)
        elif resource == "products":
            record = self._product(state, origin)
        elif resource == "customers":
            record = self._customer(state, origin)
        else:
            raise ValueError(f"WooCommerce has no resource {resource!r}")
        links: dict[str, Any] = {
            "self": [{"href": f"{origin}{API}/{resource}/{state.id}"}],
            "collection": [{"href": f"{origin}{API}/{resource}"}],
        }
        if resource == "orders" and record["customer_id"]:
            links["customer"] = [{"href": f"{origin}{API}/customers/{record['customer_id']}"}]
        record["_links"] = links
        return record

    def _order(self, state: RecordState, origin: str) -> dict[str, Any]:
        facts = self.catalog.order(state.variant, placed=state.created, guest_share=0.3)
        # A trashed order keeps what it was before (paid, completed) but lists as trash.
        was = ORDER_STATUSES[state.status]
        status = TRASH if state.trashed else was
        record = TEMPLATES["orders"].fresh()
        method, title = PAYMENTS[facts.payment % len(PAYMENTS)]
        paid_at = state.created + 60 if was in PAID else None
        completed_at = (state.trashed_from or state.updated) if was == "completed" else None
        record.update(
            {
                "id": state.id,
                "parent_id": 0,
                "number": str(state.id),
                "order_key": f"wc_order_{facts.token[:13]}",
                "created_via": "checkout",
                "status": status,
                "currency": CURRENCY,
                "date_created": local_time(state.created),
                "date_created_gmt": gmt_time(state.created),
                "date_modified": local_time(state.updated),
                "date_modified_gmt": gmt_time(state.updated),
                "discount_total": money(facts.discount_cents),
                "discount_tax": "0.00",
                "shipping_total": money(facts.shipping_cents),
                "shipping_tax": "0.00",
                "cart_tax": money(facts.tax_cents),
                "total": money(facts.total_cents),
                "total_tax": money(facts.tax_cents),
                "prices_include_tax": False,
                "customer_id": facts.customer_id or 0,
                "customer_note": "",
                "billing": self._address(record["billing"], facts.customer, with_contact=True),
                "shipping": self._address(record["shipping"], facts.customer, with_contact=False),
                "payment_method": method,
                "payment_method_title": title,
                "transaction_id": f"txn_{facts.token[:16]}" if paid_at else "",
                "date_paid": local_time(paid_at),
                "date_paid_gmt": gmt_time(paid_at),
                "date_completed": local_time(completed_at),
                "date_completed_gmt": gmt_time(completed_at),
                "cart_hash": facts.token,
                "meta_data": self.shipping.meta_of(state),
                "fee_lines": [],
                "refunds": [],
            }
        )
        record["line_items"] = self._lines(record["line_items"][0], facts)
        tax_line = record["tax_lines"][0]
        record["tax_lines"] = (
            [
                dict(
                    tax_line,
                    id=state.id + 3,
                    tax_total=money(facts.tax_cents),
                )
            ]
            if facts.tax_cents
            else []
        )
        shipping_line = dict(record["shipping_lines"][0])
        shipping_line.update({"id": state.id + 2, "total": money(facts.shipping_cents)})
        if not facts.shipping_cents:
            shipping_line.update({"method_title": "Free shipping", "method_id": "free_shipping"})
        record["shipping_lines"] = [shipping_line]
        record["coupon_lines"] = (
            [
                {
                    "id": state.id + 4,
                    "code": (facts.coupon or "").lower(),
                    "discount": money(facts.discount_cents),
                    "discount_tax": "0.00",
                    "meta_data": [],
                }
            ]
            if facts.coupon
            else []
        )
        return record

    @staticmethod
    def _lines(template: dict[str, Any], facts: OrderFacts) -> list[dict[str, Any]]:
        lines = []
        for line in facts.lines:
            tax = line.total_cents * facts.tax_rate_bp // 10_000
            item = dict(template)
            item.update(
                {
                    "id": line.line_id,
                    "name": line.product.title,
                    "product_id": line.product_id,
                    "variation_id": 0,
                    "quantity": line.quantity,
                    "subtotal": money(line.total_cents),
                    "subtotal_tax": money(tax),
                    "total": money(line.total_cents),
                    "total_tax": money(tax),
                    "taxes": [{"id": 75, "total": money(tax), "subtotal": money(tax)}] if tax else [],
                    "meta_data": [],
                    "sku": line.product.sku,
                    "price": line.unit_cents / 100,
                }
            )
            lines.append(item)
        return lines

    @staticmethod
    def _address(template: dict[str, Any], buyer: Person, *, with_contact: bool) -> dict[str, Any]:
        address_1, city, state, postcode, country = ADDRESSES[buyer.place % len(ADDRESSES)]
        address = dict(template)
        address.update(
            {
                "first_name": buyer.first_name,
                "last_name": buyer.last_name,
                "company": "",
                "address_1": address_1,
                "address_2": "",
                "city": city,
                "state": state,
                "postcode": postcode,
                "country": country,
            }
        )
        if with_contact:
            address.update({"email": buyer.email, "phone": f"(555) 555-{buyer.digits % 10_000:04d}"})
        return address

    def _content(self, state: RecordState) -> WrittenProduct:
        """What the product is: as written through the API, else as its facts make it.

        A generated product's images live in the site's uploads: their ``src`` is a path, which the
        rendering puts under the URL the client called.
        """
        if state.written is not None:
            return state.written
        product = self.catalog.product(state.id)
        return WrittenProduct(
            name=product.title,
            description=f"<p>{product.title} by {product.vendor}.</p>\n",
            short_description=f"<p>{product.title}.</p>\n",
            sku=product.sku,
            handle=product.handle,
            price_cents=product.price_cents,
            sale_cents=product.sale_cents,
            quantity=product.stock,
            images=tuple(
                WrittenImage(state.id * 10 + index, f"/wp-content/uploads/{product.handle}-{index}.jpg")
                for index in range(product.images)
            ),
            extra={"category": product.category, "image_name": product.title},
        )

    def _product(self, state: RecordState, origin: str) -> dict[str, Any]:
        content = self._content(state)
        extra = content.extra
        record = TEMPLATES["products"].fresh()
        status = TRASH if state.trashed else PRODUCT_STATUSES[state.status]
        regular = content.price_cents if extra.get("regular_set", True) else None
        price = content.sale_cents if content.sale_cents is not None else regular
        on_sale = content.sale_cents is not None and regular is not None and regular > content.sale_cents
        quantity = content.quantity if content.manage_stock else None
        backorders = content.backorders
        added = extra.get("created_at", state.created)
        image_template = record["images"][0]
        images = []
        for written in content.images:
            image = dict(image_template)
            image.update(
                {
                    "id": written.id,
                    "date_created": local_time(added),
                    "date_created_gmt": gmt_time(added),
                    "date_modified": local_time(added),
                    "date_modified_gmt": gmt_time(added),
                    "src": f"{origin}{written.src}" if written.src.startswith("/") else written.src,
                    "name": extra.get("image_name") or self.writer.upload_names.get(written.id, ""),
                    "alt": written.alt,
                }
            )
            images.append(image)
        category = extra.get("category")
        categories = (
            [{"id": 9 + sum(map(ord, category)) % 50, "name": category, "slug": category.lower()}]
            if category
            else []
        )
        record.update(
            {
                "id": state.id,
                "name": content.name,
                "slug": content.handle,
                "permalink": f"{origin}/product/{content.handle}/",
                "date_created": local_time(state.created),
                "date_created_gmt": gmt_time(state.created),
                "date_modified": local_time(state.updated),
                "date_modified_gmt": gmt_time(state.updated),
                "type": extra.get("type", "simple"),
                "status": status,
                "featured": bool(extra.get("featured", False)),
                "catalog_visibility": extra.get("catalog_visibility", "visible"),
                "description": content.description,
                "short_description": content.short_description,
                "sku": content.sku,
                "price": "" if price is None else money(price),
                "regular_price": "" if regular is None else money(regular),
                "sale_price": "" if content.sale_cents is None else money(content.sale_cents),
                "price_html": "" if price is None else PRICE_HTML.format(money(price)),
                "on_sale": on_sale,
                "purchasable": status == "publish" and price is not None,
                "total_sales": 0 if extra.get("origin") == "api" else state.variant % 300,
                "manage_stock": content.manage_stock,
                "stock_quantity": quantity,
                "stock_status": self._stock_status(content),
                "backorders": backorders,
                "backorders_allowed": backorders != "no",
                "backordered": content.manage_stock and (quantity or 0) <= 0 and backorders != "no",
                "categories": categories,
                "tags": [
                    {"id": self.writer.tag_id(name), "name": name, "slug": slugify(name)}
                    for name in content.tags
                ],
                "images": images,
                "related_ids": [],
            }
        )
        return record

    @staticmethod
    def _stock_status(content: WrittenProduct) -> str:
        """Managed stock decides it (WooCommerce's validate_props); else it is what was written."""
        if not content.manage_stock:
            return str(content.extra.get("stock_status", "instock"))
        if (content.quantity or 0) > 0:
            return "instock"
        return "onbackorder" if content.backorders != "no" else "outofstock"

    def product_view(self, state: RecordState) -> ProductView:
        """``handle`` is the slug, ``price`` the regular price (0.00 when none is set), ``quantity``
        the managed stock (None when stock is not managed); ``visible`` a published product whose
        catalog visibility is not ``hidden``."""
        content = self._content(state)
        return ProductView(
            id=state.id,
            sku=content.sku,
            handle=content.handle,
            name=content.name,
            description=content.description,
            price=decimal_of(content.price_cents),
            quantity=content.quantity if content.manage_stock else None,
            visible=PRODUCT_STATUSES[state.status] == "publish"
            and content.extra.get("catalog_visibility", "visible") != "hidden",
            images=[image.src for image in content.images],
            tags=list(content.tags),
        )

    def _customer(self, state: RecordState, origin: str) -> dict[str, Any]:
        buyer = self.catalog.customer(state.id)
        record = TEMPLATES["customers"].fresh()
        record.update(
            {
                "id": state.id,
                "date_created": local_time(state.created),
                "date_created_gmt": gmt_time(state.created),
                "date_modified": local_time(state.updated),
                "date_modified_gmt": gmt_time(state.updated),
                "email": buyer.email,
                "first_name": buyer.first_name,
                "last_name": buyer.last_name,
                "role": "customer",
                "username": buyer.email.split("@")[0],
                "billing": self._address(record["billing"], buyer, with_contact=True),
                "shipping": self._address(record["shipping"], buyer, with_contact=False),
                "is_paying_customer": bool(state.variant % 2),
                "avatar_url": f"https://secure.gravatar.com/avatar/{hashlib.md5(buyer.email.encode()).hexdigest()}?s=96",
                "meta_data": [],
            }
        )
        return record

    # --- shipments: the order is the shipment ---------------------------------------------------

    def shipments(self, order_id: int | None = None) -> list[ShipmentView]:
        return self.shipping.shipments(order_id)

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None = None
    ) -> ShipmentView:
        return self.shipping.ship(
            order_id, carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url
        )

    def set_shipment_status(self, shipment_id: int, status: CarrierStatus) -> ShipmentView:
        return self.shipping.report(shipment_id, status)

    # --- webhooks -------------------------------------------------------------------------------

    def events(self, resource: str) -> tuple[str, ...]:
        if resource not in RESOURCE_NAMES:
            return ()
        name = RESOURCE_NAMES[resource]
        return (f"{name}.created", f"{name}.updated", f"{name}.deleted", *EXTRA_EVENTS.get(resource, ()))

    def event_for(self, resource: str, change: ChangeKind) -> str | None:
        if resource not in RESOURCE_NAMES:
            return None
        name = RESOURCE_NAMES[resource]
        if change == "trashed":
            return f"{name}.deleted"
        if change == "deleted" and resource in POST_TYPES:
            # order.deleted and product.deleted hook wp_trash_post (and woocommerce_trash_order);
            # a permanent deletion fires neither.
            return None
        return f"{name}.{change}"

    def delivery_body(self, resource: str, state: RecordState, event: str, context: DeliveryContext) -> Any:
        if event.endswith(".deleted"):
            return {"id": state.id}
        return self.render(resource, state, "webhook", context.source)

    def delivery_headers(
        self, resource: str, event: str, body: bytes, secret: str, context: DeliveryContext
    ) -> dict[str, str]:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        name, _, action = event.partition(".")
        # WooCommerce derives the delivery id from the webhook id and the current second, so two
        # deliveries of one webhook within a second share it (wp_hash(id . strtotime('now'))).
        delivery = hashlib.md5(f"{context.subscription_id}{int(context.occurred_at)}".encode()).hexdigest()
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": context.source.rstrip("/") + "/",
            "X-WC-Webhook-Topic": event,
            "X-WC-Webhook-Resource": name,
            "X-WC-Webhook-Event": action,
            "X-WC-Webhook-Signature": base64.b64encode(digest).decode(),
            "X-WC-Webhook-ID": str(context.subscription_id),
            "X-WC-Webhook-Delivery-ID": delivery,
        }
