"""The sandbox store as an ASGI app: a flavor's routes behind one request pipeline.

Every request goes through the same steps, in the order a real platform and the network between
would apply them: latency (and hangs), credentials, the store's rate budget, the burst-429 fault,
the 5xx fault, the flavor's answer, then body corruption; a list page served may then change the
store (the mutation faults), which in turn queues webhooks.

Writes (creates, updates, status changes, deletions) take the same path; their body is read before
the flavor answers. A write the flavor applied may then lose its answer (the ``lost_write_answers``
fault): the store has changed, the client gets a 502 (or a 504 after a hang) instead.

Every HTTP answer, whatever produced it (a list, details, an error, the OAuth server), carries one
``Date`` header in the store's own time, as a platform's server stamps its answers: a client can read
the store's clock from it, even after ``Sandbox.advance_clock`` moved that clock. Serve the app with
the server's own ``Date`` turned off (uvicorn's ``date_header=False``, as ``serve.py`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercator_sandbox.counters import UNROUTED, Counters
from mercator_sandbox.dataset import Store
from mercator_sandbox.faults import FaultInjector, Faults
from mercator_sandbox.flavors import Answer, ApiError, Endpoint, Flavor, flavor_class
from mercator_sandbox.flavors.base import WRITE_KINDS
from mercator_sandbox.mutations import apply_mutations
from mercator_sandbox.oauth import OAuthServer, OAuthServerConfig
from mercator_sandbox.ratelimit import LeakyBucket, RateLimitConfig
from mercator_sandbox.shipments import CarrierStatus, ShipmentView
from mercator_sandbox.timebase import DEFAULT_ANCHOR, Clock, Sleep, StoreTime
from mercator_sandbox.webhooks import WebhookConfig, WebhookEmitter
from mercator_sandbox.writes import ProductView

FlavorName = Literal["salla", "shopify", "woocommerce", "crystal", "zid"]

# A proxy or bot-check page answered with 200: what a client sees when a host intercepts the API.
MALFORMED_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    b"<body><h1>Checking your browser before accessing the store.</h1></body></html>"
)


class StoreDateHeader:
    """ASGI middleware: stamps every HTTP answer with ``Date`` in the store's time, replacing any other."""

    def __init__(self, app: ASGIApp, store_time: StoreTime) -> None:
        self.app = app
        self.store_time = store_time

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value) for name, value in message.get("headers", []) if name.lower() != b"date"
                ]
                headers.append((b"date", self.store_time.http_date().encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)


class Sizes(BaseModel):
    """How many records of each resource the store is generated with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    orders: int = Field(1_000, ge=0, le=1_000_000)
    products: int = Field(200, ge=0, le=200_000)
    customers: int = Field(200, ge=0, le=200_000)
    carts: int = Field(100, ge=0, le=200_000)


class SandboxConfig(BaseModel):
    """Everything that defines a sandbox store; the same config and seed give the same store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flavor: FlavorName = "salla"
    seed: int = 0
    sizes: Sizes = Sizes()
    anchor: AwareDatetime = Field(DEFAULT_ANCHOR, description="the newest moment of the generated data")
    span_days: int = Field(365, ge=1, le=3_650, description="generated records were created over this span")
    max_per_page: int | None = Field(
        None, ge=1, le=10_000, description="page size cap (flavor default if unset)"
    )
    rate_limit: RateLimitConfig | Literal["platform"] | None = Field(
        "platform", description="the store's budget: the platform's own, a custom one, or none"
    )
    faults: Faults = Faults()
    webhooks: WebhookConfig | None = None
    oauth: OAuthServerConfig | None = Field(
        None, description="serve /oauth/authorize and /oauth/token; tokens are then checked (see oauth.py)"
    )


class Sandbox:
    """One sandbox store: ``app`` (ASGI), ``store``, ``counters``, ``faults``, ``emitter``.

    ``clock`` and ``sleep`` drive every time-dependent behaviour, so tests inject fakes;
    ``webhook_client`` delivers webhooks (an ``httpx.AsyncClient``, e.g. over ``ASGITransport``).
    """

    def __init__(
        self,
        flavor: FlavorName = "salla",
        *,
        seed: int = 0,
        sizes: Sizes | Mapping[str, int] | None = None,
        faults: Faults | Mapping[str, Any] | None = None,
        rate_limit: RateLimitConfig | Literal["platform"] | None = "platform",
        max_per_page: int | None = None,
        webhooks: WebhookConfig | Mapping[str, Any] | None = None,
        anchor: datetime = DEFAULT_ANCHOR,
        span_days: int = 365,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        webhook_client: httpx.AsyncClient | None = None,
        oauth: OAuthServerConfig | Mapping[str, Any] | None = None,
    ) -> None:
        config = SandboxConfig.model_validate(
            {
                "flavor": flavor,
                "seed": seed,
                "sizes": sizes if sizes is not None else Sizes(),
                "faults": faults if faults is not None else Faults(),
                "rate_limit": rate_limit,
                "max_per_page": max_per_page,
                "webhooks": webhooks,
                "anchor": anchor,
                "span_days": span_days,
                "oauth": oauth,
            }
        )
        self._setup(config, clock, sleep, webhook_client)

    @classmethod
    def from_config(
        cls,
        config: SandboxConfig,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        webhook_client: httpx.AsyncClient | None = None,
    ) -> Sandbox:
        sandbox = cls.__new__(cls)
        sandbox._setup(config, clock, sleep, webhook_client)
        return sandbox

    def _setup(
        self, config: SandboxConfig, clock: Clock, sleep: Sleep, webhook_client: httpx.AsyncClient | None
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        kind = flavor_class(config.flavor)
        self.store = Store(
            kind.specs,
            config.sizes.model_dump(),
            seed=config.seed,
            time=StoreTime(config.anchor, clock),
            span_days=config.span_days,
        )
        self.flavor: Flavor = kind(self.store, max_per_page=config.max_per_page)
        self.counters = Counters()
        self.injector = FaultInjector(config.seed)
        self._faults = config.faults
        budget = kind.platform_rate_limit if config.rate_limit == "platform" else config.rate_limit
        self.bucket = LeakyBucket(budget, clock) if budget is not None else None
        self.emitter = (
            WebhookEmitter(
                self.flavor,
                self.store,
                config.webhooks,
                self.counters,
                seed=config.seed,
                client=webhook_client,
            )
            if config.webhooks is not None
            else None
        )
        self.oauth = OAuthServer(config.oauth, clock) if config.oauth is not None else None
        self.app = self._build_app()

    # --- knobs ----------------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the faults, or change some knobs (``set_faults(error_rate=0.2)``); takes effect at once."""
        if faults is not None and changes:
            raise ValueError("give either a Faults object or knob changes, not both")
        if faults is None:
            faults = Faults.model_validate({**self._faults.model_dump(), **changes})
        if faults.lost_write_answers != self._faults.lost_write_answers:
            self.injector.lost_answers = 0  # a new lost-answers knob allows its count afresh
        self._faults = faults
        return faults

    def advance_clock(self, seconds: float) -> float:
        """Jump the store's wall time forward by ``seconds`` now, without waiting; the store's new time.

        Everything the store stamps afterwards (record changes, inserts, trash and deletions, events,
        webhook times, the ``Date`` header) is that much later; the rate budget and token lifetimes,
        which measure elapsed time, are not affected (see ``timebase.py``).
        """
        return self.store.time.advance(seconds)

    def products(self) -> list[ProductView]:
        """Every live product in platform-neutral terms, by id: what a test compares with its source.

        Each is ``{"id", "sku", "handle", "name", "description", "price", "quantity", "visible",
        "images", "tags"}``: ``price`` the regular price as a two-place Decimal, ``quantity`` None when
        the store counts no stock for it, ``handle`` None where the platform has none (Salla),
        ``visible`` the platform's published state (see each flavor's ``product_view``).
        """
        return self.flavor.products()

    def shipments(self, order_id: int | None = None) -> list[ShipmentView]:
        """Every shipment (of one order), platform-neutral: ``{"id", "order_id", "status", "carrier",
        "tracking_numbers", "tracking_url"}``, ``status`` in the platform's own words."""
        return self.flavor.shipments(order_id)

    def ship(
        self, order_id: int, *, carrier: str, tracking_number: str, tracking_url: str | None = None
    ) -> ShipmentView:
        """The merchant ships an order from the store's admin (the platform's webhooks follow)."""
        return self.flavor.ship(
            order_id, carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url
        )

    def set_shipment_status(self, shipment_id: int, status: CarrierStatus) -> ShipmentView:
        """The carrier reports a shipment's progress, e.g. ``delivered`` (the platform's webhooks follow)."""
        return self.flavor.set_shipment_status(shipment_id, status)

    def base_url(self, origin: str = "http://testserver") -> str:
        """The base URL to put in a connector: the origin plus the platform's API prefix."""
        return f"{origin.rstrip('/')}{self.flavor.prefix}"

    @property
    def credentials(self) -> dict[str, str]:
        """Request headers the store accepts (any non-empty credentials in this form work)."""
        return dict(self.flavor.sample_headers)

    def client(self, origin: str = "http://testserver", **options: Any) -> httpx.AsyncClient:
        """An in-process client of this store, already authenticated, based at ``base_url``."""
        headers = {**self.credentials, **options.pop("headers", {})}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=self.base_url(origin),
            headers=headers,
            **options,
        )

    # --- the ASGI app ---------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        routes = [self._route(endpoint) for endpoint in self.flavor.endpoints]
        if self.oauth is not None:
            routes.extend(self.oauth.routes())
        routes.append(Route("/{path:path}", self._unrouted, methods=None))
        app = Starlette(
            routes=routes,
            lifespan=self._lifespan,
            middleware=[Middleware(StoreDateHeader, store_time=self.store.time)],
        )
        app.state.sandbox = self
        app.state.store = self.store
        app.state.counters = self.counters
        return app

    def _route(self, endpoint: Endpoint) -> Route:
        async def handle(request: Request) -> Response:
            return await self._serve(request, endpoint)

        return Route(self.flavor.prefix + endpoint.path, handle, methods=[endpoint.method])

    async def _unrouted(self, request: Request) -> Response:
        return await self._serve(request, None)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        emitter = self.emitter
        task = asyncio.create_task(emitter.run()) if emitter is not None else None
        try:
            yield
        finally:
            if task is not None and emitter is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await emitter.flush()
                await emitter.aclose()

    async def _serve(self, request: Request, endpoint: Endpoint | None) -> Response:
        self.counters.request(request.method, endpoint.path if endpoint else UNROUTED, self._clock())
        faults = self._faults
        delay = self.injector.latency(faults)
        if delay:
            await self._sleep(delay)
        if self.injector.hangs(faults):
            self.counters.hangs += 1
            await self._sleep(faults.hang_seconds)
        # Read before answering: the flavors answer synchronously, a request body arrives asynchronously.
        writes = endpoint is not None and endpoint.kind in WRITE_KINDS
        sent = await request.body() if writes else b""
        answer = self._answer(request, endpoint, faults, sent)
        if writes and 200 <= answer.status < 300 and self.injector.loses_answer(faults):
            answer = await self._lost(faults)
        body = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode()
        media_type = "application/json"
        if answer.status == 200:
            corruption = self.injector.corruption(faults)
            if corruption == "truncated":
                self.counters.truncated += 1
                body = body[: len(body) // 2]
            elif corruption == "malformed":
                self.counters.malformed += 1
                body, media_type = MALFORMED_PAGE, "text/html; charset=UTF-8"
        if answer.page is not None and faults.mutations.active:
            apply_mutations(self.store, answer.page, faults.mutations, self.injector, self.counters)
        self.counters.answered(answer.status)
        return Response(body, answer.status, answer.headers, media_type=media_type)

    async def _lost(self, faults: Faults) -> Answer:
        """The answer of a write that landed, lost on the way: a 502 now, or a 504 after a hang."""
        self.counters.lost_answers += 1
        if faults.lost_write_answers.mode == "hang":
            self.counters.hangs += 1
            await self._sleep(faults.hang_seconds)
            return self.flavor.server_error(504)
        return self.flavor.server_error(502)

    def _answer(self, request: Request, endpoint: Endpoint | None, faults: Faults, sent: bytes) -> Answer:
        flavor = self.flavor
        if endpoint is None:
            return self._error(flavor.no_route(), None)
        if not flavor.authenticate(request) or not self._token_accepted(request):
            return self._error(flavor.unauthorized(endpoint), endpoint)
        admission = self.bucket.admit() if self.bucket is not None else None
        if admission is not None and not admission.allowed:
            self.counters.throttled += 1
            return flavor.throttled(admission.retry_after, admission)
        answer = self._fault_or_answer(request, endpoint, faults, sent)
        if admission is not None:
            answer.headers.update(flavor.budget_headers(admission))
        return answer

    def _token_accepted(self, request: Request) -> bool:
        """With the OAuth server on: the sample token, or a token it issued that has not expired."""
        if self.oauth is None:
            return True
        token = self.flavor.access_token(request.headers)
        if token is None or token == self.flavor.sample_token:
            return True
        return self.oauth.token_status(token) == "valid"

    def _fault_or_answer(self, request: Request, endpoint: Endpoint, faults: Faults, sent: bytes) -> Answer:
        if self.injector.burst_429(faults):
            self.counters.throttled += 1
            return self.flavor.throttled(faults.burst_429_retry_after, None)
        status = self.injector.server_error(faults)
        if status is not None:
            self.counters.server_errors += 1
            return self.flavor.server_error(status)
        try:
            if endpoint.kind == "list":
                return self.flavor.list_page(request, endpoint)
            if endpoint.kind == "status":
                return self.flavor.update_status(request, endpoint, request.path_params["id"], sent)
            if endpoint.kind == "delete":
                return self.flavor.delete_record(request, endpoint, request.path_params["id"])
            if endpoint.kind == "write":
                return self.flavor.write(request, endpoint, sent)
            if endpoint.kind == "read":
                return self.flavor.read(request, endpoint)
            return self.flavor.details(request, endpoint, request.path_params["id"])
        except ApiError as error:
            return self._error(error, endpoint)

    def _error(self, error: ApiError, endpoint: Endpoint | None) -> Answer:
        if error.body is not None:
            return Answer(error.body, error.status)
        return Answer(self.flavor.error_body(error, endpoint), error.status)


def create_app(
    flavor: FlavorName,
    config: SandboxConfig | None = None,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    webhook_client: httpx.AsyncClient | None = None,
) -> Starlette:
    """The Starlette app of a new sandbox store; ``app.state.sandbox`` holds the store and its knobs."""
    config = (config or SandboxConfig()).model_copy(update={"flavor": flavor})
    return Sandbox.from_config(config, clock=clock, sleep=sleep, webhook_client=webhook_client).app
