"""The Crystal flavor: the ERP's ecom/products listing that Mercator polls as its catalog source."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from mercator_sandbox import Sandbox, WebhookConfig
from mercator_sandbox.flavors import Crystal
from tests.sandbox.conftest import FakeClock, SandboxFactory

# 2024-06-01 00:00:00 UTC: the moment the hand-made catalogs below are laid out around.
T = int(datetime(2024, 6, 1, tzinfo=UTC).timestamp())
DAY = 86_400
LIST = "/ecom/products"
RECORD_KEYS = {
    "id",
    "product_number",
    "name",
    "description",
    "short_description",
    "images",
    "tags",
    "allow_backorder",
    "quantity",
    "is_visible",
    "vendor",
    "price",
    "item_type",
    "created_at",
    "updated_at",
}


def catalog(make_sandbox: SandboxFactory, rows: list[tuple[int, int, str]], **options: object) -> Sandbox:
    """A Crystal store holding exactly ``rows``: (record id, seconds after T it was updated, mark)."""
    sandbox = make_sandbox("crystal", sizes={"products": 0}, **options)
    for record_id, offset, mark in rows:
        status = 0 if mark == "marked" else 1
        sandbox.store.insert(
            "products", record_id=record_id, created=T - DAY, updated=T + offset, status=status
        )
    return sandbox


def crystal(sandbox: Sandbox) -> Crystal:
    assert isinstance(sandbox.flavor, Crystal)
    return sandbox.flavor


def numbers(body: dict[str, object]) -> list[str]:
    data = body["data"]
    assert isinstance(data, list)
    return [record["product_number"] for record in data]


def bare_client(sandbox: Sandbox, headers: dict[str, str]) -> httpx.AsyncClient:
    """A client of the store that sends exactly ``headers`` (none of the sample credentials)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=sandbox.base_url(), headers=headers
    )


# --- credentials ----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic Y2s6Y3M="},
        {"Authorization": "crystal-key"},
    ],
)
async def test_requests_without_a_bearer_key_are_refused(
    make_sandbox: SandboxFactory, headers: dict[str, str]
) -> None:
    # Given a Crystal store with one marked product
    sandbox = catalog(make_sandbox, [(2000, 0, "marked")])
    product = crystal(sandbox).product_uuid(2000)

    # When the list and the details are asked for without a bearer API key
    async with bare_client(sandbox, headers) as client:
        listing = await client.get(LIST)
        details = await client.get(f"{LIST}/{product}")

    # Then both are a 401 in Crystal's error shape
    for response in (listing, details):
        assert response.status_code == 401
        body = response.json()
        assert list(body) == ["error"]
        assert body["error"]["code"] == "unauthorized"
        assert "Bearer" in body["error"]["message"]


@pytest.mark.anyio
async def test_any_bearer_key_is_accepted(make_sandbox: SandboxFactory) -> None:
    # Given a Crystal store with one marked product
    sandbox = catalog(make_sandbox, [(2000, 0, "marked")])

    # When a made-up key is sent as a bearer token
    async with bare_client(sandbox, {"Authorization": "Bearer some-other-key"}) as client:
        response = await client.get(LIST)

    # Then the product is listed, and the sample headers are that form too
    assert response.status_code == 200
    assert numbers(response.json()) == ["CR-002000"]
    assert sandbox.credentials == {"Authorization": "Bearer crystal-sandbox-key"}
    assert sandbox.base_url("http://127.0.0.1:8900") == "http://127.0.0.1:8900/api"


# --- the list envelope ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_envelope_and_pagination_meta(make_sandbox: SandboxFactory) -> None:
    # Given 23 marked products 2000, 2002 ... 2044, updated a minute apart in id order, and two
    # unmarked ones (2001, 2003) in between
    rows = [(2000 + 2 * i, 60 * i, "marked") for i in range(23)]
    rows += [(2001, 30, "unmarked"), (2003, 90, "unmarked")]
    sandbox = catalog(make_sandbox, rows)

    # When pages of 10 are walked, one past the last too, and the first page at the default size
    async with sandbox.client() as client:
        pages = [(await client.get(LIST, params={"per_page": 10, "page": n})).json() for n in (1, 2, 3, 4)]
        default = (await client.get(LIST)).json()

    # Then every answer is {"data", "meta"}; 23 marked products make 3 pages of 10, 10 and 3
    assert [list(page) for page in pages] == [["data", "meta"]] * 4
    assert [page["meta"] for page in pages] == [
        {"current_page": n, "per_page": 10, "total": 23, "last_page": 3} for n in (1, 2, 3, 4)
    ]
    assert numbers(pages[0]) == [f"CR-00{2000 + 2 * i}" for i in range(10)]
    assert numbers(pages[1]) == [f"CR-00{2020 + 2 * i}" for i in range(10)]
    assert numbers(pages[2]) == ["CR-002040", "CR-002042", "CR-002044"]
    assert pages[3]["data"] == []
    # The default page is 50: everything on one page
    assert default["meta"] == {"current_page": 1, "per_page": 50, "total": 23, "last_page": 1}
    assert len(default["data"]) == 23


