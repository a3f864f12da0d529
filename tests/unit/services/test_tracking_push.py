"""pushTracking's worker against a scripted store: exactly one store shipment per tenant shipment, no
request for one the store holds as asked, refusals settled with the store's reasons and dead-lettered,
lost answers found instead of created again, rate limits and outages left to SQS's retries."""

from __future__ import annotations

from typing import Any

import pytest

from mercator.domain.provider_errors import ProviderHTTPError, ProviderTimeoutError
from mercator.services.tracking_push import ShipmentBusyError
from tests.unit.services.shipment_world import (
    BUYER,
    FULFILLMENT_ORDER,
    ORDER,
    SHIPMENTS_BLOCK,
    STORE,
    ShipmentWorld,
    definition,
    store_integration,
)

FIRST = "1Z999AA10123456784"
SECOND = "1Z999AA10123456785"
LOOKUP = ("GET", f"/orders/{ORDER}/fulfillment_orders.json", None)
FIND = ("GET", f"/orders/{ORDER}/fulfillments.json", None)


def create_call(number: str = FIRST) -> tuple[str, str, Any]:
    info = {"number": number, "company": "UPS", "url": f"https://www.ups.com/track?tracknum={FIRST}"}
    return (
        "POST",
        "/fulfillments.json",
        {"fulfillment": {"fulfillment_order_id": FULFILLMENT_ORDER, "tracking_info": info}},
    )


@pytest.mark.anyio
async def test_a_new_shipment_is_created_once_after_its_lookup_and_settled_as_pushed() -> None:
    # Given a tenant shipment of a synced order, queued
    world = ShipmentWorld()
    accepted = world.ask()
    assert accepted.queued

    # When its job runs
    [outcome] = await world.work()

    # Then the fulfillment order was looked up and one fulfillment created, with the block's body
    assert (outcome.status, outcome.action, outcome.requests) == ("pushed", "created", 2)
    assert world.store.calls == [LOOKUP, create_call()]
    [fulfillment] = world.store.fulfillments.values()
    assert (fulfillment["order_id"], fulfillment["tracking_number"]) == (ORDER, FIRST)
    # And the ledger says pushed, with the store's id, settled as asked
    entry = world.entry()
    assert (entry.state, entry.provider_id, entry.creating_key) == ("pushed", "255858046", None)
    assert entry.settled_hash == entry.request_hash == entry.pushed_hash
    assert entry.record["customer"] == BUYER
    assert world.dead_letters.bodies == []
    assert world.store.closed == 1


@pytest.mark.anyio
async def test_the_same_request_again_queues_nothing_and_a_repeated_job_sends_nothing() -> None:
    # Given a pushed shipment
    world = ShipmentWorld()
    world.ask()
    await world.work()
    calls = len(world.store.calls)

    # When the tenant sends the same request again
    again = world.ask()

    # Then it is answered with the state, and nothing is queued
    assert (again.queued, again.entry.shown_state()) == (False, "pushed")
    assert world.push_jobs.bodies == []
    # And a job delivered twice by SQS sends nothing either
    world.push_jobs.bodies.append('{"kind":"shipment_push","integration_id":"acme-shop","shipment":"SHP-1"}')
    [outcome] = await world.work()
    assert outcome.status == "settled"
    assert len(world.store.calls) == calls
    assert world.sessions.opened == 1


@pytest.mark.anyio
async def test_a_changed_tracking_number_updates_the_stores_shipment_in_place() -> None:
    # Given a pushed shipment
    world = ShipmentWorld()
    world.ask()
    await world.work()
    calls = len(world.store.calls)

    # When the tenant sends it again with a new tracking number
    changed = world.ask(trackingNumber=SECOND)
    assert (changed.queued, changed.entry.shown_state()) == (True, "queued")
    [outcome] = await world.work()

    # Then the store's fulfillment got the new tracking through update_tracking, and no second one
    assert (outcome.status, outcome.action) == ("pushed", "updated")
    info = {"number": SECOND, "company": "UPS", "url": f"https://www.ups.com/track?tracknum={FIRST}"}
    assert world.store.calls[calls:] == [
        LOOKUP,
        ("POST", "/fulfillments/255858046/update_tracking.json", {"fulfillment": {"tracking_info": info}}),
    ]
    assert [f["tracking_number"] for f in world.store.fulfillments.values()] == [SECOND]
    entry = world.entry()
    assert (entry.state, entry.provider_id, entry.record["trackingNumbers"]) == (
        "pushed",
        "255858046",
        [SECOND],
    )


