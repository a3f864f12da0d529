"""What a request carries and what an answer with nothing in it means.

Query strings written in an endpoint URL are kept beside the endpoint's params and the page's own;
``{id}`` fills a details endpoint's params as it fills its URL; names given twice are refused when the
definition loads. A list page answering 204 or an empty body ends the listing; a details call answering
so is an error for that id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mercator.connector import DefinitionError
from mercator.domain.pages import Page
from mercator.domain.provider_errors import ProviderHTTPError, ProviderResponseError
from mercator.providers.client import ProviderClient
from mercator.providers.listing import list_records
from mercator.providers.sender import with_params
from tests.unit.providers.conftest import BASE, connector, json_response, make_client, resource

pytestmark = pytest.mark.anyio

ITEMS = [{"id": n, "name": f"item {n}"} for n in range(1, 8)]  # 7 records


class Store:
    """Answers through ``answer`` and remembers every request."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def urls(self) -> list[str]:
        return [str(request.url) for request in self.requests]


async def collect(client: ProviderClient, key: str = "orders", **options: Any) -> list[Page]:
    return [page async for page in client.pages(key, **options)]


def ids(pages: list[Page]) -> list[list[int]]:
    return [[record["id"] for record in page.records] for page in pages]


def no_content(headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(204, headers=headers)


def empty_body(headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, content=b"", headers={"Content-Type": "application/json", **(headers or {})})


def blank_body(headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        200, content=b" \r\n", headers={"Content-Type": "application/json", **(headers or {})}
    )


NOTHING = [
    pytest.param(no_content, id="204"),
    pytest.param(empty_body, id="empty-200"),
    pytest.param(blank_body, id="blank-200"),
]


# --- a list page with nothing in it ---------------------------------------------------------------


@pytest.mark.parametrize("nothing", NOTHING)
@pytest.mark.parametrize("prefetch", [1, 4])
@pytest.mark.parametrize("stop_on_empty", [True, False])
async def test_given_a_page_answering_nothing_when_listed_then_the_listing_ends_with_the_records_before_it(
    nothing: Any, prefetch: int, stop_on_empty: bool
) -> None:
    # Given a page-number listing of 3 a page whose total header promises 7 records, and a store
    # that answers page 2 with nothing at all
    definition = connector(
        resource(
            "orders",
            pagination={
                "type": "page_number",
                "paramName": "per_page",
                "defaultLimit": 3,
                "totalHeader": "X-Total",
                "stopOnEmptyPage": stop_on_empty,
            },
        )
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] == "1":
            return json_response(ITEMS[:3], headers={"X-Total": "7"})
        return nothing({"X-Total": "7"})

    store = Store(answer)
    client = make_client(definition, store, page_prefetch=prefetch)

    # When the resource is listed
    pages = await collect(client)

    # Then the listing ends at the empty page, whatever stopOnEmptyPage and the total say, and
    # nothing was retried
    assert ids(pages) == [[1, 2, 3], []]
    assert pages[-1].next is None
    assert pages[-1].total == 7  # the headers of an empty answer are still read
    assert client.stats.retries == 0
    assert sorted(request.url.params["page"] for request in store.requests)[:2] == ["1", "2"]
    if prefetch == 1:
        assert len(store.requests) == 2


@pytest.mark.parametrize("nothing", NOTHING)
@pytest.mark.parametrize(
    "pagination",
    [
        pytest.param({"type": "cursor", "cursorPath": "next", "cursorParam": "after"}, id="cursor"),
        pytest.param({"type": "next_url", "nextUrlPath": "next"}, id="next-url"),
        pytest.param({"type": "offset", "paramName": "limit", "defaultLimit": 3}, id="offset"),
    ],
)
async def test_given_a_later_page_answering_nothing_when_listed_by_any_pagination_then_the_listing_ends(
    nothing: Any, pagination: dict[str, Any]
) -> None:
    # Given a store whose first page points on to a second, and whose second answers nothing
    definition = connector(
        resource("orders", pagination=pagination, responseMapping={"dataProperty": "data"})
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if len(store.requests) == 1:
            return json_response({"data": ITEMS[:3], "next": f"{BASE}/orders?after=3"})
        return nothing()

    store = Store(answer)
    client = make_client(definition, store, page_prefetch=1)

    # When the resource is listed
    pages = await collect(client)

    # Then the first page's records are kept and the listing ends after the second request
    assert ids(pages) == [[1, 2, 3], []]
    assert len(store.requests) == 2
    assert client.stats.retries == 0


@pytest.mark.parametrize("nothing", NOTHING)
async def test_given_a_store_with_nothing_to_list_when_listed_then_one_empty_page(nothing: Any) -> None:
    # Given a link-header listing whose very first page answers nothing
    definition = connector(
        resource("orders", pagination={"type": "link_header", "paramName": "limit", "defaultLimit": 50})
    )
    store = Store(lambda request: nothing())

    # When the resource is listed
    pages = await collect(make_client(definition, store))

    # Then the listing is one empty page, not an error
    assert ids(pages) == [[]]
    assert len(store.requests) == 1


async def test_given_a_page_answering_204_when_list_records_runs_then_the_records_before_it_in_one_pass() -> (
    None
):
    # Given an incremental page-number listing whose third page answers 204
    definition = connector(
        resource(
            "orders",
            pagination={"type": "page_number", "paramName": "per_page", "defaultLimit": 3},
            incremental={"param": "updated_after", "recordUpdatedAt": "updated_at"},
        )
    )
    older = [{**item, "updated_at": "2024-01-01T00:00:00Z"} for item in ITEMS[:6]]

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return no_content() if page == 3 else json_response(older[(page - 1) * 3 : page * 3])

    client = make_client(definition, Store(answer))

    # When every record is listed
    listing = list_records(
        client,
        "orders",
        since=datetime(2023, 1, 1, tzinfo=UTC),
        clock=lambda: datetime(2024, 5, 1, tzinfo=UTC),
    )
    listed = [item.record["id"] async for item in listing]

    # Then the six records come once, in one quiet pass
    assert listed == [1, 2, 3, 4, 5, 6]
    assert listing.stats.passes == 1 and listing.stats.last_pass_quiet


# --- a details call with nothing in it ------------------------------------------------------------


@pytest.mark.parametrize(
    ("nothing", "status", "what"),
    [
        pytest.param(no_content, 204, "the answer is 204 No Content", id="204"),
        pytest.param(empty_body, 200, "the answer is an empty body", id="empty-200"),
        pytest.param(blank_body, 200, "the answer is an empty body", id="blank-200"),
    ],
)
async def test_given_a_details_call_answering_nothing_when_fetched_then_an_error_that_says_which(
    nothing: Any, status: int, what: str
) -> None:
    # Given a details endpoint that answers nothing for id 5
    store = Store(lambda request: nothing())
    client = make_client(connector(), store)

    # When the record is fetched
    with pytest.raises(ProviderResponseError) as raised:
        await client.details("orders", 5)

    # Then the error names the call, the status and what came back instead of the record, at once
    assert str(raised.value) == f"GET {BASE}/orders/5 ({status}): {what}, not the record of id '5'"
    assert raised.value.status == status
    assert len(store.requests) == 1 and client.stats.retries == 0


async def test_given_one_id_answering_204_when_many_are_fetched_then_only_that_id_fails() -> None:
    # Given a store that answers 204 for id 2 and the record for the others
    def answer(request: httpx.Request) -> httpx.Response:
        record_id = request.url.path.rsplit("/", 1)[-1]
        return no_content() if record_id == "2" else json_response({"id": int(record_id)})

    client = make_client(connector(), Store(answer))

    # When three ids are fetched
    results = {result.id: result async for result in client.details_many("orders", [1, 2, 3])}

    # Then ids 1 and 3 have their records and id 2 its own error
    assert {key: result.record for key, result in results.items()} == {
        "1": {"id": 1},
        "2": None,
        "3": {"id": 3},
    }
    assert isinstance(results["2"].error, ProviderResponseError)
    assert "204 No Content" in str(results["2"].error)


# --- query strings in endpoint URLs ---------------------------------------------------------------


async def test_given_a_list_url_with_a_query_string_when_listed_then_it_is_sent_with_params_and_paging() -> (
    None
):
    # Given a list URL that carries its own query, endpoint params, and page-number paging
    definition = connector(
        resource(
            "customers",
            endpoints={
                "list": {
                    "url": "/customers?include=addresses&filter[state]=active",
                    "params": {"sort": "id"},
                },
                "details": {"url": "/customers/{id}"},
            },
            pagination={"type": "page_number", "paramName": "per_page", "defaultLimit": 3},
        )
    )
    store = Store(lambda request: json_response(ITEMS[:3] if request.url.params["page"] == "1" else []))

    # When the resource is listed
    await collect(make_client(definition, store, page_prefetch=1), "customers")

    # Then every page keeps the URL's query as written, then the params, then the page's own
    assert store.urls == [
        f"{BASE}/customers?include=addresses&filter[state]=active&sort=id&per_page=3&page=1",
        f"{BASE}/customers?include=addresses&filter[state]=active&sort=id&per_page=3&page=2",
    ]


async def test_given_a_single_page_url_with_a_query_string_and_no_params_when_listed_then_it_is_kept() -> (
    None
):
    # Given a single-page listing whose only parameters are in its URL
    definition = connector(
        resource(
            "orders",
            endpoints={"list": {"url": "/orders?status=any"}},
            pagination={"type": "none"},
        )
    )
    store = Store(lambda request: json_response(ITEMS))

    # When it is listed
    await collect(make_client(definition, store))

    # Then the query string is sent (an empty params= would have wiped it)
    assert store.urls == [f"{BASE}/orders?status=any"]


async def test_given_an_incremental_param_named_like_the_urls_when_listed_then_the_incremental_wins() -> None:
    # Given a list URL asking for open orders, and an incremental filter that asks for any status
    definition = connector(
        resource(
            "orders",
            endpoints={"list": {"url": "/orders?status=open&include=lines"}},
            pagination={"type": "none"},
            incremental={
                "param": "updated_after",
                "recordUpdatedAt": "updated_at",
                "params": {"status": "any"},
            },
        )
    )
    store = Store(lambda request: json_response([]))

    # When it is listed since a time
    await collect(make_client(definition, store), since=datetime(2024, 5, 1, tzinfo=UTC))

    # Then status is sent once, with the incremental value, and the rest of the URL's query is kept
    (request,) = store.requests
    assert request.url.params.get_list("status") == ["any"]
    assert request.url.params["include"] == "lines"
    assert request.url.params["updated_after"].startswith("2024-04-30T23:55:00")


async def test_given_a_details_url_with_a_query_string_when_fetched_then_it_is_kept_beside_params() -> None:
    # Given a details URL with the id in its path and its own query, plus details params
    definition = connector(
        resource(
            "customers",
            endpoints={
                "list": {"url": "/customers"},
                "details": {"url": "/customers/{id}?include=addresses", "params": {"expand": "orders"}},
            },
        )
    )
    store = Store(lambda request: json_response({"id": 42}))

    # When one customer is fetched
    await make_client(definition, store).details("customers", 42)

    # Then the query as written comes first, then the params
    assert store.urls == [f"{BASE}/customers/42?include=addresses&expand=orders"]


async def test_given_a_credential_in_a_url_query_when_the_call_fails_then_the_error_masks_it() -> None:
    # Given an API key written in the list URL's query string
    definition = connector(
        resource(
            "orders",
            endpoints={"list": {"url": "/orders?api_key=[[accessToken]]"}},
            pagination={"type": "none"},
        ),
        headers={},
    )
    store = Store(lambda request: httpx.Response(404, text="no such store"))

    # When the store refuses the call
    with pytest.raises(ProviderHTTPError) as raised:
        await collect(make_client(definition, store, credentials={"accessToken": "tok-123456789"}))

    # Then the key was sent, and the error shows it masked
    assert store.requests[0].url.params["api_key"] == "tok-123456789"
    assert "tok-123456789" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        pytest.param("https://s.test/a", {"b": "1"}, "https://s.test/a?b=1", id="no-query"),
        pytest.param("https://s.test/a?x=1", {}, "https://s.test/a?x=1", id="no-params"),
        pytest.param("https://s.test/a?x=1", None, "https://s.test/a?x=1", id="params-none"),
        pytest.param("https://s.test/a?x=1&y=2", {"b": "1"}, "https://s.test/a?x=1&y=2&b=1", id="appended"),
        pytest.param(
            "https://s.test/a?x=1&y=2", {"x": "9"}, "https://s.test/a?y=2&x=9", id="params-win-a-name"
        ),
        pytest.param(
            "https://s.test/a?f%5Bs%5D=1&t=a,b",
            {"f[s]": "2"},
            "https://s.test/a?t=a,b&f%5Bs%5D=2",
            id="decoded-name",
        ),
        pytest.param(
            "https://s.test/a?x=1&x=2", {"x": "3"}, "https://s.test/a?x=3", id="repeated-name-replaced"
        ),
        pytest.param(
            "https://s.test/a?flag&&x=1", {"b": "a b&c"}, "https://s.test/a?flag&x=1&b=a+b%26c", id="encoded"
        ),
        pytest.param("https://s.test/a?x=1#top", {"b": "1"}, "https://s.test/a?x=1&b=1#top", id="fragment"),
        pytest.param("https://s.test/a?", {"b": "1"}, "https://s.test/a?b=1", id="bare-question-mark"),
    ],
)
def test_given_a_url_and_params_when_joined_then_the_urls_own_query_is_kept_as_written(
    url: str, params: dict[str, str] | None, expected: str
) -> None:
    # Given a URL that may carry a query and params to send with it
    # When they are joined
    # Then the URL's query stays as written except for names the params give
    assert with_params(url, params) == expected


