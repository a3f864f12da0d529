"""Signed webhook deliveries of the store's changes, each platform's way.

Every change of the store (a mutation fault or ``Store.touch/insert/delete``) that the platform
reports becomes a delivery, built at once (so it carries the record as it was at that moment) and
queued; ``emit`` queues one for a named event. ``flush`` posts the queued batch to the configured
URL through the injected ``httpx.AsyncClient`` (so it can reach an in-process ASGI app), with the
delivery knobs applied: ``reorder`` shuffles the batch, ``duplicate_rate`` sends a delivery twice
(same body, same ids, as a platform's retry would) and ``drop_rate`` never sends it. Served by
``mercator sandbox``, a background task flushes every ``flush_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mercator_sandbox.counters import Counters
from mercator_sandbox.dataset import Change, Store, UnknownRecordError
from mercator_sandbox.flavors.base import DeliveryContext, Flavor


class WebhookConfig(BaseModel):
    """Where deliveries go, the signing secret, and the delivery knobs (off by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="the endpoint deliveries are posted to")
    secret: str = Field(min_length=1, description="the HMAC key the platform signs with")
    duplicate_rate: float = Field(0, ge=0, le=1, description="probability a delivery is sent twice")
    drop_rate: float = Field(0, ge=0, le=1, description="probability a delivery is never sent")
    reorder: bool = Field(False, description="deliver each batch in a shuffled order")
    source: str = Field("https://shop.mercator-sandbox.test", description="the store's URL in deliveries")
    subscription_id: int = Field(1, ge=1, description="the webhook subscription's id on the platform")
    store_id: int = Field(1_305_146_709, ge=1, description="the store's id on the platform (Salla merchant)")
    timeout: float = Field(10.0, gt=0, le=600, description="seconds to wait for the receiver")
    flush_interval: float = Field(0.5, gt=0, le=3_600, description="seconds between deliveries when served")

    @field_validator("url", "source")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


@dataclass(frozen=True)
class Delivery:
    resource: str
    record_id: int
    event: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class DeliveryResult:
    delivery: Delivery
    status: int | None  # None when the receiver could not be reached
    error: str | None = None
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookEmitter:
    def __init__(
        self,
        flavor: Flavor,
        store: Store,
        config: WebhookConfig,
        counters: Counters,
        *,
        seed: int,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.flavor = flavor
        self.store = store
        self.config = config
        self.counters = counters
        self.pending: list[Delivery] = []
        self.rng = random.Random(f"{seed}:webhooks")
        self._client = client
        self._owns_client = client is None
        store.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        event = self.flavor.event_for(change.resource, change.kind)
        if event is not None:
            self.pending.append(self._build(change.resource, change.id, event))

    def emit(self, resource: str, record_id: int, event: str) -> Delivery:
        """Queue a delivery of ``event`` for a record (live or deleted); ValueError for unknown events."""
        valid = self.flavor.events(resource) if resource in self.store.resources else ()
        if not valid:
            raise ValueError(f"{self.flavor.name} sends no webhooks for {resource!r}")
        if event not in valid:
            raise ValueError(
                f"{self.flavor.name} sends no {event!r} for {resource}; valid: {', '.join(valid)}"
            )
        delivery = self._build(resource, record_id, event)
        self.pending.append(delivery)
        return delivery

    def _build(self, resource: str, record_id: int, event: str) -> Delivery:
        state = self.store.lookup(resource, record_id)
        if state is None:
            raise UnknownRecordError(resource, record_id)
        context = DeliveryContext(
            occurred_at=self.store.time.now(),
            event_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            delivery_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            subscription_id=self.config.subscription_id,
            store_id=self.config.store_id,
            source=self.config.source,
        )
        payload = self.flavor.delivery_body(resource, state, event, context)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = self.flavor.delivery_headers(resource, event, body, self.config.secret, context)
        return Delivery(resource, record_id, event, body, headers)

    async def flush(self) -> list[DeliveryResult]:
        """Post every queued delivery; the results in the order they were sent."""
        batch, self.pending = self.pending, []
        if self.config.reorder:
            self.rng.shuffle(batch)
        results: list[DeliveryResult] = []
        for delivery in batch:
            if self.config.drop_rate and self.rng.random() < self.config.drop_rate:
                self.counters.webhooks["dropped"] += 1
                continue
            twice = bool(self.config.duplicate_rate) and self.rng.random() < self.config.duplicate_rate
            results.append(await self._post(delivery, duplicate=False))
            if twice:
                self.counters.webhooks["duplicated"] += 1
                results.append(await self._post(delivery, duplicate=True))
        return results

    async def _post(self, delivery: Delivery, *, duplicate: bool) -> DeliveryResult:
        if self._client is None:
            self._client = httpx.AsyncClient()
        self.counters.webhooks["sent"] += 1
        try:
            response = await self._client.post(
                self.config.url, content=delivery.body, headers=delivery.headers, timeout=self.config.timeout
            )
        except httpx.HTTPError as exc:
            self.counters.webhooks["failed"] += 1
            return DeliveryResult(delivery, None, f"{type(exc).__name__}: {exc}", duplicate)
        result = DeliveryResult(delivery, response.status_code, None, duplicate)
        if not result.ok:
            self.counters.webhooks["failed"] += 1
        return result

    async def run(self) -> None:
        """Flush every ``flush_interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.config.flush_interval)
            await self.flush()

    def use_client(self, client: httpx.AsyncClient) -> None:
        """Post through ``client`` from now on (the caller's, which it closes itself): a client serves
        one event loop, so a caller posting from a new one hands the emitter a new client."""
        self._client = client
        self._owns_client = False

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
