"""Catalog push end to end, one store flavor at a time: a Crystal source listed by ScheduledSync into the
canonical catalog, pushed by CatalogPush into the sandbox store, the store then compared with the
source product by product: after a first push, after edits and an unmarked product, after answers
lost mid-push (no duplicates), and under the store's own rate limit (no 429)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mercator.cli import main
from mercator.domain.messages import ChangeEvent
from mercator.services.push_echoes import PushEchoes
from mercator.state.pushed_products import DynamoPushedProducts
from mercator_sandbox.app import FlavorName
from tests.e2e.catalog import PUSH_FLAVORS, CatalogWorld, catalog_world

PRODUCTS = 12


def first_push(world: CatalogWorld) -> None:
    world.sync_source()
    world.push()
    mismatch = world.compare()
    assert mismatch.exact, mismatch


@pytest.mark.parametrize("flavor", PUSH_FLAVORS)
def test_the_first_push_puts_every_source_product_in_the_store_once(flavor: FlavorName) -> None:
    with catalog_world(flavor, products=PRODUCTS) as world:
        # Given a source of 12 products, about a tenth of them not marked for e-commerce
        offered = len(world.crystal.source_products())
        assert 0 < offered <= PRODUCTS

        # When the source is listed and the catalog pushed
        first_push(world)

        # Then the store holds exactly the offered products, each once, as the source has them
        assert len(world.store.products()) == offered
        assert world.dead_letters() == []


@pytest.mark.parametrize("flavor", PUSH_FLAVORS)
def test_only_edited_and_unmarked_products_are_pushed_again_and_unchanged_ones_cost_nothing(
    flavor: FlavorName,
) -> None:
    with catalog_world(flavor, products=PRODUCTS) as world:
        first_push(world)
        ids = sorted(world.source.store.ids("products"))
        marked = [record_id for record_id in ids if world.crystal.is_marked(record_id)]
        writes = world.writes()

        # When the merchant edits two products and unmarks a third at the source
        unmarked = world.crystal.source_product(marked[2])
        assert unmarked is not None
        world.source.advance_clock(3_600)
        world.source.store.touch("products", marked[0])
        world.source.store.touch("products", marked[1])
        world.crystal.unmark(marked[2])
        world.source.advance_clock(3_600)
        world.sync_source()
        world.push()

        # Then the store equals the source again: the edits in, the unmarked product hidden, not deleted
        mismatch = world.compare()
        assert mismatch.exact, mismatch
        hidden = [p["sku"] for p in world.store.products() if not p["visible"]]
        assert unmarked["product_number"] in hidden
        # And only those three were written (two updates and one unpublish), each by one update
        assert world.writes() - writes == 3 * WRITES_PER_UPDATE[flavor]

        # When the catalog is pushed again with nothing changed
        before = world.requests()
        world.push()

        # Then no request reached the store
        assert world.requests() == before


# A product update is one request, and on Shopify one more to set its stock.
WRITES_PER_UPDATE: dict[FlavorName, int] = {"salla": 1, "shopify": 2, "woocommerce": 1, "zid": 1}


@pytest.mark.parametrize("flavor", PUSH_FLAVORS)
def test_answers_lost_in_the_middle_of_a_push_create_no_duplicate(flavor: FlavorName) -> None:
    with catalog_world(flavor, products=PRODUCTS) as world:
        world.sync_source()
        # Given a store whose answers to three writes are lost after the writes landed
        world.store.set_faults(lost_write_answers={"count": 3})

        # When the catalog is pushed (the jobs that fail are delivered again)
        world.push()

        # Then every source product is in the store exactly once
        mismatch = world.compare()
        assert mismatch.exact, mismatch
        assert world.store.counters.snapshot()["lost_answers"] == 3


@pytest.mark.parametrize("flavor", PUSH_FLAVORS)
def test_a_push_under_the_stores_rate_limit_is_never_throttled(flavor: FlavorName) -> None:
    with catalog_world(flavor, products=PRODUCTS, store_rate_limit=True) as world:
        first_push(world)

        assert world.throttled() == 0


@pytest.mark.parametrize("flavor", PUSH_FLAVORS)
def test_the_store_sending_back_what_mercator_pushed_is_an_echo(flavor: FlavorName) -> None:
    with catalog_world(flavor, products=PRODUCTS) as world:
        first_push(world)
        world.stack.receive_all("TriggerQueue")

        # When the store's products are listed back (as its next sync or its webhooks would bring them)
        world.sync_source()
        changes = [
            ChangeEvent.model_validate(json.loads(message["Body"]))
            for message in world.stack.receive_all("TriggerQueue")
        ]

        # Then every change of the store's products is known as Mercator's own write
        echoes = PushEchoes(
            DynamoPushedProducts(world.stack.client("dynamodb"), world.stack.table_name("StateTable"))
        )
        from_store = [change for change in changes if change.integration_id == world.store_id]
        assert from_store, "the store's products were listed back"
        assert all(echoes.is_echo(change) for change in from_store), [
            (change.code, change.record.get("updatedAt")) for change in from_store
        ]

        # And a later edit in the store is not an echo
        product = world.store.products()[0]
        world.store.advance_clock(60)
        world.store.store.touch("products", int(product["id"]))
        world.sync_source()
        edited = [
            ChangeEvent.model_validate(json.loads(message["Body"]))
            for message in world.stack.receive_all("TriggerQueue")
        ]
        code = world.store_code(int(product["id"]))
        mine: list[Any] = [c for c in edited if c.integration_id == world.store_id and c.code == code]
        assert mine and not any(echoes.is_echo(change) for change in mine)


def test_mercator_push_prints_the_plan_then_pushes_with_a_progress_bar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with catalog_world("woocommerce", products=PRODUCTS) as world:
        world.sync_source()
        offered = len(world.crystal.source_products())
        for name, value in world.stack.environment("CatalogPushFunction").items():
            monkeypatch.setenv(name, value)
        argv = ["push", "--integration", world.store_id]
        capsys.readouterr()  # what the handlers printed while the source was listed

        # When the plan alone is asked for
        assert main([*argv, "--dry-run", "--format", "json"]) == 0
        plan = json.loads(capsys.readouterr().out)

        # Then every offered product would be created, and nothing reached the store
        assert plan["counts"] == {"create": offered, "update": 0, "unpublish": 0, "unchanged": 0, "refuse": 0}
        assert world.writes() == 0

        # When the push is run from the command line
        assert main(argv) == 0
        printed = capsys.readouterr()

        # Then the store equals the source, and the progress bar and the counts were shown
        assert world.compare().exact
        assert f"{offered:>5}/{offered}" in printed.err
        assert f"pushed: {offered} created, 0 updated, 0 unpublished, 0 unchanged, 0 refused" in printed.err

        # And the plan now says nothing is left to do
        assert main([*argv, "--dry-run"]) == 0
        assert (
            capsys.readouterr().out.strip()
            == f"0 create, 0 update, 0 unpublish, {offered} unchanged, 0 refuse"
        )
