"""The shipment ledger: a tenant shipment read back whole, the API's side and the worker's side kept
apart, and the integration's push state purged with it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mercator.services.push_ports import PushedShipment
from mercator.state.pushed_products import DynamoPushedProducts
from mercator.state.pushed_shipments import DynamoPushedShipments

NOW = datetime(2025, 6, 1, 8, 0, 0, tzinfo=UTC)
RECORD = {
    "code": "SHP-1",
    "orderCode": "1001",
    "status": "in_transit",
    "carrier": "Aramex",
    "trackingNumbers": ["35693178432"],
    "items": [{"quantity": 2.0, "sku": "TSH-BLK-M"}],
    "customer": {"name": "Ahmed Ali", "email": "ahmed@example.com"},
}


def requested(**fields: Any) -> PushedShipment:
    values: dict[str, Any] = {
        "integration_id": "acme-salla",
        "shipment": "SHP-1",
        "tenant_id": "acme",
        "order_code": "1001",
        "record": RECORD,
        "request_hash": "h1",
        "requested_at": NOW,
    }
    return PushedShipment.model_validate(values | fields)


def test_a_requested_shipment_is_read_back_whole(dynamodb: Any, state_table: str) -> None:
    ledger = DynamoPushedShipments(dynamodb, state_table)

    ledger.save_request(requested())

    assert ledger.get("acme-salla", "SHP-1") == requested()
    assert ledger.get("acme-salla", "SHP-2") is None
    assert ledger.get("acme-zid", "SHP-1") is None


def test_the_workers_progress_is_read_back_and_a_refusal_keeps_the_stores_reasons(
    dynamodb: Any, state_table: str
) -> None:
    ledger = DynamoPushedShipments(dynamodb, state_table)
    ledger.save_request(requested())
    creating = requested(state="creating", creating_key="35693178432", pushed_hash="h1")
    ledger.save_progress(creating)
    assert ledger.get("acme-salla", "SHP-1") == creating

    refused = requested(
        state="refused",
        settled_hash="h1",
        provider_id="7001",
        ids={"orderId": "1001"},
        reason="the store refused the shipment: POST /shipments answered 422",
        reasons={"fields": {"shipping_company": ["is required"]}},
        settled_at=NOW,
    )
    ledger.save_progress(refused)

    assert ledger.get("acme-salla", "SHP-1") == refused


def test_the_worker_never_overwrites_a_request_made_while_it_wrote(dynamodb: Any, state_table: str) -> None:
    # Given a worker that read request h1, and a new request h2 kept meanwhile
    ledger = DynamoPushedShipments(dynamodb, state_table)
    ledger.save_request(requested())
    read_by_worker = ledger.get("acme-salla", "SHP-1")
    assert read_by_worker is not None
    changed = dict(RECORD, trackingNumbers=["35693178433"])
    ledger.save_request(requested(record=changed, request_hash="h2"))

    # When the worker settles h1 as pushed
    ledger.save_progress(
        read_by_worker.model_copy(update={"state": "pushed", "settled_hash": "h1", "pushed_hash": "h1"})
    )

    # Then h2 is still the request, and it shows as queued: h1 is not what the tenant last asked for
    stored = ledger.get("acme-salla", "SHP-1")
    assert stored is not None
    assert (stored.request_hash, stored.record["trackingNumbers"]) == ("h2", ["35693178433"])
    assert (stored.state, stored.shown_state(), stored.written) == ("pushed", "queued", True)


def test_removing_the_integrations_push_state_removes_its_shipments(dynamodb: Any, state_table: str) -> None:
    shipments = DynamoPushedShipments(dynamodb, state_table)
    shipments.save_request(requested())
    shipments.save_request(requested(integration_id="acme-zid"))

    DynamoPushedProducts(dynamodb, state_table).delete_for_integration("acme-salla")

    assert shipments.get("acme-salla", "SHP-1") is None
    assert shipments.get("acme-zid", "SHP-1") is not None
