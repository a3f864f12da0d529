"""One outbound POST (a workflow webhook, a Web Push message), retried the way receivers expect.

Retried: connection errors, timeouts, 408, 429 and every 5xx, with the full-jitter exponential backoff
of provider calls (mercator.providers.retries.RetryPolicy: a uniform draw up to ``base_delay *
2**attempt``, capped at ``max_delay``) so that many executions failing together do not retry
together. A ``Retry-After`` replaces the draw; one longer than ``max_retry_after`` ends the attempts
at once, since a Lambda should not sleep that long (the execution is paused and can be resumed). Any
other answer is final: the caller decides what it means. A request the egress guard refuses
(mercator.providers.egress: not https, not a public address) is final at once, with ``refused`` set,
and never sent again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from mercator.providers.egress import EgressRefusedError
from mercator.providers.retries import RetryPolicy
from mercator.providers.signals import retry_after

logger = logging.getLogger(__name__)

_REQUEST_TIMEOUT = 408
_TOO_MANY_REQUESTS = 429


def retryable_status(status: int) -> bool:
    """Whether an answer with ``status`` may change if the same request is sent again."""
    return status in (_REQUEST_TIMEOUT, _TOO_MANY_REQUESTS) or status >= 500


@dataclass(frozen=True)
class PostResult:
    """What came of a POST after its retries.

    ``response`` is the last answer (None when no attempt got one); ``problem`` says why the
    attempts ended without a final answer (a transport error, a wait too long, the egress guard's
    refusal), else None; ``refused`` is set when the guard would not send the request at all.
    """

    response: httpx.Response | None
    attempts: int
    problem: str | None = None
    refused: bool = False

    @property
    def final(self) -> bool:
        """True when the receiver gave an answer that retrying would not change, or when the request
        may not be sent at all."""
        if self.refused:
            return True
        return self.response is not None and not retryable_status(self.response.status_code)


class RetryingPoster:
    """Sends a request built afresh for every attempt (so signatures carry the attempt's own time)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.http = http
        self.attempts = attempts
        # The provider calls' policy gives the waits; its own ``sleep`` is asynchronous, and a POST
        # here blocks, so the poster sleeps with ``sleep``.
        self._policy = RetryPolicy(
            max_attempts=attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            max_retry_after=max_retry_after,
            rng=rng or random.Random(),
        )
        self._sleep = sleep
        self.clock = clock

    def post(self, build: Callable[[], httpx.Request], *, shown: str) -> PostResult:
        """Send ``build()`` until an answer is final or the attempts run out; ``shown`` names it in logs."""
        attempt = 0
        while True:
            request = build()
            response: httpx.Response | None = None
            problem: str | None = None
            try:
                response = self.http.send(request)
            except EgressRefusedError as exc:
                return PostResult(None, attempt + 1, f"is not called: {exc.reason}", refused=True)
            except httpx.TimeoutException:
                problem = "did not answer in time"
            except httpx.TransportError as exc:
                problem = f"could not be reached ({type(exc).__name__})"
            else:
                if not retryable_status(response.status_code):
                    return PostResult(response, attempt + 1)
            hint = None if response is None else self._retry_after(response)
            if self._policy.too_long(hint):
                wait_problem = (
                    f"asks to wait {hint:g} s before trying again, longer than the "
                    f"{self._policy.max_retry_after:g} s Mercator waits"
                )
                return PostResult(response, attempt + 1, wait_problem)
            if self._policy.gives_up(attempt):
                return PostResult(response, attempt + 1, problem)
            wait = self._policy.delay(attempt, hint)
            attempt += 1
            logger.warning(
                "retrying POST %s in %.2f s (attempt %d of %d: %s)",
                shown,
                wait,
                attempt,
                self.attempts,
                problem or f"answered {response.status_code if response is not None else '?'}",
            )
            self._sleep(wait)

    def _retry_after(self, response: httpx.Response) -> float | None:
        return retry_after(response.headers.get("Retry-After"), now=self.clock())
