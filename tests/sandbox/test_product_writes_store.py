"""The written-product mechanism the flavors share: ``Store.write`` and ``insert(written=...)``, the
``ids`` filter of listings, the lost-answers knob's counting, and written products mapping through
the shipped connectors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from mercator.connector import load_shipped
from mercator.connector.mapper import map_delivery, map_details_response
from mercator_sandbox import (
    Faults,
    LostWriteAnswers,
    Query,
    UnknownRecordError,
    WebhookConfig,
    WrittenProduct,
)
from mercator_sandbox.dataset import Change
from tests.sandbox.conftest import FLAVORS, FakeClock, SandboxFactory

CREATES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "salla": (
        "/products",
        "/products/{id}",
        {"name": "Blue Mug", "price": 12.5, "product_type": "product", "quantity": 3, "sku": "MUG-1"},
    ),
    "shopify": (
        "/products.json",
        "/products/{id}.json",
        {"product": {"title": "Blue Mug", "variants": [{"sku": "MUG-1", "price": "12.50"}]}},
    ),
    "woocommerce": (
        "/products",
        "/products/{id}",
        {"name": "Blue Mug", "regular_price": "12.50", "sku": "MUG-1"},
    ),
}
CREATED_EVENTS = {"salla": "product.created", "shopify": "products/create", "woocommerce": "product.created"}


def test_a_write_keeps_the_content_moves_the_record_forward_and_notifies(
    make_sandbox: SandboxFactory, clock: FakeClock
) -> None:
    # Given a generated product and a listener on the store's changes
    sandbox = make_sandbox("salla")
    store = sandbox.store
    product_id = min(store.ids("products"))
    before = store.get("products", product_id)
    updated, revision = before.updated, before.revision
    changes: list[Change] = []
    store.subscribe(changes.append)
    content = WrittenProduct(name="Written", sku="W-1", price_cents=1_250)

    # When content is written twice in the same second, the first with a status
    store.write("products", product_id, content, status=2)
    first_time = store.get("products", product_id).updated
    store.write("products", product_id, content)

    # Then the record keeps the content and the status, one revision per write
    state = store.get("products", product_id)
    assert state.written == content
    assert state.status == 2
    assert state.revision == revision + 2
    # And its update time moved to the present, then one second on (always forward)
    assert first_time == max(int(store.time.now()), updated + 1)
    assert state.updated == first_time + 1
    # And each write sent an "updated" change carrying the content
    assert [(change.kind, change.id, change.state.written) for change in changes] == [
        ("updated", product_id, content),
        ("updated", product_id, content),
    ]


def test_an_insert_with_content_announces_it_and_bad_writes_raise(make_sandbox: SandboxFactory) -> None:
    # Given a store listened to
    sandbox = make_sandbox("woocommerce")
    store = sandbox.store
    changes: list[Change] = []
    store.subscribe(changes.append)
    content = WrittenProduct(name="New")

    # When a product is inserted with content
    state = store.insert("products", status=1, written=content)

    # Then the "created" change already carries the content
    assert [(change.kind, change.state.written) for change in changes] == [("created", content)]
    assert state.id > max(store.generated_ids("products"))
    # And writes to an unknown record or with an unknown status are refused
    with pytest.raises(UnknownRecordError):
        store.write("products", 1, content)
    with pytest.raises(ValueError, match="status of products"):
        store.write("products", state.id, content, status=9)


def test_the_ids_filter_keeps_only_those_records_live_or_trashed(make_sandbox: SandboxFactory) -> None:
    # Given four products, one of them in the trash
    sandbox = make_sandbox("woocommerce")
    store = sandbox.store
    first, second, third, fourth = sorted(store.ids("products"))[:4]
    store.delete("products", third)

    # When listings are filtered to three of them (one trashed) and one that does not exist
    wanted = frozenset({first, third, fourth, 1})
    live = store.select("products", Query(order="id", ids=wanted))
    everything = store.select("products", Query(order="id", ids=wanted, trash="with"))

    # Then the live listing has the two live ones, the listing with the trash also the trashed one
    assert list(live) == [first, fourth]
    assert list(everything) == [first, third, fourth]
    assert second not in everything


@pytest.mark.anyio
async def test_the_lost_answer_count_starts_again_only_when_the_knob_changes(
    make_sandbox: SandboxFactory,
) -> None:
    # Given a store losing one write answer, and a refused write first
    sandbox = make_sandbox("salla")
    sandbox.set_faults(lost_write_answers={"count": 1})
    body = CREATES["salla"][2]
    async with sandbox.client() as client:
        refused = await client.post("/products", json={})
        lost = await client.post("/products", json=body)
        # When another knob changes, and then the lost-answers knob is set again
        sandbox.set_faults(latency_ms=0)
        kept = await client.post("/products", json={**body, "sku": "MUG-2"})
        sandbox.set_faults(lost_write_answers={"count": 1, "rate": 1.0, "mode": "502"})
        same_knob = await client.post("/products", json={**body, "sku": "MUG-3"})
        sandbox.set_faults(lost_write_answers={"count": 2})
        renewed = await client.post("/products", json={**body, "sku": "MUG-4"})

    # Then a refused write keeps its answer, and the one loss allowed is spent by the first write
    assert (refused.status_code, lost.status_code) == (422, 502)
    # And neither an unrelated change nor the same knob set again allows another loss
    assert (kept.status_code, same_knob.status_code) == (201, 201)
    # And a different knob value starts the count again
    assert renewed.status_code == 502
    assert sandbox.counters.lost_answers == 2


@pytest.mark.anyio
async def test_lost_answers_at_a_rate_are_reproducible(make_sandbox: SandboxFactory) -> None:
    async def statuses() -> list[int]:
        # Given a store losing about half of the write answers, at most 100
        sandbox = make_sandbox(
            "shopify", seed=5, faults=Faults(lost_write_answers={"count": 100, "rate": 0.5})
        )
        async with sandbox.client() as client:
            # When 40 products are created
            codes = [
                (await client.post("/products.json", json={"product": {"title": f"P{n}"}})).status_code
                for n in range(40)
            ]
        # Then every one of them landed, lost answer or not
        assert sandbox.store.count("products") - len(sandbox.store.generated_ids("products")) == 40
        assert sandbox.counters.lost_answers == codes.count(502)
        return codes

    codes = await statuses()
    # And some answers were lost and some not (40 draws at p=0.5), the same on a second run
    assert set(codes) == {201, 502}
    assert await statuses() == codes


def test_the_lost_answers_knob_is_validated() -> None:
    assert Faults().lost_write_answers == LostWriteAnswers(count=0, rate=1.0, mode="502")
    with pytest.raises(ValidationError):
        LostWriteAnswers(count=-1)
    with pytest.raises(ValidationError):
        LostWriteAnswers(count=1, mode="drop")  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_a_created_product_maps_through_the_shipped_connector(
    flavor: str, make_sandbox: SandboxFactory
) -> None:
    # Given a store with webhooks, and its flavor's shipped connector
    sandbox = make_sandbox(flavor, webhooks=WebhookConfig(url="http://receiver/hooks", secret="s"))
    definition = load_shipped(flavor)
    create_path, details_path, body = CREATES[flavor]
    async with sandbox.client() as client:
        # When a product is created through the API and read back
        created = await client.post(create_path, json=body)
        assert created.status_code == 201, created.text
        product_id = sandbox.products()[-1]["id"]
        details = (await client.get(details_path.format(id=product_id))).json()

    # Then its details and its created webhook map without failure, to its id
    outcome = map_details_response(definition, "products", details)
    assert outcome.failures == [], outcome.failures[0].reason
    assert outcome.records[0]["code"] == str(product_id)
    assert sandbox.emitter is not None
    (delivery,) = sandbox.emitter.pending
    assert delivery.event == CREATED_EVENTS[flavor]
    mapped = map_delivery(definition, delivery.event, json.loads(delivery.body))
    assert mapped.failures == [], mapped.failures[0].reason
    assert mapped.records[0]["code"] == str(product_id)
