"""Shared pieces for the provider tests: definitions built in code, fake time, a recording limiter."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest

from mercator.connector import ConnectorDefinition, validate_definition
from mercator.domain.rate_limits import RateSignal
from mercator.providers.client import ProviderClient
from mercator.providers.retries import RetryPolicy

BASE = "https://api.example.com/v1"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def resource(name: str = "orders", **fields: Any) -> dict[str, Any]:
    """A resource document: list endpoint /<name>, details /<name>/{id}, plus ``fields``."""
    doc: dict[str, Any] = {
        "name": name,
        "displayName": name.title(),
        "contentType": "core:product",
        "endpoints": {"list": {"url": f"/{name}"}, "details": {"url": f"/{name}/{{id}}"}},
        "apiMapping": {"code": "id", "name": "name"},
    }
    doc.update(fields)
    return doc


def connector(
    *resources: dict[str, Any],
    auth: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    base_url: str = BASE,
    rate: float = 5,
) -> ConnectorDefinition:
    doc: dict[str, Any] = {
        "name": "demo",
        "displayName": "Demo",
        "auth": auth or {"type": "api_key", "credentials": ["accessToken"]},
        "sync": {
            "baseUrl": base_url,
            "headers": headers if headers is not None else {"Authorization": "Bearer [[accessToken]]"},
            "syncConfiguration": {"rateLimitPerSecond": rate, "timeout": 5000},
            "resources": {doc["name"]: doc for doc in resources or (resource(),)},
        },
    }
    return validate_definition(doc)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class RecordingLimiter:
    """A RateLimiter that never waits and remembers what it was asked and told."""

    def __init__(self, rate: float = 10.0) -> None:
        self._rate = rate
        self.acquired = 0
        self.signals: list[RateSignal] = []

    @property
    def rate(self) -> float:
        return self._rate

    async def acquire(self) -> None:
        self.acquired += 1

    async def observe(self, signal: RateSignal) -> None:
        self.signals.append(signal)


class HighestRandom(random.Random):
    """Full jitter always drawing its upper bound, so expected waits can be worked out by hand."""

    def uniform(self, a: float, b: float) -> float:
        return b


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def retry_policy(sleep: SleepRecorder | None = None, **overrides: Any) -> RetryPolicy:
    return RetryPolicy(rng=HighestRandom(), sleep=sleep or SleepRecorder(), **overrides)


def make_client(
    definition: ConnectorDefinition,
    handler: Handler,
    *,
    credentials: Mapping[str, str] | None = None,
    limiter: RecordingLimiter | None = None,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> ProviderClient:
    return ProviderClient(
        definition,
        credentials if credentials is not None else {"accessToken": "tok-123456789"},
        limiter=limiter or RecordingLimiter(),
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        retry=retry or retry_policy(),
        **options,
    )


class AutoTime:
    """A clock whose sleep advances it at once: waits cost fake time, never real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class ManualTime:
    """A clock the test moves forward; sleepers wake when it passes their deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    @property
    def sleeping(self) -> int:
        return sum(1 for _, future in self._sleepers if not future.done())

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, future in self._sleepers:
            if deadline <= self.now + 1e-12 and not future.done():
                future.set_result(None)
        await settle()


async def settle(rounds: int = 20) -> None:
    """Let every ready task run until it blocks again."""
    for _ in range(rounds):
        await asyncio.sleep(0)