# --- {id} in details params -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_id", "raw_query", "sent"),
    [
        pytest.param(42, b"customer_id=42&include=addresses", "42", id="number"),
        pytest.param("A/9 8&1", b"customer_id=A%2F9+8%261&include=addresses", "A/9 8&1", id="encoded-once"),
        pytest.param("x=1&y", b"customer_id=x%3D1%26y&include=addresses", "x=1&y", id="cannot-add-params"),
    ],
)
async def test_given_id_in_details_params_when_fetched_then_it_is_filled_and_encoded_once(
    record_id: Any, raw_query: bytes, sent: str
) -> None:
    # Given a details endpoint that names the record by a query parameter, not its path
    definition = connector(
        resource(
            "customers",
            endpoints={
                "list": {"url": "/customers"},
                "details": {"url": "/customers", "params": {"customer_id": "{id}", "include": "addresses"}},
            },
        )
    )
    store = Store(lambda request: json_response({"id": 42}))

    # When a record is fetched by an id that may hold characters a query string gives meaning to
    await make_client(definition, store).details("customers", record_id)

    # Then the parameter carries exactly the id, encoded once, and no other parameter appears
    (request,) = store.requests
    assert request.url.path == "/v1/customers"
    assert request.url.query == raw_query
    assert request.url.params["customer_id"] == sent
    assert list(request.url.params) == ["customer_id", "include"]


