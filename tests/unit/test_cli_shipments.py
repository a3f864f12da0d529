"""The Integrations API client's shipment calls: the body sent as given, the id kept in one segment,
and a 202 (queued) read from the envelope like any success."""

from __future__ import annotations

import json

import httpx

from mercator.cli.api_client import IntegrationsApiClient

API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
KEY = "mk_0123456789abcdef.tycD1L6s0Imzb87jZjSgKM0gRAEsrrJwvQcIQo61fN0"


def test_the_client_sends_a_shipment_and_reads_where_it_stands() -> None:
    seen: list[tuple[str, str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.raw_path.decode(), body))
        status = 202 if request.method == "POST" else 200
        return httpx.Response(
            status, json={"success": True, "data": {"shipmentId": "a/b", "status": "queued"}}
        )

    shipment = {"integrationId": "shop-1", "orderCode": "1001", "carrier": "UPS", "trackingNumber": "1Z"}
    with IntegrationsApiClient(API_URL, KEY, transport=httpx.MockTransport(answer)) as client:
        queued = client.ship(shipment)
        shown = client.shipment("shop-1", "a/b")

    assert queued == shown == {"shipmentId": "a/b", "status": "queued"}
    assert seen == [
        ("POST", "/dev/api/shipments", shipment),
        ("GET", "/dev/api/shipments/a%2Fb?integrationId=shop-1", None),
    ]