@pytest.mark.anyio
async def test_an_empty_catalog_has_one_empty_page(make_sandbox: SandboxFactory) -> None:
    # Given a Crystal store with no products at all
    sandbox = catalog(make_sandbox, [])

    # When it is listed
    async with sandbox.client() as client:
        body = (await client.get(LIST)).json()

    # Then the data is empty and the last page is still page 1
    assert body == {"data": [], "meta": {"current_page": 1, "per_page": 50, "total": 0, "last_page": 1}}


@pytest.mark.anyio
async def test_per_page_is_capped_at_100(make_sandbox: SandboxFactory) -> None:
    # Given 130 marked products
    sandbox = catalog(make_sandbox, [(5000 + 2 * i, i, "marked") for i in range(130)])

    # When 500 a page are asked for
    async with sandbox.client() as client:
        capped = (await client.get(LIST, params={"per_page": 500})).json()
        second = (await client.get(LIST, params={"per_page": 500, "page": 2})).json()
        zero = await client.get(LIST, params={"per_page": 0})

    # Then pages hold 100 and the meta says so: 130 make two pages, of 100 and 30
    assert capped["meta"] == {"current_page": 1, "per_page": 100, "total": 130, "last_page": 2}
    assert len(capped["data"]) == 100
    assert numbers(second) == [f"CR-00{5000 + 2 * i}" for i in range(100, 130)]
    # And a page size below 1 is refused
    assert zero.status_code == 400
    assert zero.json()["error"]["code"] == "invalid_parameter"
    assert "per_page" in zero.json()["error"]["message"]


@pytest.mark.anyio
async def test_a_configured_page_cap_replaces_100(make_sandbox: SandboxFactory) -> None:
    # Given 9 marked products and a store capped at 4 a page
    sandbox = catalog(make_sandbox, [(6000 + 2 * i, i, "marked") for i in range(9)], max_per_page=4)

    # When the default page size (50) is asked for
    async with sandbox.client() as client:
        body = (await client.get(LIST)).json()

    # Then pages hold 4: 9 products make 3 pages
    assert body["meta"] == {"current_page": 1, "per_page": 4, "total": 9, "last_page": 3}
    assert numbers(body) == ["CR-006000", "CR-006002", "CR-006004", "CR-006006"]


# --- updated_since --------------------------------------------------------------------------------

