"""The demo's webhook side: the store's deliveries and their answers, the workflow's receiver, a bus tap.

- ``DeliveryPath`` is the transport the sandbox store posts its webhooks through: before each
  delivery it runs one round of queue work, and it notes what Mercator answered (the intake's
  ``{"status": <outcome>}``).
- ``change_orders_twice`` makes deliveries that can arrive out of order; ``expected_stale`` counts
  the orders whose older change the store sent after the newer one, and ``DroppedDeliveries`` sorts
  the deliveries the store dropped by what can still bring their change.
- ``WorkflowReceiver`` is the tenant's endpoint of a ``webhook`` workflow action: it verifies every
  POST's Standard Webhooks signature and counts what it verified, refused and saw.
- ``BusTap`` subscribes a queue to Mercator's event bus with a rule on ``source`` prefix
  ``mercator.``, as an AWS-native consumer of fired triggers would, and counts what arrives.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from mercator.signatures.standard_webhooks import verify
from mercator.signatures.verification import VerificationError
from mercator_sandbox import Delivery, DeliveryResult, Sandbox


@dataclass
class DeliveryAnswers:
    """What Mercator answered the store's deliveries: HTTP statuses, and the intake's outcomes."""

    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def received(self) -> int:
        return sum(self.statuses.values())


class DeliveryPath(httpx.AsyncBaseTransport):
    """The store's way to Mercator's webhook API: one round of queue work before each delivery.

    The local functions share this process's environment and module table while they run, so the
    queue consumers must not run while the API's intake does. Working the queues between deliveries,
    in a worker thread the delivery waits for (a handler may start an event loop of its own), keeps
    them one at a time, with the deliveries arriving while enrichment and dispatch are under way.
    """

    def __init__(self, between: Callable[[], None], inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.between = between
        self._inner = inner or httpx.AsyncHTTPTransport()
        self.answers = DeliveryAnswers()
        self.posted = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.to_thread(self.between)
        self.posted += 1
        response = await self._inner.handle_async_request(request)
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        answer = httpx.Response(
            response.status_code, headers=response.headers, content=raw, extensions=response.extensions
        )
        self.answers.statuses[answer.status_code] += 1
        self.answers.outcomes[_outcome(answer)] += 1
        return answer

    async def aclose(self) -> None:
        await self._inner.aclose()


def _outcome(answer: httpx.Response) -> str:
    try:
        body: Any = answer.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    status = body.get("status") if isinstance(body, dict) else None
    return status if isinstance(status, str) else f"HTTP {answer.status_code}"


@dataclass(frozen=True)
class ReceiverCounts:
    verified: int = 0
    refused: int = 0
    distinct_ids: int = 0

    def since(self, earlier: ReceiverCounts) -> ReceiverCounts:
        return ReceiverCounts(
            self.verified - earlier.verified,
            self.refused - earlier.refused,
            self.distinct_ids - earlier.distinct_ids,
        )


class WorkflowReceiver:
    """A tenant's HTTPS endpoint for workflow webhooks, as its owner would write one: verify, then count."""

    path = "/mercator/orders"

    def __init__(self, secret: str, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._secret = secret
        self._now = now
        self._lock = threading.Lock()
        self._verified = 0
        self._refused = 0
        self._ids: set[str] = set()
        self.app: ASGIApp = Starlette(routes=[Route(self.path, self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        try:
            verify(self._secret, request.headers, body, now=self._now())
        except VerificationError:
            with self._lock:
                self._refused += 1
            return Response(status_code=401)
        with self._lock:
            self._verified += 1
            self._ids.add(request.headers["webhook-id"])
        return Response(status_code=204)

    def counts(self) -> ReceiverCounts:
        with self._lock:
            return ReceiverCounts(self._verified, self._refused, len(self._ids))


class BusTap:
    """A queue subscribed to Mercator's event bus by a rule on ``source`` prefix ``mercator.``."""

    def __init__(self, events: Any, sqs: Any, *, bus: str, name: str) -> None:
        self._sqs = sqs
        self.queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        pattern = {"source": [{"prefix": "mercator."}]}
        rule_arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))["RuleArn"]
        # What EventBridge needs on AWS to deliver to the queue: the rule may send to it, nobody else.
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)})
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "demo-tap", "Arn": queue_arn}])

    def take(self) -> Counter[str]:
        """Every event that arrived since the last take, counted by detail type (the trigger's event)."""
        fired: Counter[str] = Counter()
        while messages := self._sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", []):
            for message in messages:
                fired[str(json.loads(message["Body"])["detail-type"])] += 1
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return fired


@dataclass(frozen=True)
class TwiceChanged:
    """The two deliveries of an order changed twice: ``older`` describes the first change."""

    older: Delivery
    newer: Delivery


def change_orders_twice(sandbox: Sandbox, count: int, *, apart: float) -> list[TwiceChanged]:
    """The ``count`` oldest orders changed twice, ``apart`` seconds apart; their deliveries, in pairs.

    Old orders, so that only their webhooks report them: Salla lists orders by creation date, and an
    incremental sync lists only the recent ones.
    """
    store, emitter = sandbox.store, sandbox.emitter
    if emitter is None:
        raise RuntimeError("the sandbox sends no webhooks")
    orders = sorted(store.ids("orders"), key=lambda record_id: store.get("orders", record_id).created)
    chosen = orders[:count]
    rounds: list[list[Delivery]] = []
    for number in range(2):
        if number:
            time.sleep(apart)
        for record_id in chosen:
            store.touch("orders", record_id)
        rounds.append(emitter.pending[-len(chosen) :])
    return [TwiceChanged(older, newer) for older, newer in zip(*rounds, strict=True)]


def expected_stale(results: Sequence[DeliveryResult], pairs: Sequence[TwiceChanged]) -> int:
    """How many orders' older change reached Mercator after the newer one (first copies only)."""
    position = {id(result.delivery): index for index, result in enumerate(results) if not result.duplicate}
    late = 0
    for pair in pairs:
        older, newer = position.get(id(pair.older)), position.get(id(pair.newer))
        late += older is not None and newer is not None and newer < older
    return late


@dataclass(frozen=True)
class DroppedDeliveries:
    """The deliveries the store dropped, by what recovers the change each one carried."""

    new_orders: int  # order.created: the incremental order listing finds the order
    listed_whole: int  # products and customers: their whole listings rewrite them
    brought_later: int  # an order's older change: the newer delivery arrived
    old_orders: int  # an old order's newer change: no listing sees it

    @classmethod
    def sort(
        cls, dropped: Sequence[Delivery], results: Sequence[DeliveryResult], pairs: Sequence[TwiceChanged]
    ) -> DroppedDeliveries:
        sent = {id(result.delivery) for result in results}
        newer_of = {id(pair.older): pair.newer for pair in pairs}
        newer = {id(pair.newer) for pair in pairs}
        kinds: Counter[str] = Counter()
        for delivery in dropped:
            if id(delivery) in newer_of:
                kinds["brought_later" if id(newer_of[id(delivery)]) in sent else "old_orders"] += 1
            elif id(delivery) in newer:
                kinds["old_orders"] += 1
            elif delivery.resource == "orders":
                kinds["new_orders"] += 1
            else:
                kinds["listed_whole"] += 1
        return cls(kinds["new_orders"], kinds["listed_whole"], kinds["brought_later"], kinds["old_orders"])
