"""Page prefetch: several pages in flight, handed out strictly in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import anyio
import httpx
import pytest

from tests.unit.providers.conftest import connector, json_response, make_client, resource

pytestmark = pytest.mark.anyio

PAGES = 8
SIZE = 2


def definition() -> Any:
    return connector(
        resource(
            "orders",
            pagination={
                "type": "page_number",
                "paramName": "per_page",
                "defaultLimit": SIZE,
                "totalPagesProperty": "meta.pages",
            },
            responseMapping={"dataProperty": "data"},
        )
    )


def body(page: int) -> dict[str, Any]:
    records = [{"id": (page - 1) * SIZE + n} for n in (1, 2)]
    return {"data": records, "meta": {"pages": PAGES}}


class SlowStore:
    """Answers each page only when the test says so, to finish them in any order it likes."""

    def __init__(self) -> None:
        self.release = {page: asyncio.Event() for page in range(1, PAGES + 1)}
        self.started: list[int] = []
        self.finished: list[int] = []
        self.cancelled: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        self.started.append(page)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.release[page].wait()
        except asyncio.CancelledError:
            self.cancelled.append(page)
            raise
        finally:
            self.in_flight -= 1
        self.finished.append(page)
        return json_response(body(page))


async def wait_until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0)


async def test_pages_finishing_out_of_order_are_yielded_in_order() -> None:
    store = SlowStore()
    client = make_client(definition(), store, page_prefetch=4)

    async def provider() -> None:
        # Page 1 tells the total; then every batch in flight is answered last page first
        store.release[1].set()
        for batch in ((5, 4, 3, 2), (8, 7, 6)):
            await wait_until(lambda batch=batch: set(batch) <= set(store.started))
            for page in batch:
                store.release[page].set()
                await wait_until(lambda page=page: page in store.finished)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(provider)
            yielded = [page async for page in client.pages("orders")]

    assert store.finished == [1, 5, 4, 3, 2, 8, 7, 6]
    assert [page.number for page in yielded] == list(range(PAGES))
    assert [page.records[0]["id"] for page in yielded] == [1, 3, 5, 7, 9, 11, 13, 15]
    assert store.max_in_flight == 4


async def test_at_most_page_prefetch_requests_are_in_flight() -> None:
    store = SlowStore()
    client = make_client(definition(), store, page_prefetch=3)

    async def provider() -> None:
        # Answer whatever is waiting, a little at a time, so in-flight counts can build up
        while len(store.finished) < PAGES:
            for page in list(store.started):
                store.release[page].set()
            for _ in range(5):
                await asyncio.sleep(0)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(provider)
            pages = [page async for page in client.pages("orders")]

    assert [page.number for page in pages] == list(range(PAGES))
    assert store.started == list(range(1, PAGES + 1))  # each page asked for once, in order
    assert store.max_in_flight == 3


async def test_stopping_early_cancels_the_pages_in_flight() -> None:
    store = SlowStore()
    store.release[1].set()
    client = make_client(definition(), store, page_prefetch=4)

    with anyio.fail_after(5):
        async with aclosing(client.pages("orders")) as pages:
            async for page in pages:
                assert page.number == 0
                await wait_until(lambda: len(store.started) == 5)
                break

    # The four prefetched requests were abandoned, not left running
    assert sorted(store.cancelled) == [2, 3, 4, 5]
    assert store.in_flight == 0
    assert store.finished == [1]


async def test_a_failing_page_is_raised_in_its_turn_after_the_pages_before_it() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page == 3:
            return httpx.Response(404, text="gone")
        return json_response(body(page))

    client = make_client(definition(), answer, page_prefetch=4)
    seen: list[int] = []

    with pytest.raises(Exception, match="answered 404"):
        async for page in client.pages("orders"):
            seen.append(page.number)

    assert seen == [0, 1]
