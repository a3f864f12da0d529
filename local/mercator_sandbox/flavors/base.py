"""What every platform flavor provides, and the request-parsing pieces they share.

A flavor knows one platform's surface: its URL prefix and endpoints, its credentials, its list
envelope and pagination, its error bodies, its rate-limit headers, the shapes of its records and
how it signs webhooks. The request pipeline around it (faults, budget, counters) is in ``app.py``.

Writes: a flavor lists its write routes as ``Endpoint(kind="write", action=...)`` and answers them in
:meth:`Flavor.write` (the pipeline reads the body first); other reads than lists and details by id
(a product by SKU, Shopify's locations) are ``kind="read"`` routes answered in :meth:`Flavor.read`.
Written products keep their content on the record (``writes.py``); :meth:`Flavor.product_view` says
what a product is in platform-neutral terms, for ``Sandbox.products()``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any, ClassVar, Literal

from starlette.requests import Request

from mercator.mapping.dates import parse_datetime
from mercator_sandbox.dataset import ChangeKind, RecordState, ResourceSpec, Store
from mercator_sandbox.facts import Catalog
from mercator_sandbox.mutations import ServedPage
from mercator_sandbox.ratelimit import Admission, RateLimitConfig
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.writes import ProductView

View = Literal["list", "details", "webhook"]


EndpointKind = Literal["list", "details", "status", "delete", "write", "read"]
WRITE_KINDS: frozenset[str] = frozenset({"status", "delete", "write"})


@dataclass(frozen=True)
class Endpoint:
    """One route of a flavor, relative to its prefix; ``status`` routes set a record's status and
    ``delete`` routes delete it the platform's way; ``write`` routes (creates, updates) are answered by
    :meth:`Flavor.write` and other ``read`` routes by :meth:`Flavor.read`, ``action`` naming which."""

    resource: str
    kind: EndpointKind
    path: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    action: str = ""


class ApiError(Exception):
    """A request the platform would refuse; the flavor turns it into its own error body.

    ``fields`` names every invalid field with its messages, for platforms that report them all at
    once (Salla's ``fields``, Shopify's ``errors``, WordPress's ``params``); ``data`` adds what a
    platform puts beside the message (WooCommerce's ``resource_id``); ``body``, when given, is the
    exact body to answer, for refusals that fit no general shape.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        param: str | None = None,
        fields: Mapping[str, list[str]] | None = None,
        data: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.fields: dict[str, list[str]] = dict(fields or {})
        self.data: dict[str, Any] = dict(data or {})
        self.body = body


@dataclass
class Answer:
    """A flavor's answer before faults and budget headers are applied."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    page: ServedPage | None = None


@dataclass(frozen=True)
class DeliveryContext:
    """Facts of one webhook event shared by every copy of its delivery."""

    occurred_at: float  # epoch seconds, store time
    event_id: str  # unique per event; a duplicate delivery repeats it
    delivery_id: str  # unique per delivery; a duplicate delivery repeats it
    subscription_id: int  # the webhook subscription's id on the platform
    store_id: int  # the store's id on the platform (Salla's merchant)
    source: str  # the store's own URL


class Flavor(ABC):
    name: ClassVar[str]
    prefix: ClassVar[str]
    endpoints: ClassVar[tuple[Endpoint, ...]]
    specs: ClassVar[Mapping[str, ResourceSpec]]
    platform_rate_limit: ClassVar[RateLimitConfig | None]
    default_max_per_page: ClassVar[int]
    credentials_hint: ClassVar[str]
    sample_headers: ClassVar[dict[str, str]]  # credentials that work, for tests and the printed hint
    webhook_content_type: ClassVar[str] = "application/json"

    def __init__(self, store: Store, *, max_per_page: int | None = None) -> None:
        self.store = store
        self.catalog = Catalog(store)
        self.max_per_page = max_per_page or self.default_max_per_page

    # --- requests -------------------------------------------------------------------------------

    @abstractmethod
    def authenticate(self, request: Request) -> bool:
        """Whether the request carries credentials in the platform's form (any non-empty value)."""

    def access_token(self, headers: Mapping[str, str]) -> str | None:
        """The OAuth access token ``headers`` present, for platforms that issue them; else None."""
        return None

    @property
    def sample_token(self) -> str | None:
        """The access token of ``sample_headers``, accepted whether or not the OAuth server issued it."""
        return self.access_token(self.sample_headers)

    @abstractmethod
    def list_page(self, request: Request, endpoint: Endpoint) -> Answer:
        """One page of a list endpoint."""

    def details(self, request: Request, endpoint: Endpoint, raw_id: str) -> Answer:
        # A trashed record still answers by id (WooCommerce); a deleted one is a 404 everywhere.
        state = self.find(endpoint.resource, raw_id, trashed=True)
        record = self.render(endpoint.resource, state, "details", origin_of(request))
        return Answer(self.wrap_details(endpoint.resource, record))

    def update_status(self, request: Request, endpoint: Endpoint, raw_id: str, body: bytes) -> Answer:
        """Set a record's status from a write's body; flavors without such an endpoint never get here."""
        raise self.no_route()

    def delete_record(self, request: Request, endpoint: Endpoint, raw_id: str) -> Answer:
        """Delete a record the platform's way; flavors without such an endpoint never get here."""
        raise self.no_route()

    def write(self, request: Request, endpoint: Endpoint, body: bytes) -> Answer:
        """Answer a ``write`` route (``endpoint.action``) from its body; flavors with none never get here."""
        raise self.no_route()

    def read(self, request: Request, endpoint: Endpoint) -> Answer:
        """Answer a ``read`` route (``endpoint.action``); flavors without any never get here."""
        raise self.no_route()

    def product_view(self, state: RecordState) -> ProductView:
        """A product in platform-neutral terms (written content, or its facts when never written)."""
        raise NotImplementedError(f"the {self.name} flavor has no platform-neutral product view")

    def products(self) -> list[ProductView]:
        """Every live product in platform-neutral terms, by id."""
        if "products" not in self.store.resources:
            return []
        table = self.store.table("products")
        return [self.product_view(table.records[i]) for i in sorted(table.records)]

    def shipments(self, order_id: int | None = None) -> list[ShipmentView]:
        """Every shipment of the store (of one order with ``order_id``), platform-neutral, by id."""
        raise NotImplementedError(f"the {self.name} flavor has no shipments")

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None = None
    ) -> ShipmentView:
        """The merchant ships the order from the store's own admin: a shipment with tracking, the
        order's status moved as the platform moves it, the platform's webhooks queued."""
        raise NotImplementedError(f"the {self.name} flavor has no shipments")

    def set_shipment_status(self, shipment_id: int, status: CarrierStatus) -> ShipmentView:
        """The carrier reports the shipment's progress (``delivered``...): the platform's status set,
        the order moved as the platform moves it, the platform's webhooks queued."""
        raise NotImplementedError(f"the {self.name} flavor has no shipments")

    def product_ids(self, matches: Callable[[RecordState], bool], *, trashed: bool = False) -> frozenset[int]:
        """The live (and with ``trashed``, trashed) products for which ``matches`` holds."""
        table = self.store.table("products")
        states = list(table.records.values())
        if trashed:
            states += table.trashed.values()
        return frozenset(state.id for state in states if matches(state))

    def find(self, resource: str, raw_id: str, *, trashed: bool = False) -> RecordState:
        """The live record ``raw_id`` names (or a trashed one too, with ``trashed``); else ApiError(404)."""
        missing = ApiError(404, self.not_found_message(resource), code="not_found")
        try:
            record_id = int(raw_id)
        except ValueError:
            raise missing from None
        state = (
            self.store.retrievable(resource, record_id) if trashed else self.store.find(resource, record_id)
        )
        if state is None:
            raise missing
        return state

    def not_found_message(self, resource: str) -> str:
        return "Not Found"

    def unauthorized(self, endpoint: Endpoint | None) -> ApiError:
        """The refusal of a request without credentials."""
        return ApiError(401, "Unauthorized", code="unauthorized")

    def no_route(self) -> ApiError:
        return ApiError(404, "Not Found", code="no_route")

    @abstractmethod
    def wrap_details(self, resource: str, record: dict[str, Any]) -> Any:
        """The body of a details answer around the record."""

    @abstractmethod
    def error_body(self, error: ApiError, endpoint: Endpoint | None) -> Any:
        """The platform's error shape."""

    @abstractmethod
    def budget_headers(self, admission: Admission) -> dict[str, str]:
        """Rate-limit headers on an answer the bucket admitted."""

    @abstractmethod
    def throttled(self, retry_after: float, admission: Admission | None) -> Answer:
        """A 429, from the bucket (``admission``) or from the burst fault (None)."""

    def server_error(self, status: int) -> Answer:
        messages = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        error = ApiError(status, messages.get(status, "Server Error"), code="server_error")
        return Answer(self.error_body(error, None), status)

    # --- records --------------------------------------------------------------------------------

    @abstractmethod
    def render(self, resource: str, state: RecordState, view: View, origin: str) -> dict[str, Any]:
        """The record as the platform sends it in a list, a details answer or a webhook.

        ``origin`` is the store's own URL (``scheme://host``), for platforms whose records link back.
        """

    # --- webhooks -------------------------------------------------------------------------------

    @abstractmethod
    def events(self, resource: str) -> tuple[str, ...]:
        """Webhook events the platform sends for ``resource`` (those the shipped connector handles)."""

    @abstractmethod
    def event_for(self, resource: str, change: ChangeKind) -> str | None:
        """The event a change fires, or None when the platform sends none for it."""

    @abstractmethod
    def delivery_body(self, resource: str, state: RecordState, event: str, context: DeliveryContext) -> Any:
        """The JSON body of a delivery."""

    @abstractmethod
    def delivery_headers(
        self, resource: str, event: str, body: bytes, secret: str, context: DeliveryContext
    ) -> dict[str, str]:
        """The signed headers of a delivery."""


# --- shared request parsing ---------------------------------------------------------------------


def json_object(body: bytes, invalid: ApiError) -> dict[str, Any]:
    """A write's body as a JSON object; ``invalid`` when it is not JSON or not an object."""
    try:
        fields = json.loads(body) if body.strip() else {}
    except ValueError:
        raise invalid from None
    if not isinstance(fields, dict):
        raise invalid
    return fields


def origin_of(request: Request) -> str:
    """``scheme://host[:port]`` of the URL the client called."""
    return f"{request.url.scheme}://{request.url.netloc}"


def whole_number(
    params: Mapping[str, str], name: str, default: int, *, minimum: int = 1, maximum: int | None = None
) -> int:
    """An integer query parameter; ApiError(400) names the parameter when it is not one."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number, got {raw!r}", param=name) from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ApiError(400, f"{name} must be {bounds}, got {value}", param=name)
    return value


def moment(params: Mapping[str, str], name: str, assume: tzinfo = UTC) -> int | None:
    """A date-time query parameter as epoch seconds; a value without a zone is read in ``assume``."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    text = raw.strip()
    # A "+" in an offset arrives as a space when the client did not escape it.
    if len(text) > 19 and text[-6] == " " and text[-5:-3].isdigit():
        text = f"{text[:-6]}+{text[-5:]}"
    try:
        if not text[:4].isdigit() or text.isdigit():
            raise ValueError(text)
        parsed = parse_datetime(text, assume)
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO 8601 date-time, got {raw!r}", param=name) from None
    return int(parsed.timestamp())
