"""The AWS adapters' retry helper: capped exponential delays, jittered as asked, in a bounded loop."""

from __future__ import annotations

import math
import random

import pytest

from mercator.state.aws_retry import AsyncRetries, Backoff, Retries


def test_full_jitter_draws_from_zero_up_to_a_capped_exponential_ceiling() -> None:
    backoff = Backoff(base=0.1, cap=1.0, rng=random.Random(1))

    assert [backoff.ceiling(retry) for retry in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    for retry in range(200):
        assert 0 <= backoff.delay(retry) <= min(1.0, 0.1 * 2**retry)


def test_the_draws_are_jittered_not_fixed() -> None:
    backoff = Backoff(base=1.0, cap=1.0, rng=random.Random(2))

    assert len({backoff.delay(5) for _ in range(20)}) == 20


def test_equal_jitter_waits_at_least_half_the_ceiling() -> None:
    backoff = Backoff(base=0.05, cap=2.0, jitter="equal", rng=random.Random(3))

    for retry in range(12):
        ceiling = min(2.0, 0.05 * 2**retry)
        assert ceiling / 2 <= backoff.delay(retry) <= ceiling


def test_no_jitter_waits_the_ceiling_itself() -> None:
    backoff = Backoff(base=0.2, cap=2.0, jitter="none")

    assert [backoff.delay(retry) for retry in range(5)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0])


def test_the_same_seed_draws_the_same_delays() -> None:
    def delays(seed: int) -> list[float]:
        backoff = Backoff(base=0.05, cap=2.0, rng=random.Random(seed))
        return [backoff.delay(retry) for retry in range(8)]

    assert delays(7) == delays(7)
    assert delays(7) != delays(8)


def test_a_huge_retry_number_stays_at_the_cap() -> None:
    backoff = Backoff(base=0.05, cap=3.0, jitter="none")

    assert backoff.delay(10_000) == 3.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base": -1.0, "cap": 1.0}, "base must be a finite number"),
        ({"base": 0.1, "cap": math.inf}, "cap must be a finite number"),
        ({"base": 0.1, "cap": 1.0, "jitter": "half"}, "jitter must be one of full, equal, none"),
    ],
)
def test_a_backoff_out_of_bounds_is_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**options)  # type: ignore[arg-type]


def test_the_loop_stops_after_max_attempts_and_sleeps_only_between_attempts() -> None:
    pauses: list[float] = []
    retries = Retries(max_attempts=4, backoff=Backoff(base=0.1, cap=0.25, jitter="none"), sleep=pauses.append)

    attempts = list(retries)

    assert attempts == [0, 1, 2, 3]
    assert pauses == pytest.approx([0.1, 0.2, 0.25])
    assert [retries.last(attempt) for attempt in attempts] == [False, False, False, True]


def test_leaving_the_loop_early_sleeps_no_more() -> None:
    pauses: list[float] = []
    retries = Retries(max_attempts=5, backoff=Backoff(base=0.1, cap=1.0), sleep=pauses.append)

    for attempt in retries:
        if attempt == 1:
            break

    assert len(pauses) == 1


def test_one_attempt_never_sleeps() -> None:
    pauses: list[float] = []

    assert list(Retries(max_attempts=1, backoff=Backoff(base=1.0, cap=1.0), sleep=pauses.append)) == [0]
    assert pauses == []


def test_a_loop_may_run_again() -> None:
    pauses: list[float] = []
    retries = Retries(max_attempts=2, backoff=Backoff(base=0.1, cap=1.0, jitter="none"), sleep=pauses.append)

    assert list(retries) == list(retries) == [0, 1]
    assert pauses == pytest.approx([0.1, 0.1])


def test_no_attempt_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        Retries(max_attempts=0, backoff=Backoff(base=0.1, cap=1.0))
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        AsyncRetries(max_attempts=0, backoff=Backoff(base=0.1, cap=1.0))


@pytest.mark.anyio
async def test_the_async_loop_awaits_its_sleep_between_attempts() -> None:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    retries = AsyncRetries(
        max_attempts=3, backoff=Backoff(base=0.001, cap=0.01, rng=random.Random(4)), sleep=sleep
    )

    attempts = [attempt async for attempt in retries]

    assert attempts == [0, 1, 2]
    assert len(pauses) == 2
    assert 0 <= pauses[0] <= 0.001
    assert 0 <= pauses[1] <= 0.002
    assert retries.last(2)
