"""Every pagination type through the client: requests sent, stop rules, page size caps, resuming."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercator.domain.pages import Page, PageCheckpoint
from mercator.domain.provider_errors import ProviderResponseError
from mercator.providers.client import ProviderClient
from mercator.providers.paginators import link_target
from tests.unit.providers.conftest import connector, json_response, make_client, resource

pytestmark = pytest.mark.anyio

ITEMS = [{"id": n, "name": f"item {n}"} for n in range(1, 8)]  # 7 records


class Store:
    """Records every request; answers through ``answer`` (page params in, response out)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def params(self, name: str) -> list[str | None]:
        return [request.url.params.get(name) for request in self.requests]


def page_of(request: httpx.Request, size_param: str = "per_page") -> tuple[int, list[dict[str, Any]]]:
    page = int(request.url.params["page"])
    size = int(request.url.params[size_param])
    return page, ITEMS[(page - 1) * size : page * size]


async def collect(client: ProviderClient, key: str = "orders", **options: Any) -> list[Page]:
    return [page async for page in client.pages(key, **options)]


def ids(pages: list[Page]) -> list[list[int]]:
    return [[record["id"] for record in page.records] for page in pages]


# page_number


def salla_like(**pagination: Any) -> Any:
    return connector(
        resource(
            "orders",
            pagination={"type": "page_number", "paramName": "per_page", "defaultLimit": 3, **pagination},
            responseMapping={"dataProperty": "data", "totalProperty": "pagination.total"},
        )
    )


