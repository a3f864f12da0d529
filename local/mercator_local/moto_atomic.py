"""DynamoDB requests to moto's server handled one at a time, as atomic as DynamoDB makes each of them.

DynamoDB applies a single-item write together with its condition expression atomically, and a
TransactWriteItems as a whole; a strongly consistent read sees every write acknowledged before it.
moto's backend checks a condition and then applies the write in separate steps, without a lock,
and its threaded server handles each request in a thread of its own: two conditional writes that
arrive at the same moment can both pass their conditions, and an ``ADD version 1`` can be lost.
Tests of concurrent writers would then find moto's races rather than Mercator's.

``atomic_dynamodb()`` makes each DynamoDB request to the server in this process run alone, from
parsing to answer, for the duration of the block; requests still interleave freely between each
other, as they do on DynamoDB. It is stronger than DynamoDB (which only isolates the items a request
touches) and never weaker, so a race it lets through is a race on AWS too. Other services (SQS,
S3, Secrets Manager) are left as they are. The local stack does not install it: the runner invokes
one handler at a time, and only tests that run handlers concurrently need it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.responses import DynamoHandler

_REQUESTS = threading.RLock()
_depth = 0
_guard = threading.Lock()
_original: Callable[..., Any] | None = None


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """DynamoDB requests to moto in this process one at a time while the block runs (blocks nest)."""
    _enter()
    try:
        yield
    finally:
        _leave()


def _enter() -> None:
    global _depth, _original  # noqa: PLW0603 - one process-wide patch, counted by the blocks using it
    with _guard:
        if _depth == 0:
            original: Callable[..., Any] = DynamoHandler.call_action
            _original = original

            @functools.wraps(original)
            def one_at_a_time(self: DynamoHandler) -> Any:
                with _REQUESTS:
                    return original(self)

            DynamoHandler.call_action = one_at_a_time  # type: ignore[method-assign]
        _depth += 1


def _leave() -> None:
    global _depth, _original  # noqa: PLW0603 - see _enter
    with _guard:
        _depth -= 1
        if _depth == 0 and _original is not None:
            DynamoHandler.call_action = _original  # type: ignore[method-assign]
            _original = None
