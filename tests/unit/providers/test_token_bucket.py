"""TokenBucket: pacing, fairness and provider holds, measured on fake time."""

from __future__ import annotations

import asyncio

import pytest

from mercator.domain.rate_limits import RateLimiter, RateSignal
from mercator.providers.token_bucket import TokenBucket
from tests.unit.providers.conftest import AutoTime, ManualTime, settle

pytestmark = pytest.mark.anyio


async def acquire_all(bucket: TokenBucket, time: AutoTime, count: int) -> list[tuple[int, float]]:
    """Start ``count`` concurrent acquirers in order; return (caller, fake time) in serving order."""
    served: list[tuple[int, float]] = []

    async def one(caller: int) -> None:
        await bucket.acquire()
        served.append((caller, time.now))

    await asyncio.gather(*(one(caller) for caller in range(count)))
    return served


@pytest.mark.parametrize(
    ("rate", "capacity", "count", "expected_seconds"),
    [
        (10, 1, 11, 1.0),  # (11 - 1) / 10
        (10, 2, 12, 1.0),  # (12 - 2) / 10
        (2, None, 10, 4.5),  # capacity defaults to 1, no burst: (10 - 1) / 2
        (0.5, None, 3, 4.0),  # (3 - 1) / 0.5
        (5, 5, 5, 0.0),  # a full bucket serves its capacity at once
    ],
)
async def test_n_acquisitions_take_n_minus_capacity_over_rate(
    rate: float, capacity: float | None, count: int, expected_seconds: float
) -> None:
    time = AutoTime()
    bucket = (
        TokenBucket(rate, clock=time.clock, sleep=time.sleep)
        if capacity is None
        else TokenBucket(rate, capacity, clock=time.clock, sleep=time.sleep)
    )

    served = await acquire_all(bucket, time, count)

    assert time.now == pytest.approx(expected_seconds)
    assert len(served) == count


async def test_callers_are_served_in_arrival_order_with_one_sleep_each() -> None:
    # Given a bucket of 1 token at 4/s and 6 callers arriving at once
    time = AutoTime()
    bucket = TokenBucket(4, 1, clock=time.clock, sleep=time.sleep)

    served = await acquire_all(bucket, time, 6)

    # Then they are served first come, first served, 0.25 s apart
    assert [caller for caller, _ in served] == [0, 1, 2, 3, 4, 5]
    assert [at for _, at in served] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0, 1.25])
    # and each waiting caller slept exactly once: nobody polls
    assert time.sleeps == pytest.approx([0.25] * 5)


async def test_tokens_refill_while_idle_up_to_capacity() -> None:
    time = ManualTime()
    bucket = TokenBucket(1, 3, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        await bucket.acquire()
    await time.advance(10)  # refills to 3, not 10

    for _ in range(3):
        await bucket.acquire()
    pending = asyncio.ensure_future(bucket.acquire())
    await settle()

    assert not pending.done()
    await time.advance(1)
    assert pending.done()


async def test_retry_after_holds_every_caller() -> None:
    # Given a provider that asked everyone to wait 5 s
    time = AutoTime()
    bucket = TokenBucket(10, 1, clock=time.clock, sleep=time.sleep)
    await bucket.observe(RateSignal(retry_after=5))

    served = await acquire_all(bucket, time, 3)

    # Then nobody goes before 5 s, and after it the pace starts again from one token
    assert [at for _, at in served] == pytest.approx([5.0, 5.1, 5.2])


async def test_a_hold_delays_callers_already_waiting() -> None:
    # Given one caller waiting for the next token (1 per second)
    time = ManualTime()
    bucket = TokenBucket(1, 1, clock=time.clock, sleep=time.sleep)
    await bucket.acquire()
    waiting = asyncio.ensure_future(bucket.acquire())
    queued = asyncio.ensure_future(bucket.acquire())
    await settle()

    # When another caller learns the provider wants 10 s of quiet
    await bucket.observe(RateSignal(retry_after=10))
    await time.advance(1)

    # Then the waiting caller does not go at 1 s but at 10 s, and the one behind it 1 s later
    assert not waiting.done()
    await time.advance(8.5)
    assert not waiting.done()
    await time.advance(0.5)
    assert waiting.done() and not queued.done()
    await time.advance(1)
    assert queued.done()


@pytest.mark.parametrize(
    ("signal", "held_until"),
    [
        (RateSignal(remaining=0, reset_after=3), 3.0),
        (RateSignal(remaining=1, reset_after=2.5), 2.5),
        (RateSignal(remaining=0), 0.5),  # no reset known: one token's time at 2/s
        (RateSignal(remaining=2, reset_after=30), None),
        (RateSignal(remaining=40, limit=40), None),
        (RateSignal(retry_after=4, remaining=30), 4.0),  # retry_after wins
        (RateSignal(retry_after=0), None),
        (RateSignal(), None),
    ],
)
async def test_observe_holds_only_when_the_budget_is_spent(
    signal: RateSignal, held_until: float | None
) -> None:
    time = ManualTime()
    bucket = TokenBucket(2, clock=time.clock, sleep=time.sleep)

    await bucket.observe(signal)

    assert bucket.hold_until == (pytest.approx(held_until) if held_until is not None else None)


async def test_a_hold_never_shortens_a_longer_one() -> None:
    time = ManualTime()
    bucket = TokenBucket(2, clock=time.clock, sleep=time.sleep)
    await bucket.observe(RateSignal(retry_after=10))
    await bucket.observe(RateSignal(retry_after=2))
    await bucket.observe(RateSignal(remaining=0, reset_after=1))
    assert bucket.hold_until == pytest.approx(10)

    await bucket.observe(RateSignal(retry_after=12))
    assert bucket.hold_until == pytest.approx(12)


async def test_a_hold_ends_with_one_token_not_a_burst() -> None:
    # Given a roomy bucket (capacity 5) and a 3 s hold
    time = AutoTime()
    bucket = TokenBucket(1, 5, clock=time.clock, sleep=time.sleep)
    await bucket.observe(RateSignal(retry_after=3))

    served = await acquire_all(bucket, time, 3)

    assert [at for _, at in served] == pytest.approx([3.0, 4.0, 5.0])


@pytest.mark.parametrize(("rate", "capacity"), [(0, None), (-1, None), (2, 0.5)])
def test_bad_settings_are_refused(rate: float, capacity: float | None) -> None:
    with pytest.raises(ValueError, match=r"rate|capacity"):
        TokenBucket(rate, capacity)


def test_it_is_a_rate_limiter() -> None:
    bucket: RateLimiter = TokenBucket(3)
    assert bucket.rate == 3