async def test_given_id_inside_a_param_value_and_the_url_query_when_fetched_then_both_are_filled() -> None:
    # Given {id} in a param's text and in the URL's own query string
    definition = connector(
        resource(
            "orders",
            endpoints={
                "list": {"url": "/orders"},
                "details": {"url": "/search?ref={id}", "params": {"q": "id:{id}"}},
            },
        )
    )
    store = Store(lambda request: json_response({"id": 7}))

    # When two records are fetched one after the other
    client = make_client(definition, store)
    await client.details("orders", "A 7")
    await client.details("orders", 8)

    # Then each call carries its own id in both places (the params are not filled once for all)
    assert [(request.url.params["ref"], request.url.params["q"]) for request in store.requests] == [
        ("A 7", "id:A 7"),
        ("8", "id:8"),
    ]


# --- names given twice are refused when the definition loads --------------------------------------


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        pytest.param(
            {"endpoints": {"list": {"url": "/orders?status=open", "params": {"status": "any"}}}},
            "sync.resources.orders.endpoints.list.params.status",
            "'status' is also in the url's query string; give it in one place, url or params",
            id="url-and-params",
        ),
        pytest.param(
            {
                "endpoints": {
                    "list": {"url": "/orders"},
                    "details": {"url": "/orders/{id}?include=lines", "params": {"include": "notes"}},
                }
            },
            "sync.resources.orders.endpoints.details.params.include",
            "'include' is also in the url's query string",
            id="details-url-and-params",
        ),
        pytest.param(
            {
                "endpoints": {"list": {"url": "/orders?per_page=100"}},
                "pagination": {"type": "page_number", "paramName": "per_page"},
            },
            "sync.resources.orders.endpoints.list.url",
            "'per_page' is the pagination's paramName, which the listing sets on every page",
            id="page-size-in-url",
        ),
        pytest.param(
            {
                "endpoints": {"list": {"url": "/orders", "params": {"page": 1}}},
                "pagination": {"type": "page_number"},
            },
            "sync.resources.orders.endpoints.list.params.page",
            "'page' is the pagination's pageParam",
            id="page-in-params",
        ),
        pytest.param(
            {
                "endpoints": {"list": {"url": "/orders", "params": {"after": ""}}},
                "pagination": {"type": "cursor", "cursorPath": "next", "cursorParam": "after"},
            },
            "sync.resources.orders.endpoints.list.params.after",
            "'after' is the pagination's cursorParam",
            id="cursor-in-params",
        ),
        pytest.param(
            {
                "pagination": {"type": "link_header", "paramName": "limit"},
                "incremental": {"param": "updated_at_min", "recordUpdatedAt": "updated_at"},
                "deletions": {"sweep": {"params": {"limit": 250}}},
            },
            "sync.resources.orders.deletions.sweep.params.limit",
            "'limit' is the pagination's paramName",
            id="page-size-in-sweep-params",
        ),
        pytest.param(
            {
                "incremental": {"param": "updated_at_min", "recordUpdatedAt": "updated_at"},
                "deletions": {
                    "feed": {
                        "endpoint": {"url": "/events?offset=0"},
                        "pagination": {"type": "offset"},
                        "incremental": {"param": "created_at_min", "recordUpdatedAt": "created_at"},
                    }
                },
            },
            "sync.resources.orders.deletions.feed.endpoint.url",
            "'offset' is the pagination's offsetParam",
            id="offset-in-feed-url",
        ),
        pytest.param(
            {"endpoints": {"list": {"url": "/orders", "params": {"customer_id": "{id}"}}}},
            "sync.resources.orders.endpoints.list.params.customer_id",
            "{id} is only filled in endpoints.details; a listing has no id",
            id="id-in-list-params",
        ),
        pytest.param(
            {"endpoints": {"list": {"url": "/orders/{id}"}}},
            "sync.resources.orders.endpoints.list.url",
            "{id} is only filled in endpoints.details",
            id="id-in-list-url",
        ),
        pytest.param(
            {"endpoints": {"list": {"url": "/orders"}, "details": {"url": "/orders", "params": {"id": "x"}}}},
            "sync.resources.orders.endpoints.details.url",
            "needs the {id} placeholder, in its url (/orders/{id}) or in a param",
            id="details-without-id",
        ),
    ],
)
def test_given_a_parameter_with_two_sources_when_loaded_then_refused_with_its_location(
    fields: dict[str, Any], path: str, message: str
) -> None:
    # Given an orders resource whose query names one parameter in two places (or {id} where none is)
    # When the definition loads
    with pytest.raises(DefinitionError) as caught:
        connector(resource("orders", **fields))

    # Then it is refused at the place of the second one, saying why
    problem = caught.value.problems[0]
    assert problem.path == path, caught.value.render()
    assert message in problem.message