SINCE_ROWS = [
    (3001, -1, "marked"),  # a second before T
    (3003, 0, "marked"),  # exactly T
    (3009, 60, "marked"),  # a minute after T, tied with 3005
    (3005, 60, "marked"),
    (3007, 30, "marked"),
    (3011, 90, "unmarked"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("since", "expected"),
    [
        (None, ["CR-003001", "CR-003003", "CR-003007", "CR-003005", "CR-003009"]),
        ("2024-06-01T00:00:00Z", ["CR-003003", "CR-003007", "CR-003005", "CR-003009"]),
        ("2024-06-01T03:00:30+03:00", ["CR-003007", "CR-003005", "CR-003009"]),
        ("2024-06-01T00:01:00Z", ["CR-003005", "CR-003009"]),
        ("2024-06-01T00:01:01Z", []),
    ],
)
async def test_updated_since_is_inclusive_and_oldest_first(
    make_sandbox: SandboxFactory, since: str | None, expected: list[str]
) -> None:
    # Given products updated around T, two of them in the same second, one unmarked
    sandbox = catalog(make_sandbox, SINCE_ROWS)

    # When products updated since a moment are listed
    params = {"updated_since": since} if since is not None else {}
    async with sandbox.client() as client:
        body = (await client.get(LIST, params=params)).json()

    # Then the ones updated at that second or later are listed, oldest first, ties by id, and the
    # unmarked one never
    assert numbers(body) == expected
    assert body["meta"]["total"] == len(expected)


@pytest.mark.anyio
async def test_updated_at_is_the_time_the_filter_reads(make_sandbox: SandboxFactory) -> None:
    # Given the same products
    sandbox = catalog(make_sandbox, SINCE_ROWS)

    # When they are listed from T
    async with sandbox.client() as client:
        body = (await client.get(LIST, params={"updated_since": "2024-06-01T00:00:00Z"})).json()

    # Then their updated_at values are those times, in UTC with Z, and created_at the day before
    assert [record["updated_at"] for record in body["data"]] == [
        "2024-06-01T00:00:00Z",
        "2024-06-01T00:00:30Z",
        "2024-06-01T00:01:00Z",
        "2024-06-01T00:01:00Z",
    ]
    assert {record["created_at"] for record in body["data"]} == {"2024-05-31T00:00:00Z"}


@pytest.mark.anyio
async def test_a_bad_updated_since_is_refused(make_sandbox: SandboxFactory) -> None:
    # Given a Crystal store
    sandbox = catalog(make_sandbox, SINCE_ROWS)

    # When updated_since is not a date
    async with sandbox.client() as client:
        response = await client.get(LIST, params={"updated_since": "yesterday"})

    # Then it is a 400 naming the parameter
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert "updated_since" in response.json()["error"]["message"]


# --- the record -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_record_has_the_seed_fields_and_two_timestamps(make_sandbox: SandboxFactory) -> None:
    # Given a generated store (seed 11) and one of its marked products
    sandbox = make_sandbox("crystal")
    flavor = crystal(sandbox)
    table = sandbox.store.table("products")
    record_id = min(i for i, state in table.records.items() if state.status == 0)
    facts = flavor.catalog.product(record_id)
    product = flavor.product_uuid(record_id)

    # When its details are asked for by its uuid
    async with sandbox.client() as client:
        response = await client.get(f"{LIST}/{product}")

    # Then it answers {"data": record} with exactly the seed's fields plus created_at and updated_at
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data"]
    record = body["data"]
    assert set(record) == RECORD_KEYS
    assert record["id"] == product
    assert uuid.UUID(record["id"]).version == 5
    assert record["product_number"] == f"CR-{record_id:06d}"
    assert record["name"] == facts.title
    assert record["description"] == f"<p>{facts.title} by {facts.vendor}.</p>"
    assert record["short_description"] == f"{facts.title}."
    assert record["is_visible"] is True
    assert isinstance(record["allow_backorder"], bool)
    assert record["quantity"] == facts.stock
    assert record["price"] == facts.price_cents / 100
    assert record["tags"] == [facts.category, facts.title.split()[0]]
    assert [image["position"] for image in record["images"]] == list(range(1, facts.images + 1))
    assert all(image["url"].startswith("https://") for image in record["images"])
    assert record["vendor"]["name"] == facts.vendor
    assert set(record["vendor"]) == {"id", "name", "code"}
    assert uuid.UUID(record["vendor"]["id"]).version == 5
    assert record["item_type"]["name"] == facts.category
    assert set(record["item_type"]) == {"id", "name"}
    # And the store has products only, whatever sizes the other resources were given
    assert sandbox.store.resources == ("products",)


def test_vendor_codes_and_uuids_are_shared_by_every_product_of_a_vendor(make_sandbox: SandboxFactory) -> None:
    # Given a generated store's products, as the source lists them
    products = crystal(make_sandbox("crystal", sizes={"products": 80})).source_products()

    # When they are grouped by vendor name and by item type name
    vendors = {(p["vendor"]["name"], p["vendor"]["id"], p["vendor"]["code"]) for p in products.values()}
    types = {(p["item_type"]["name"], p["item_type"]["id"]) for p in products.values()}

    # Then one name has one id and one code: the first three letters of each word, upper case
    assert len({name for name, _, _ in vendors}) == len(vendors)
    assert len({name for name, _ in types}) == len(types)
    assert {name: code for name, _, code in vendors} == {
        "Acme": "ACM",
        "Northwind": "NOR",
        "Desert Rose": "DESROS",
        "Oasis Goods": "OASGOO",
        "Blue Harbor": "BLUHAR",
    }


@pytest.mark.anyio
async def test_an_unknown_id_is_a_404(make_sandbox: SandboxFactory) -> None:
    # Given a store with product 2000
    sandbox = catalog(make_sandbox, [(2000, 0, "marked")])

    # When details are asked for by a uuid no product has, by its integer id, and by garbage
    async with sandbox.client() as client:
        answers = [
            await client.get(f"{LIST}/{uuid.uuid4()}"),
            await client.get(f"{LIST}/2000"),
            await client.get(f"{LIST}/not-a-uuid"),
        ]

    # Then each is a 404 not_found
    assert [response.status_code for response in answers] == [404, 404, 404]
    assert {response.json()["error"]["code"] for response in answers} == {"not_found"}


# --- edits, marking -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_edit_shows_a_newer_updated_at_and_changed_fields(make_sandbox: SandboxFactory) -> None:
    # Given products 2000 and 2002, updated at T and T + 10 s (the store's present is 2025-01-01)
    sandbox = catalog(make_sandbox, [(2000, 0, "marked"), (2002, 10, "marked")])
    product = crystal(sandbox).product_uuid(2000)
    async with sandbox.client() as client:
        before = (await client.get(f"{LIST}/{product}")).json()["data"]

        # When ten minutes later product 2000 is edited in Crystal, and then edited again
        sandbox.advance_clock(600)
        sandbox.store.touch("products", 2000)
        once = (await client.get(f"{LIST}/{product}")).json()["data"]
        sandbox.store.touch("products", 2000)
        twice = (await client.get(f"{LIST}/{product}")).json()["data"]
        since = (await client.get(LIST, params={"updated_since": "2025-01-01T00:10:00Z"})).json()

    # Then updated_at is the edit's time (each edit a second later at least), price is 1.00 and
    # quantity 5 higher per edit, and the rest is as it was
    assert before["updated_at"] == "2024-06-01T00:00:00Z"
    assert once["updated_at"] == "2025-01-01T00:10:00Z"
    assert twice["updated_at"] == "2025-01-01T00:10:01Z"
    assert round(once["price"] * 100) == round(before["price"] * 100) + 100
    assert round(twice["price"] * 100) == round(before["price"] * 100) + 200
    assert once["quantity"] == before["quantity"] + 5
    assert twice["quantity"] == before["quantity"] + 10
    unchanged = RECORD_KEYS - {"price", "quantity", "updated_at"}
    assert {key: twice[key] for key in unchanged} == {key: before[key] for key in unchanged}
    # And an updated-since sync from the edit finds it, and only it
    assert numbers(since) == ["CR-002000"]
    assert since["data"][0] == twice


@pytest.mark.anyio
async def test_unmark_hides_from_list_and_details_and_mark_restores(make_sandbox: SandboxFactory) -> None:
    # Given three marked products updated at T, T + 10 s and T + 20 s
    sandbox = catalog(make_sandbox, [(4000, 0, "marked"), (4002, 10, "marked"), (4004, 20, "marked")])
    flavor = crystal(sandbox)
    product = flavor.product_uuid(4002)
    async with sandbox.client() as client:
        before = (await client.get(f"{LIST}/{product}")).json()["data"]

        # When a minute into the store's present product 4002 is unmarked for e-commerce
        sandbox.advance_clock(60)
        unmarked = flavor.unmark(4002)
        hidden_list = (await client.get(LIST)).json()
        hidden_details = await client.get(f"{LIST}/{product}")

        # Then it is neither listed nor answered by id, and its update time moved to the unmarking
        assert numbers(hidden_list) == ["CR-004000", "CR-004004"]
        assert hidden_list["meta"]["total"] == 2
        assert hidden_details.status_code == 404
        assert hidden_details.json()["error"]["code"] == "not_found"
        assert unmarked.updated == int(datetime(2025, 1, 1, 0, 1, tzinfo=UTC).timestamp())
        assert not flavor.is_marked(4002)
        assert set(flavor.source_products()) == {flavor.product_uuid(4000), flavor.product_uuid(4004)}
        assert flavor.source_product(4002) is None

        # When it is unmarked again: nothing changes
        assert flavor.unmark(product).updated == unmarked.updated

        # When another minute later it is marked again (by its uuid this time)
        sandbox.advance_clock(60)
        flavor.mark(product)
        restored_list = (await client.get(LIST)).json()
        restored = (await client.get(f"{LIST}/{product}")).json()["data"]

    # Then it is listed again, last (updated most recently), with the same content as before
    assert numbers(restored_list) == ["CR-004000", "CR-004004", "CR-004002"]
    assert restored["updated_at"] == "2025-01-01T00:02:00Z"
    assert {k: v for k, v in restored.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert flavor.source_products()[product] == restored


def test_marking_an_unknown_product_is_refused(make_sandbox: SandboxFactory) -> None:
    # Given a store with product 4000 only
    flavor = crystal(catalog(make_sandbox, [(4000, 0, "marked")]))

    # When 4001 (no such product) is unmarked, Then it is refused
    with pytest.raises(ValueError, match="4001"):
        flavor.unmark(4001)


# --- determinism ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_same_seed_same_products_and_uuids(make_sandbox: SandboxFactory) -> None:
    # Given two stores with seed 11 and one with seed 12
    first, second = make_sandbox("crystal"), make_sandbox("crystal")
    other = make_sandbox("crystal", seed=12)

    # When each lists its first page and reads its products
    pages = []
    for sandbox in (first, second):
        async with sandbox.client() as client:
            pages.append((await client.get(LIST, params={"per_page": 10})).json())

    # Then the two seed-11 stores answer the same records, uuids included
    assert pages[0] == pages[1]
    assert crystal(first).source_products() == crystal(second).source_products()
    # And a uuid is derived from the record id alone and maps back to it
    record_id = min(first.store.ids("products"))
    assert crystal(first).product_uuid(record_id) == crystal(other).product_uuid(record_id)
    assert crystal(first).record_id(crystal(first).product_uuid(record_id)) == record_id
    # And seed 12 is another catalog
    assert set(crystal(other).source_products()) != set(crystal(first).source_products())


# --- the shared pipeline: rate limit, clock, faults, webhooks -------------------------------------


@pytest.mark.anyio
async def test_platform_rate_limit_is_10_a_second(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    # Given a Crystal store with the platform's own budget, on a clock that does not move
    sandbox = catalog(make_sandbox, [(2000, 0, "marked")], rate_limit="platform")

    # When eleven requests arrive at once, and one more a tenth of a second later
    async with sandbox.client() as client:
        burst = [await client.get(LIST) for _ in range(11)]
        clock.advance(0.1)
        later = await client.get(LIST)

    # Then ten pass, counting down the remaining budget, and the eleventh is a 429 to retry in 1 s
    assert [response.status_code for response in burst] == [200] * 10 + [429]
    assert [response.headers["X-RateLimit-Remaining"] for response in burst[:10]] == [
        str(n) for n in range(9, -1, -1)
    ]
    assert burst[0].headers["X-RateLimit-Limit"] == "10"
    assert burst[10].headers["Retry-After"] == "1"
    assert burst[10].json()["error"]["code"] == "rate_limited"
    # And a tenth of a second drains room for one more
    assert later.status_code == 200


@pytest.mark.anyio
async def test_date_header_and_server_errors_come_from_the_pipeline(make_sandbox: SandboxFactory) -> None:
    # Given a Crystal store at its anchor
    sandbox = catalog(make_sandbox, [(2000, 0, "marked")])

    async with sandbox.client() as client:
        # When it answers now and after its clock jumps half an hour
        at_start = await client.get(LIST)
        sandbox.advance_clock(1_800)
        later = await client.get(LIST)
        # And when every request fails with a 5xx
        sandbox.set_faults(error_rate=1.0)
        failed = await client.get(LIST)

    # Then the Date header is the store's time, and a server error is in Crystal's error shape
    assert at_start.headers["Date"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert later.headers["Date"] == "Wed, 01 Jan 2025 00:30:00 GMT"
    assert failed.status_code in (500, 502, 503)
    assert failed.json()["error"]["code"] == "server_error"


def test_crystal_sends_no_webhooks(make_sandbox: SandboxFactory) -> None:
    # Given a Crystal store configured with a webhook receiver
    sandbox = catalog(
        make_sandbox,
        [(2000, 0, "marked")],
        webhooks=WebhookConfig(url="http://receiver.test/hooks", secret="s"),
    )
    emitter = sandbox.emitter
    assert emitter is not None

    # When a product is edited, created and unmarked
    sandbox.store.touch("products", 2000)
    sandbox.store.insert("products", status=0)
    crystal(sandbox).unmark(2000)

    # Then nothing is queued, and asking for a delivery is refused
    assert emitter.pending == []
    with pytest.raises(ValueError, match="no webhooks"):
        emitter.emit("products", 2000, "product.updated")