@pytest.mark.anyio
async def test_a_create_whose_answer_was_lost_is_found_instead_of_created_again() -> None:
    # Given a store that takes the create but whose answer never arrives
    world = ShipmentWorld()
    world.store.lose_create_answers = 1
    world.ask()

    # When the job runs
    [outcome] = await world.work()

    # Then the fulfillment the lost create wrote was looked up by its tracking number and kept
    assert (outcome.status, outcome.action) == ("pushed", "found")
    assert world.store.calls == [LOOKUP, create_call(), FIND]
    assert len(world.store.fulfillments) == 1
    assert world.entry().provider_id == "255858046"


@pytest.mark.anyio
async def test_a_job_that_died_after_the_create_finds_the_shipment_on_its_retry() -> None:
    # Given a create that landed, after which the ledger could not record its answer (the job fails)
    world = ShipmentWorld()
    world.ask()
    world.ledger.fail_answer_saves = 1
    body = world.push_jobs.bodies[0]
    with pytest.raises(RuntimeError, match="unreachable"):
        await world.work()
    assert (world.entry().state, world.entry().creating_key) == ("creating", FIRST)

    # When SQS delivers the job again
    world.push_jobs.bodies.append(body)
    [outcome] = await world.work()

    # Then the retry looks for the shipment before creating: still one fulfillment
    assert (outcome.status, outcome.action) == ("pushed", "found")
    assert world.store.writes() == [("POST", "/fulfillments.json")]
    assert world.store.calls[-2:] == [LOOKUP, FIND]
    assert world.entry().state == "pushed"


@pytest.mark.anyio
async def test_new_tracking_asked_while_a_lost_create_is_unresolved_updates_the_one_found() -> None:
    # Given a create whose answer was lost, in a job that then failed before finding out (the find
    # got no answer either): the store may hold the shipment
    world = ShipmentWorld()
    world.ask()
    world.store.lose_create_answers = 1
    world.store.time_out_finds = 1
    with pytest.raises(ProviderTimeoutError):
        await world.work()
    assert (world.entry().state, world.entry().creating_key) == ("creating", FIRST)

    # When the tenant changes the tracking number, and the job runs
    changed = world.ask(trackingNumber=SECOND)
    assert changed.entry.shown_state() == "creating"  # still under way: its create may have landed
    [outcome] = await world.work()

    # Then the fulfillment of the first tracking number is found and moved to the new one
    assert (outcome.status, outcome.action) == ("pushed", "updated")
    assert [f["tracking_number"] for f in world.store.fulfillments.values()] == [SECOND]
    assert world.store.writes() == [
        ("POST", "/fulfillments.json"),
        ("POST", "/fulfillments/255858046/update_tracking.json"),
    ]


@pytest.mark.anyio
async def test_a_store_refusal_is_settled_with_the_stores_reasons_and_dead_lettered() -> None:
    # Given a shipment the store will refuse (no carrier it accepts)
    world = ShipmentWorld()
    world.connector = definition(
        SHIPMENTS_BLOCK
        | {
            "create": SHIPMENTS_BLOCK["create"]
            | {"body": {"fulfillment": {"tracking_info": {"number": "store.key"}}}}
        }
    )
    world.ask()

    # When its job runs
    [outcome] = await world.work()

    # Then it is refused with the store's own reasons, and nothing was written
    assert outcome.status == "refused"
    entry = world.entry()
    assert entry.shown_state() == "refused"
    assert entry.reasons == {"fulfillment_order_id": ["is invalid"]}
    assert entry.reason is not None and entry.reason.startswith(
        "the store refused the shipment: POST /fulfillments.json answered 422"
    )
    assert (entry.pushed_hash, entry.creating_key, world.store.fulfillments) == (None, None, {})
    # And the push DLQ has it, told apart from a product by its kind and resource
    [letter] = world.dead_letters.documents()
    assert letter["resource"] == "shipments:push"
    assert letter["detail"] == {
        "kind": "shipment",
        "shipment": "SHP-1",
        "order": ORDER,
        "store": {"fulfillment_order_id": ["is invalid"]},
    }
    assert (letter["integration_id"], letter["connector"], letter["raw"]["code"]) == (
        STORE,
        "shopify",
        "SHP-1",
    )
    # And the same job again does not try it again, but the tenant asking again does
    assert (await world.service().run_shipment_job(_job(), lambda: 300.0)).status == "settled"
    again = world.ask()
    assert (again.queued, again.entry.shown_state()) == (True, "queued")


@pytest.mark.anyio
async def test_an_order_the_store_does_not_know_is_refused_from_the_lookup() -> None:
    world = ShipmentWorld()
    world.ask()
    del world.store.orders[ORDER]

    [outcome] = await world.work()

    assert outcome.status == "refused"
    assert world.entry().reasons == "Not Found"
    assert world.store.writes() == []


