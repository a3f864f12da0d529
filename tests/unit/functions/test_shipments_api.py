"""``POST /api/shipments`` and ``GET /api/shipments/{shipmentId}`` through the ManagementApi handler.

The real service on moto: integrations, the synced order in the records table, the shipment ledger
in the state table and the PushJobs queue. Every answer is checked against the OpenAPI document the
function serves (its status declared for the route, its body matching the schema).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

from mercator.domain.entities import Integration
from mercator.domain.messages import ShipmentPushJob
from mercator_local.api_events import SAMPLE_TENANT, api_event
from tests.fake_aws import use_fake_aws
from tests.unit.functions.conftest import EVENTS, Loader
from tests.unit.functions.test_management_api import CALL, MANAGEMENT_ENV, Api, error, raw_call
from tests.unit.services.management_world import REGION, ManagementWorld, management_world
from tests.unit.services.shipment_world import BUYER, definition
from tests.unit.services.test_management import woocommerce

A, B = SAMPLE_TENANT, "tenant-b"
SHOP, WOO = "a-shop", "a-woo"
ORDER = "450789469"


def woocommerce_without_shipments() -> Any:
    return woocommerce(update_status=True, push_shipments=False)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementWorld]:
    use_fake_aws(monkeypatch, REGION)
    connectors = {"shopify": definition(), "woocommerce": woocommerce_without_shipments()}
    with management_world(definitions=connectors) as built:
        put_integration(built, SHOP, "shopify")
        put_integration(built, WOO, "woocommerce")
        put_order(built, ORDER, SHOP)
        yield built


@pytest.fixture
def api(load_app: Loader, world: ManagementWorld) -> Iterator[Api]:
    botocore = logging.getLogger("botocore")
    level = botocore.level
    module: ModuleType = load_app("management_api", MANAGEMENT_ENV)
    module.build_services = lambda settings: world.service
    status, document = raw_call(module, api_event(CALL["openapi"]))
    assert status == 200
    yield Api(module, document)
    botocore.setLevel(level)


def put_integration(world: ManagementWorld, integration_id: str, connector: str, **settings: Any) -> None:
    world.integrations.put(
        Integration(
            id=integration_id,
            tenant_id=A,
            connector=connector,
            settings={"pushTracking": True} | settings,
            credentials_arn=f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{integration_id}",
            created_at=datetime(2025, 6, 1, tzinfo=UTC),
        )
    )


def put_order(world: ManagementWorld, code: str, integration_id: str, tenant: str = A) -> None:
    record = {
        "code": code,
        "status": "paid",
        "totalAmount": 598.94,
        "currency": "USD",
        "createdAt": "2025-05-30T10:00:00Z",
        "customer": BUYER,
    }
    world.records.write(
        tenant_id=tenant,
        content_type="ecommerce:orders",
        code=code,
        record=record,
        content_hash="h-" + code,
        source_updated_at=datetime(2025, 5, 30, 10, tzinfo=UTC),
        integration_id=integration_id,
    )


def body(**fields: Any) -> dict[str, Any]:
    sent = {
        "integrationId": SHOP,
        "orderCode": ORDER,
        "shipmentId": "SHP-1",
        "carrier": "UPS",
        "trackingNumber": "1Z999AA10123456784",
        "items": [{"sku": "IPOD2008BLACK", "quantity": 1}],
    }
    return {name: value for name, value in (sent | fields).items() if value is not None}


def ship(api: Api, *, tenant: str = A, **fields: Any) -> tuple[int, dict[str, Any]]:
    return api.send("ship", tenant=tenant, body=body(**fields))


def shown(api: Api, shipment: str, integration: str = SHOP, *, tenant: str = A) -> tuple[int, dict[str, Any]]:
    return api.send(
        "shipment",
        tenant=tenant,
        path=f"/api/shipments/{shipment}",
        parameters={"shipmentId": shipment},
        query={"integrationId": integration},
    )


def jobs(world: ManagementWorld) -> list[ShipmentPushJob]:
    return [ShipmentPushJob.parse(message) for message in world.queued("push")]


def test_a_shipment_of_a_synced_order_is_kept_queued_and_answered_202(
    world: ManagementWorld, api: Api
) -> None:
    status, answer = ship(api)

    assert status == 202
    data = answer["data"]
    assert answer["success"] is True
    assert (data["shipmentId"], data["status"], data["integrationId"], data["orderCode"]) == (
        "SHP-1",
        "queued",
        SHOP,
        ORDER,
    )
    assert data["shipment"]["customer"] == BUYER
    assert data["shipment"]["trackingNumbers"] == ["1Z999AA10123456784"]
    assert jobs(world) == [ShipmentPushJob(integration_id=SHOP, shipment="SHP-1")]
    # And it can be read back
    assert shown(api, "SHP-1") == (200, {"success": True, "data": data})


def test_the_sample_event_is_answered_by_the_route(world: ManagementWorld, api: Api) -> None:
    event = json.loads((EVENTS / "management_api" / "ship.json").read_text())

    # The sample names an integration this world does not have: the tenant's unknown integration
    status, answer = api(event)

    assert (status, answer["error"]["code"]) == (404, "NOT_FOUND")


def test_the_same_request_for_a_pushed_shipment_answers_200_and_queues_nothing(
    world: ManagementWorld, api: Api
) -> None:
    # Given a shipment the worker pushed
    ship(api)
    world.queued("push")
    entry = world.shipments.get(SHOP, "SHP-1")
    assert entry is not None
    world.shipments.save_progress(
        entry.model_copy(
            update={
                "state": "pushed",
                "settled_hash": entry.request_hash,
                "pushed_hash": entry.request_hash,
                "provider_id": "255858046",
                "settled_at": datetime(2025, 6, 1, 9, 1, tzinfo=UTC),
            }
        )
    )

    # When the same request comes again
    status, answer = ship(api)

    # Then it is answered with the state, and nothing is queued
    assert status == 200
    assert (answer["data"]["status"], answer["data"]["storeId"]) == ("pushed", "255858046")
    assert answer["data"]["settledAt"] == "2025-06-01T09:01:00Z"
    assert jobs(world) == []
    # And a changed tracking number is kept and queued
    status, answer = ship(api, trackingNumber="1Z999AA10123456785")
    assert (status, answer["data"]["status"], answer["data"]["storeId"]) == (202, "queued", "255858046")
    assert len(jobs(world)) == 1


def test_a_refused_shipment_shows_the_stores_reasons(world: ManagementWorld, api: Api) -> None:
    ship(api)
    entry = world.shipments.get(SHOP, "SHP-1")
    assert entry is not None
    world.shipments.save_progress(
        entry.model_copy(
            update={
                "state": "refused",
                "settled_hash": entry.request_hash,
                "reason": "the store refused the shipment: POST /fulfillments.json answered 422",
                "reasons": {"tracking_company": ["can't be blank"]},
            }
        )
    )

    status, answer = shown(api, "SHP-1")

    assert status == 200
    assert answer["data"]["status"] == "refused"
    assert answer["data"]["reasons"] == {"tracking_company": ["can't be blank"]}
    assert answer["data"]["reason"].endswith("answered 422")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"carrier": None}, "invalid request: carrier: Field required"),
        (
            {"trackingNumbers": ["1Z2"]},
            "invalid request: the JSON body: give trackingNumber or trackingNumbers, one of the two",
        ),
        (
            {"items": [{"sku": "X", "quantity": 0}]},
            "invalid request: items.0.quantity: Input should be greater than 0",
        ),
        (
            {"status": "lost"},
            "invalid request: status: Input should be 'pending', 'in_transit', 'out_for_delivery', "
            "'delivered', 'failed', 'returned' or 'cancelled'",
        ),
        (
            {"shipmentId": "a/b"},
            "invalid request: shipmentId: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._~:@-]*$'",
        ),
        ({"tenantId": B}, "invalid request: tenantId: Extra inputs are not permitted"),
    ],
)
def test_an_invalid_body_is_400_naming_the_field(
    world: ManagementWorld, api: Api, fields: dict[str, Any], message: str
) -> None:
    assert ship(api, **fields) == (400, error("CONFIGURATION_ERROR", message))
    assert jobs(world) == []


def test_refusals_answer_the_error_envelope(world: ManagementWorld, api: Api) -> None:
    put_integration(world, "a-off", "shopify", pushTracking=False)
    put_order(world, "451", "a-off")
    world.integrations.put(
        world.integrations.get(SHOP).model_copy(update={"id": "a-disabled", "status": "disabled"})  # type: ignore[union-attr]
    )
    put_order(world, "452", "a-disabled")
    put_order(world, "453", WOO)

    # Unknown integration
    assert ship(api, integrationId="no-such") == (404, error("NOT_FOUND", "Integration not found: 'no-such'"))
    # pushTracking off: the integration, not the request, stands in the way
    assert ship(api, integrationId="a-off", orderCode="451") == (
        409,
        error(
            "CONFLICT",
            "settings.pushTracking is off for integration 'a-off': configure the integration with "
            "pushTracking true to send its store shipments",
        ),
    )
    assert ship(api, integrationId="a-disabled", orderCode="452") == (
        409,
        error("CONFLICT", "Integration 'a-disabled' is disabled: it writes nothing into its store"),
    )
    # A connector that cannot write shipments
    assert ship(api, integrationId=WOO, orderCode="453") == (
        400,
        error(
            "CONFIGURATION_ERROR",
            "WooCommerce shipments cannot be written by Mercator (connector 'woocommerce' has no "
            "push.shipments)",
        ),
    )
    # An order Mercator has not synced from this integration (another store's, or none)
    for order in ("453", "999"):
        assert ship(api, orderCode=order) == (
            404,
            error(
                "NOT_FOUND",
                f"Order not found: '{order}'; only orders Mercator synced from integration 'a-shop' can be "
                "shipped",
            ),
        )
    # A shipment id of another order
    put_order(world, "454", SHOP)
    assert ship(api)[0] == 202
    assert ship(api, orderCode="454") == (
        409,
        error(
            "CONFLICT",
            "shipment 'SHP-1' is a shipment of order '450789469'; give the shipment of another order its "
            "own shipmentId",
        ),
    )
    # And only the one accepted request was queued
    assert len(jobs(world)) == 1
    # Reading: a shipment that is not there, an integration id missing
    assert shown(api, "SHP-9") == (404, error("NOT_FOUND", "Shipment not found: 'SHP-9'"))
    status, answer = api.send(
        "shipment", path="/api/shipments/SHP-1", parameters={"shipmentId": "SHP-1"}, query={}
    )
    assert (status, answer["error"]["message"]) == (
        400,
        "invalid request: query parameter integrationId: Field required",
    )


def test_another_tenants_integration_and_shipments_answer_as_missing_ones(
    world: ManagementWorld, api: Api
) -> None:
    # Given tenant A's shipment
    assert ship(api)[0] == 202
    world.queued("push")

    # Then tenant B learns nothing of A's integration or shipment, and queues nothing
    assert ship(api, tenant=B) == (404, error("NOT_FOUND", "Integration not found: 'a-shop'"))
    assert ship(api, tenant=B, integrationId="0" * 6) == (
        404,
        error("NOT_FOUND", "Integration not found: '000000'"),
    )
    assert shown(api, "SHP-1", tenant=B) == (404, error("NOT_FOUND", "Integration not found: 'a-shop'"))
    assert jobs(world) == []


def test_the_openapi_document_declares_the_shipment_routes(api: Api) -> None:
    paths = api.document["paths"]
    posted = paths["/api/shipments"]["post"]
    assert set(posted["responses"]) == {"200", "202", "400", "401", "403", "404", "409", "413", "415", "500"}
    assert posted["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ShipmentRequest"
    }
    read = paths["/api/shipments/{shipmentId}"]["get"]
    assert set(read["responses"]) == {"200", "400", "401", "403", "404", "500"}
