"""Sandbox store test helpers: a fake clock and sleep, small stores, a webhook receiver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercator_sandbox import Sandbox
from mercator_sandbox.app import FlavorName

SMALL = {"orders": 60, "products": 25, "customers": 20, "carts": 15}
FLAVORS = ("salla", "shopify", "woocommerce")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Records every sleep and moves the clock by it instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> FakeSleep:
    return FakeSleep(clock)


SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox(clock: FakeClock, sleep: FakeSleep) -> SandboxFactory:
    """A small store with no rate limit on the fake clock, unless the test says otherwise."""

    def make(flavor: FlavorName = "salla", **options: Any) -> Sandbox:
        options.setdefault("seed", 11)
        options.setdefault("sizes", SMALL)
        options.setdefault("rate_limit", None)
        return Sandbox(flavor, clock=clock, sleep=sleep, **options)

    return make


@dataclass
class Receiver:
    """An in-process webhook endpoint that records what it was sent."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app()))


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()