def salla_answer(request: httpx.Request) -> httpx.Response:
    page, records = page_of(request)
    size = int(request.url.params["per_page"])
    meta = {"total": len(ITEMS), "totalPages": -(-len(ITEMS) // size), "currentPage": page}
    return json_response({"data": records, "pagination": meta})


@pytest.mark.parametrize("prefetch", [1, 4])
async def test_page_number_stops_at_total_pages(prefetch: int) -> None:
    store = Store(salla_answer)
    client = make_client(
        salla_like(totalPagesProperty="pagination.totalPages"), store, page_prefetch=prefetch
    )

    pages = await collect(client)

    # 7 records by 3: pages 1..3, and no request for page 4
    assert ids(pages) == [[1, 2, 3], [4, 5, 6], [7]]
    assert [page.number for page in pages] == [0, 1, 2]
    assert [page.total for page in pages] == [7, 7, 7]
    assert store.params("page") == ["1", "2", "3"]
    assert store.params("per_page") == ["3", "3", "3"]
    assert [page.next.page if page.next else None for page in pages] == [2, 3, None]


@pytest.mark.parametrize("prefetch", [1, 4])
async def test_page_number_stops_at_the_record_total(prefetch: int) -> None:
    store = Store(salla_answer)
    client = make_client(salla_like(), store, page_prefetch=prefetch)

    pages = await collect(client)

    assert ids(pages) == [[1, 2, 3], [4, 5, 6], [7]]
    assert store.params("page") == ["1", "2", "3"]


async def test_page_number_with_the_totals_in_headers() -> None:
    # WooCommerce: a bare array, X-WP-Total and X-WP-TotalPages
    definition = connector(
        resource(
            "orders",
            pagination={
                "type": "page_number",
                "paramName": "per_page",
                "defaultLimit": 4,
                "totalPagesHeader": "X-WP-TotalPages",
                "totalHeader": "X-WP-Total",
            },
        )
    )

    def answer(request: httpx.Request) -> httpx.Response:
        _, records = page_of(request)
        return json_response(records, headers={"x-wp-total": "7", "x-wp-totalpages": "2"})

    store = Store(answer)
    pages = await collect(make_client(definition, store))

    assert ids(pages) == [[1, 2, 3, 4], [5, 6, 7]]
    assert [page.total for page in pages] == [7, 7]
    assert store.params("page") == ["1", "2"]


@pytest.mark.parametrize("prefetch", [1, 4])
async def test_page_number_without_totals_stops_on_the_empty_page(prefetch: int) -> None:
    definition = connector(
        resource("orders", pagination={"type": "page_number", "paramName": "limit", "defaultLimit": 3})
    )
    store = Store(lambda request: json_response(page_of(request, "limit")[1]))

    pages = await collect(make_client(definition, store, page_prefetch=prefetch))

    assert ids(pages) == [[1, 2, 3], [4, 5, 6], [7], []]
    assert store.params("page") == ["1", "2", "3", "4"]
    assert pages[-1].next is None and pages[-1].total is None


async def test_an_empty_page_inside_the_total_goes_on_when_told_to() -> None:
    # Given stopOnEmptyPage false and a total of 3 pages whose page 2 came back empty
    definition = salla_like(totalPagesProperty="pagination.totalPages", stopOnEmptyPage=False)

    def answer(request: httpx.Request) -> httpx.Response:
        page, records = page_of(request)
        return json_response({"data": [] if page == 2 else records, "pagination": {"totalPages": 3}})

    store = Store(answer)
    pages = await collect(make_client(definition, store, page_prefetch=1))

    assert ids(pages) == [[1, 2, 3], [], [7]]


async def test_an_empty_page_ends_the_listing_by_default_even_inside_the_total() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page, records = page_of(request)
        return json_response({"data": [] if page == 2 else records, "pagination": {"totalPages": 3}})

    store = Store(answer)
    pages = await collect(
        make_client(salla_like(totalPagesProperty="pagination.totalPages"), store, page_prefetch=1)
    )

    assert ids(pages) == [[1, 2, 3], []]


async def test_start_page_zero() -> None:
    definition = salla_like(startPage=0, totalPagesProperty="pagination.totalPages")

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return json_response({"data": ITEMS[page * 3 : page * 3 + 3], "pagination": {"totalPages": 3}})

    store = Store(answer)
    pages = await collect(make_client(definition, store))

    assert ids(pages) == [[1, 2, 3], [4, 5, 6], [7]]
    assert store.params("page") == ["0", "1", "2"]


@pytest.mark.parametrize(("asked", "sent"), [(None, "3"), (2, "2"), (500, "5")])
async def test_max_limit_caps_the_page_size(asked: int | None, sent: str) -> None:
    store = Store(salla_answer)
    client = make_client(salla_like(maxLimit=5), store)

    await collect(client, page_size=asked)

    assert set(store.params("per_page")) == {sent}


# offset


async def test_offset_steps_by_the_page_size_until_the_total() -> None:
    definition = connector(
        resource(
            "orders",
            pagination={"type": "offset", "paramName": "limit", "defaultLimit": 3, "maxLimit": 3},
            responseMapping={"dataProperty": "items", "totalProperty": "count"},
        )
    )

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return json_response({"items": ITEMS[offset : offset + 3], "count": len(ITEMS)})

    store = Store(answer)
    pages = await collect(make_client(definition, store), page_size=10)

    assert ids(pages) == [[1, 2, 3], [4, 5, 6], [7]]
    assert store.params("offset") == ["0", "3", "6"]
    assert store.params("limit") == ["3", "3", "3"]


async def test_offset_without_total_stops_on_the_empty_page() -> None:
    definition = connector(
        resource(
            "orders",
            pagination={"type": "offset", "offsetParam": "start", "paramName": "n", "defaultLimit": 4},
        )
    )

    def answer(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["start"])
        return json_response(ITEMS[start : start + 4])

    store = Store(answer)
    pages = await collect(make_client(definition, store))

    assert ids(pages) == [[1, 2, 3, 4], [5, 6, 7], []]
    assert store.params("start") == ["0", "4", "8"]


# link_header


def shopify_like(**pagination: Any) -> Any:
    return connector(
        resource(
            "orders",
            endpoints={"list": {"url": "/orders.json", "params": {"status": "any"}}},
            pagination={
                "type": "link_header",
                "paramName": "limit",
                "defaultLimit": 3,
                "maxLimit": 250,
                **pagination,
            },
            responseMapping={"dataProperty": "orders"},
            incremental={"param": "updated_at_min", "recordUpdatedAt": "updated_at", "overlapSeconds": 0},
        )
    )


def shopify_answer(request: httpx.Request) -> httpx.Response:
    cursor = request.url.params.get("page_info")
    start = int(cursor) if cursor else 0
    records = ITEMS[start : start + 3]
    headers = {}
    if start + 3 < len(ITEMS):
        nxt = f"https://api.example.com/v1/orders.json?limit=3&page_info={start + 3}"
        prev = f"https://api.example.com/v1/orders.json?limit=3&page_info={max(0, start - 3)}"
        headers["Link"] = f'<{prev}>; rel="previous", <{nxt}>; rel="next"'
    return json_response({"orders": records}, headers=headers)


async def test_link_header_follows_the_next_link_as_given() -> None:
    store = Store(shopify_answer)
    since = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

    pages = await collect(make_client(shopify_like(), store), since=since)

    assert ids(pages) == [[1, 2, 3], [4, 5, 6], [7]]
    first, *following = store.requests
    # the first call carries the definition's params, the filter and the size
    assert dict(first.url.params) == {
        "status": "any",
        "updated_at_min": "2024-05-01T10:00:00+00:00",
        "limit": "3",
    }
    # the others are the provider's links, untouched: nothing added
    assert [str(request.url) for request in following] == [
        "https://api.example.com/v1/orders.json?limit=3&page_info=3",
        "https://api.example.com/v1/orders.json?limit=3&page_info=6",
    ]
    assert pages[0].next is not None and pages[0].next.url == "/orders.json?limit=3&page_info=3"


@pytest.mark.parametrize(
    ("header", "rel", "expected"),
    [
        ('<https://a.example/p?x=1>; rel="next"', "next", "https://a.example/p?x=1"),
        (
            '<https://a.example/1>; rel="prev", <https://a.example/3>; rel="next"',
            "next",
            "https://a.example/3",
        ),
        ('<https://a.example/3>; rel="next last"', "last", "https://a.example/3"),
        ("<https://a.example/3>; rel=next", "next", "https://a.example/3"),
        ('<https://a.example/3>; title="a, b"; rel="next"', "next", "https://a.example/3"),
        ('<https://a.example/1>; rel="previous"', "next", None),
        ("", "next", None),
        (None, "next", None),
    ],
)
def test_link_header_parsing(header: str | None, rel: str, expected: str | None) -> None:
    assert link_target(header, rel) == expected


# next_url


def zid_like() -> Any:
    return connector(
        resource(
            "products",
            pagination={
                "type": "next_url",
                "nextUrlPath": "next",
                "paramName": "page_size",
                "defaultLimit": 3,
            },
            responseMapping={"dataProperty": "results", "totalProperty": "count"},
        )
    )


async def test_next_url_follows_the_body_link_and_never_downgrades_to_http() -> None:
    # Zid links its next pages over http:// although the API is https://
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        records = ITEMS[(page - 1) * 3 : page * 3]
        nxt = f"http://api.example.com/v1/products/?page={page + 1}&page_size=3" if page < 3 else None
        return json_response({"count": 7, "next": nxt, "results": records})

    store = Store(answer)
    pages = await collect(make_client(zid_like(), store), key="products")

    assert ids(pages) == [[1, 2, 3], [4, 5, 6], [7]]
    assert [request.url.scheme for request in store.requests] == ["https"] * 3
    assert [page.total for page in pages] == [7, 7, 7]


async def test_a_relative_next_url_is_resolved_against_the_page_that_gave_it() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        nxt = f"?page={page + 1}&page_size=3" if page < 2 else ""
        return json_response({"count": 7, "next": nxt, "results": ITEMS[(page - 1) * 3 : page * 3]})

    store = Store(answer)
    pages = await collect(make_client(zid_like(), store), key="products")

    assert ids(pages) == [[1, 2, 3], [4, 5, 6]]
    assert str(store.requests[1].url) == "https://api.example.com/v1/products?page=2&page_size=3"


@pytest.mark.parametrize(
    ("nxt", "problem"),
    [
        ("https://elsewhere.example.net/steal?page=2", "another host"),
        ("https://api.example.com/v1/products?page_size=3", "points at the page just read"),
        (42, "is not text"),
    ],
)
async def test_next_urls_that_cannot_be_followed_are_errors(nxt: Any, problem: str) -> None:
    store = Store(lambda request: json_response({"count": 7, "next": nxt, "results": ITEMS[:3]}))

    with pytest.raises(ProviderResponseError, match=problem):
        await collect(make_client(zid_like(), store), key="products")

    assert len(store.requests) == 1


# cursor


def cursor_like() -> Any:
    return connector(
        resource(
            "orders",
            pagination={
                "type": "cursor",
                "cursorPath": "meta.next_cursor",
                "cursorParam": "after",
                "paramName": "first",
                "defaultLimit": 3,
            },
            responseMapping={"dataProperty": "data"},
        )
    )


def cursor_answer(request: httpx.Request) -> httpx.Response:
    after = request.url.params.get("after")
    start = ITEMS.index(next(item for item in ITEMS if item["id"] == int(after))) + 1 if after else 0
    records = ITEMS[start : start + 3]
    more = start + 3 < len(ITEMS)
    return json_response({"data": records, "meta": {"next_cursor": records[-1]["id"] if more else None}})


async def test_cursor_passes_the_cursor_until_there_is_none() -> None:
    store = Store(cursor_answer)

    pages = await collect(make_client(cursor_like(), store))

    assert ids(pages) == [[1, 2, 3], [4, 5, 6], [7]]
    assert store.params("after") == [None, "3", "6"]
    assert store.params("first") == ["3", "3", "3"]
    assert [page.next.cursor if page.next else None for page in pages] == ["3", "6", None]


async def test_a_cursor_that_does_not_move_is_an_error() -> None:
    store = Store(lambda request: json_response({"data": ITEMS[:3], "meta": {"next_cursor": "same"}}))

    with pytest.raises(ProviderResponseError, match="did not move on from 'same'"):
        await collect(make_client(cursor_like(), store))

    assert len(store.requests) == 2


# none


async def test_single_page_lists_once() -> None:
    definition = connector(
        resource("orders", pagination={"type": "none"}, responseMapping={"dataProperty": "data"})
    )
    store = Store(lambda request: json_response({"data": ITEMS}))

    pages = await collect(make_client(definition, store))

    assert ids(pages) == [[1, 2, 3, 4, 5, 6, 7]]
    assert len(store.requests) == 1 and dict(store.requests[0].url.params) == {}
    assert pages[0].next is None


# the shape of a list response


@pytest.mark.parametrize(
    ("body", "found"),
    [({"data": None}, "nothing"), ({"data": {"id": 1}}, "an object"), ({"orders": []}, "nothing")],
)
async def test_no_list_where_the_definition_says_is_an_error(body: Any, found: str) -> None:
    store = Store(lambda request: json_response(body))

    with pytest.raises(ProviderResponseError, match=f"expected a list of records at 'data', found {found}"):
        await collect(make_client(salla_like(), store))


# resuming from a checkpoint


@pytest.mark.parametrize(
    ("definition", "answer", "key", "expected_rest"),
    [
        (salla_like(totalPagesProperty="pagination.totalPages"), salla_answer, "orders", [[4, 5, 6], [7]]),
        (shopify_like(), shopify_answer, "orders", [[4, 5, 6], [7]]),
        (cursor_like(), cursor_answer, "orders", [[4, 5, 6], [7]]),
    ],
    ids=["page_number", "link_header", "cursor"],
)
async def test_a_listing_resumes_from_a_stored_checkpoint(
    definition: Any, answer: Any, key: str, expected_rest: list[list[int]]
) -> None:
    # Given a run that stopped after its first page and stored where to go on
    first_run = make_client(definition, Store(answer))
    first = await anext(first_run.pages(key))
    assert first.next is not None
    stored = first.next.to_json()

    # When another worker resumes from the stored checkpoint
    store = Store(answer)
    rest = await collect(make_client(definition, store), key=key, resume=PageCheckpoint.from_json(stored))

    # Then it reads the remaining pages only, numbered on from the first run
    assert ids(rest) == expected_rest
    assert [page.number for page in rest] == [1, 2]
    assert len(store.requests) == 2


async def test_a_resumed_listing_keeps_its_query() -> None:
    definition = shopify_like()
    since = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    checkpoint = PageCheckpoint(
        resource="orders",
        pagination="link_header",
        query={"updated_at_min": "2024-05-01T10:00:00+00:00"},
        since=since,
        page_size=3,
    )
    store = Store(shopify_answer)

    await collect(make_client(definition, store), resume=checkpoint)

    assert store.requests[0].url.params["updated_at_min"] == "2024-05-01T10:00:00+00:00"
    assert store.requests[0].url.params["limit"] == "3"


@pytest.mark.parametrize(
    ("checkpoint", "options", "message"),
    [
        (PageCheckpoint(resource="customers", pagination="page_number", page=2), {}, "belongs to resource"),
        (PageCheckpoint(resource="orders", pagination="cursor"), {}, "made for cursor pagination"),
        (
            PageCheckpoint(resource="orders", pagination="page_number", page=2),
            {"page_size": 5},
            "resume alone",
        ),
    ],
)
async def test_a_checkpoint_that_does_not_fit_is_refused(
    checkpoint: PageCheckpoint, options: dict[str, Any], message: str
) -> None:
    client = make_client(salla_like(), Store(salla_answer))
    with pytest.raises(ValueError, match=message):
        await collect(client, resume=checkpoint, **options)


@pytest.mark.parametrize(
    "fields",
    [
        {"pagination": "page_number"},  # no page
        {"pagination": "offset", "page": 2},
        {"pagination": "none", "cursor": "x"},
        {"pagination": "sideways"},
        {"pagination": "cursor", "token": "x"},
    ],
)
def test_malformed_checkpoints_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PageCheckpoint.model_validate({"resource": "orders", **fields})


async def test_since_needs_an_incremental_resource() -> None:
    client = make_client(salla_like(), Store(salla_answer))
    with pytest.raises(ValueError, match="no incremental block"):
        await collect(client, since=datetime(2024, 5, 1, tzinfo=UTC))


async def test_stop_when_older_ends_at_the_first_record_outside_the_window() -> None:
    # Given a list sorted newest-updated first and a cursor of 10:00 with a 5 minute overlap
    definition = connector(
        resource(
            "orders",
            pagination={"type": "page_number", "paramName": "per_page", "defaultLimit": 2},
            incremental={"stopWhenOlder": True, "recordUpdatedAt": "updated_at", "overlapSeconds": 300},
        )
    )
    records = [
        {"id": 1, "updated_at": "2024-05-01T12:00:00Z"},
        {"id": 2, "updated_at": "2024-05-01T11:00:00Z"},
        {"id": 3, "updated_at": "2024-05-01T09:56:00Z"},
        {"id": 4, "updated_at": "2024-05-01T09:54:00Z"},
        {"id": 5, "updated_at": "2024-05-01T09:00:00Z"},
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return json_response(records[(page - 1) * 2 : page * 2])

    store = Store(answer)
    pages = await collect(
        make_client(definition, store, page_prefetch=1), since=datetime(2024, 5, 1, 10, tzinfo=UTC)
    )

    # 09:56 is inside the window (from 09:55), 09:54 is not: page 2 is the last and loses record 4
    assert ids(pages) == [[1, 2], [3]]
    assert pages[-1].next is None
    assert len(store.requests) == 2


async def test_a_checkpoint_cannot_send_credentials_to_another_host() -> None:
    checkpoint = PageCheckpoint(
        resource="orders", pagination="link_header", url="https://evil.example.net/orders.json?page_info=2"
    )
    store = Store(shopify_answer)
    with pytest.raises(ValueError, match="leads away from the connector's hosts"):
        await collect(make_client(shopify_like(), store), resume=checkpoint)
    assert store.requests == []


async def test_an_absolute_checkpoint_url_on_the_providers_host_is_followed() -> None:
    checkpoint = PageCheckpoint(
        resource="orders",
        pagination="link_header",
        url="https://api.example.com/v1/orders.json?limit=3&page_info=6",
    )
    store = Store(shopify_answer)
    pages = await collect(make_client(shopify_like(), store), resume=checkpoint)
    assert ids(pages) == [[7]]
