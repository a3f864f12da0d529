"""Fault knobs (all off by default) and the seeded dice that decide when each one fires.

``Faults`` is settable when the sandbox is built and replaceable while it runs
(``Sandbox.set_faults``), so a test can turn a knob on in the middle of a listing. Every decision is
drawn from the injector's own ``random.Random``, seeded from the sandbox seed: the same requests in
the same order meet the same faults on every run.

``lost_write_answers`` is the fault of a write whose answer never reaches the client: the write lands
(the record changes, its webhooks fire), then the client gets a 502 (or, with ``mode="hang"``, waits
``hang_seconds`` and gets a 504), so it cannot know the write happened and may repeat it.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Rate = float
Corruption = Literal["truncated", "malformed"]
LostAnswerMode = Literal["502", "hang"]


class _Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MutationKind(_Knobs):
    """After each list page: with probability ``rate``, apply ``count`` changes of this kind."""

    count: int = Field(0, ge=0, le=10_000)
    rate: Rate = Field(1.0, ge=0, le=1)


class Mutations(_Knobs):
    """Changes applied to the store right after a list page is served (the page-shift worst cases).

    ``touch`` bumps the update time of random records (moving them in update-time orderings and into
    incremental windows); ``insert`` adds records at the boundary of the page just served, in the
    listing's own order (``insert_before_boundary``: just ahead of the page's last record, which
    shifts every later record one place on a page-number listing; otherwise just after it);
    ``delete_before`` / ``delete_after`` delete records the listing has already served / not yet
    served (a deletion before the boundary makes a page-number listing skip a record).
    """

    touch: MutationKind = MutationKind()
    insert: MutationKind = MutationKind()
    delete_before: MutationKind = MutationKind()
    delete_after: MutationKind = MutationKind()
    insert_before_boundary: bool = True

    @property
    def active(self) -> bool:
        kinds = (self.touch, self.insert, self.delete_before, self.delete_after)
        return any(kind.count and kind.rate for kind in kinds)


class LostWriteAnswers(_Knobs):
    """Lose the answers of up to ``count`` successful writes, each with probability ``rate``.

    A write here is any request that changes the store: product creates and updates, Shopify's
    inventory sets, order status updates, deletions. The write is applied first (it lands: the record
    changes and its webhooks fire); then the answer is replaced: ``mode="502"`` answers a 502 in the
    platform's error shape at once, ``mode="hang"`` stalls ``Faults.hang_seconds`` (past a client's
    timeout) and then answers a 504. ``count`` losses are allowed from when the knob is set (setting a
    different value through ``Sandbox.set_faults`` starts the count again); 0 turns the fault off.
    Refused writes (4xx) are never chosen: nothing landed, so there is nothing to hide.
    """

    count: int = Field(0, ge=0, le=1_000_000)
    rate: Rate = Field(1.0, ge=0, le=1)
    mode: LostAnswerMode = "502"

    @property
    def active(self) -> bool:
        return bool(self.count and self.rate)


class Faults(_Knobs):
    """Every fault the sandbox can inject; the defaults inject none."""

    latency_ms: float = Field(0, ge=0, le=600_000, description="added to every request")
    jitter_ms: float = Field(0, ge=0, le=600_000, description="latency varies uniformly by +/- this")
    error_rate: Rate = Field(0, ge=0, le=1, description="probability of a 500/502/503 instead of the answer")
    burst_429_every: int = Field(0, ge=0, description="after this many requests ...")
    burst_429_length: int = Field(0, ge=0, description="... this many get 429, then the cycle repeats")
    burst_429_retry_after: float = Field(2.0, gt=0, le=3_600, description="Retry-After of those 429s")
    hang_rate: Rate = Field(0, ge=0, le=1, description="probability a request stalls hang_seconds")
    hang_seconds: float = Field(30.0, ge=0, le=3_600)
    truncated_rate: Rate = Field(0, ge=0, le=1, description="probability a 200 body is cut in half")
    malformed_rate: Rate = Field(0, ge=0, le=1, description="probability a 200 body is an HTML page")
    mutations: Mutations = Mutations()
    lost_write_answers: LostWriteAnswers = LostWriteAnswers()

    @model_validator(mode="after")
    def _paired(self) -> Faults:
        if bool(self.burst_429_every) != bool(self.burst_429_length):
            raise ValueError("burst_429_every and burst_429_length work together: set both or neither")
        if self.jitter_ms > self.latency_ms:
            raise ValueError("jitter_ms must not exceed latency_ms (a delay cannot be negative)")
        return self


class FaultInjector:
    """Decides, request by request, which faults fire."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}:faults")
        self._burst_position = 0
        self.lost_answers = 0  # write answers lost since the lost_write_answers knob was last set

    def latency(self, faults: Faults) -> float:
        """Seconds to delay this request."""
        if not faults.latency_ms:
            return 0.0
        jitter = self.rng.uniform(-faults.jitter_ms, faults.jitter_ms) if faults.jitter_ms else 0.0
        return max(0.0, faults.latency_ms + jitter) / 1000

    def hangs(self, faults: Faults) -> bool:
        return bool(faults.hang_rate) and self.rng.random() < faults.hang_rate

    def burst_429(self, faults: Faults) -> bool:
        """True for the requests that fall in the throttled part of the every/length cycle."""
        if not faults.burst_429_every:
            return False
        cycle = faults.burst_429_every + faults.burst_429_length
        self._burst_position = self._burst_position % cycle + 1
        return self._burst_position > faults.burst_429_every

    def server_error(self, faults: Faults) -> int | None:
        if faults.error_rate and self.rng.random() < faults.error_rate:
            return self.rng.choice((500, 502, 503))
        return None

    def corruption(self, faults: Faults) -> Corruption | None:
        if faults.truncated_rate and self.rng.random() < faults.truncated_rate:
            return "truncated"
        if faults.malformed_rate and self.rng.random() < faults.malformed_rate:
            return "malformed"
        return None

    def loses_answer(self, faults: Faults) -> bool:
        """Whether the answer of this (successful) write is lost; counts the loss when it is."""
        knob = faults.lost_write_answers
        if not knob.active or self.lost_answers >= knob.count:
            return False
        if knob.rate < 1 and self.rng.random() >= knob.rate:
            return False
        self.lost_answers += 1
        return True

    def how_many(self, kind: MutationKind) -> int:
        if not kind.count or not kind.rate:
            return 0
        return kind.count if kind.rate >= 1 or self.rng.random() < kind.rate else 0