@pytest.mark.anyio
async def test_a_lookup_without_a_value_refuses_the_shipment_naming_the_lookup() -> None:
    # Given an order the store has no fulfillment order left for (fulfilled already)
    world = ShipmentWorld()
    world.store.orders[ORDER] = []
    world.ask()

    [outcome] = await world.work()

    assert outcome.status == "refused"
    assert world.entry().reason == (
        "the connector's push.shipments block cannot write the shipment: push.shipments.lookup."
        "fulfillmentOrderId: the store's answer has no value at fulfillment_orders[0].id"
    )
    assert world.store.writes() == []


@pytest.mark.parametrize("status", [429, 500, 401])
@pytest.mark.anyio
async def test_a_busy_failing_or_unauthorised_store_fails_the_job_for_sqs_to_retry(status: int) -> None:
    # Given a store that answers the lookup with ``status`` (the client's own retries exhausted)
    world = ShipmentWorld()
    world.ask()
    body = world.push_jobs.bodies[0]
    world.store.fail_next = status

    # When the job runs, it fails, and nothing is settled or dead-lettered
    with pytest.raises(ProviderHTTPError):
        await world.work()
    assert (world.entry().shown_state(), world.entry().settled_hash) == ("queued", None)
    assert world.dead_letters.bodies == []

    # And the job delivered again writes the shipment
    world.push_jobs.bodies.append(body)
    [outcome] = await world.work()
    assert outcome.status == "pushed"
    assert len(world.store.fulfillments) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"settings": {"pushTracking": False}},
            "settings.pushTracking is off for integration 'acme-shop': configure it with pushTracking true, "
            "then send the shipment again",
        ),
        ({"status": "disabled"}, "integration 'acme-shop' is disabled"),
    ],
)
@pytest.mark.anyio
async def test_an_integration_that_no_longer_writes_shipments_refuses_the_queued_one(
    change: dict[str, Any], reason: str
) -> None:
    # Given a queued shipment, whose integration then stops writing shipments
    world = ShipmentWorld()
    world.ask()
    world.integrations.put(store_integration().model_copy(update=change))

    # When its job runs
    [outcome] = await world.work()

    # Then it is refused with that reason, and no request reached the store
    assert outcome.status == "refused"
    assert (world.entry().state, world.entry().reason) == ("refused", reason)
    assert world.store.calls == []
    assert world.dead_letters.documents()[0]["reason"] == reason


@pytest.mark.anyio
async def test_a_connector_without_push_shipments_refuses_the_queued_one() -> None:
    world = ShipmentWorld()
    world.ask()
    world.connector = definition(None)

    [outcome] = await world.work()

    assert outcome.status == "refused"
    assert world.entry().reason == (
        "connector 'shopify' has no push.shipments block: Mercator cannot write shipments to it"
    )
    assert world.store.calls == []


@pytest.mark.anyio
async def test_a_shipment_the_key_rule_gives_no_key_is_refused() -> None:
    # Given a block keyed by the tracking URL, and a shipment without one
    world = ShipmentWorld()
    world.connector = definition(SHIPMENTS_BLOCK | {"key": {"path": "trackingUrl"}})
    world.ask(trackingUrl=None)

    [outcome] = await world.work()

    assert outcome.status == "refused"
    assert world.entry().reason is not None and world.entry().reason.startswith("push.shipments.key gave")
    assert world.store.calls == []


@pytest.mark.anyio
async def test_then_calls_follow_the_write_when_their_path_has_a_value() -> None:
    # Given a block that also notes the carrier on the order, only for shipments with a tracking URL
    then = [
        {
            "endpoint": {"method": "PUT", "url": "/orders/{order}.json"},
            "when": "trackingUrl",
            "body": {
                "order": {"id": {"path": "store.order", "transform": "toNumberOrNull"}, "note": "carrier"}
            },
        }
    ]
    world = ShipmentWorld()
    world.connector = definition(SHIPMENTS_BLOCK | {"then": then})
    noted: list[Any] = []
    original = world.store.call

    async def call(method: str, url: str, **options: Any) -> Any:
        if method == "PUT":
            noted.append((url, options["body"]))
            return {"order": {}}
        return await original(method, url, **options)

    world.store.call = call  # type: ignore[method-assign]
    world.ask()
    world.ask(shipmentId="SHP-2", trackingNumber=SECOND, trackingUrl=None)

    await world.work()

    assert noted == [(f"/orders/{ORDER}.json", {"order": {"id": int(ORDER), "note": "UPS"}})]
    assert world.entry("SHP-2").state == "pushed"


@pytest.mark.anyio
async def test_a_shipment_being_written_elsewhere_fails_the_job_without_a_request() -> None:
    world = ShipmentWorld()
    world.ask()
    world.locks.held[f"shipment#{STORE}#SHP-1"] = "another-invocation"

    with pytest.raises(ShipmentBusyError):
        await world.work()
    assert world.store.calls == []


def _job() -> Any:
    from mercator.domain.messages import ShipmentPushJob  # noqa: PLC0415

    return ShipmentPushJob(integration_id=STORE, shipment="SHP-1")
