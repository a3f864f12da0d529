"""Write events/management_api/: one API Gateway proxy event per route of the Integrations API.

Each event is what API Gateway hands ManagementApiFunction once the API-key authorizer let the
request through: ``requestContext.authorizer`` holds the key id as principal and the tenant, the
only place the function reads the tenant from. ``sam local invoke ManagementApiFunction -e
events/management_api/<file>`` runs one; the configure event's credentials are made up and its
``settings.baseUrl`` points at a local sandbox store (``mercator sandbox salla --port 8900``). Run
``python -m mercator_local.api_events`` after changing a route; the tests check the files are current.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mercator.domain.workflows import trigger_id
from mercator_local.api import HttpRequest, Route, RouteMatch, api_id, proxy_event
from mercator_local.functions import ApiRoute

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "events" / "management_api"
SENT_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
REGION = "eu-central-1"
FUNCTION = "ManagementApiFunction"
REST_API = "IntegrationsApi"

SAMPLE_TENANT = "sample-tenant"
SAMPLE_KEY_ID = "3f9a1c07d2b84e65"
# The sample key of events/api_authorizer/request.json: API Gateway passes the header on to the function.
SAMPLE_API_KEY = f"mk_{SAMPLE_KEY_ID}.tycD1L6s0Imzb87jZjSgKM0gRAEsrrJwvQcIQo61fN0"
SAMPLE_INTEGRATION = "7d3f1c2a-5b6e-4f80-9a1b-2c3d4e5f6a7b"
SAMPLE_WORKFLOW = "0b8e2d4f-6a1c-4e3b-9d5f-7c2a1e0b3d4f"
SAMPLE_EXECUTION = "5c9a7e1b-3d2f-4a6c-8e0b-1f4d2c6a9e3b"
# Made up, in Salla's form; never a real credential.
SAMPLE_CREDENTIALS = {
    "accessToken": "sample-salla-access-token-4Vd9Qx",
    "webhookSecret": "sample-webhook-secret",
}
SAMPLE_ORDER = "1016430798"
SAMPLE_SHIPMENT = "SHP-1016430798-1"
SANDBOX_BASE_URL = "http://127.0.0.1:8900/admin/v2"
SIGNING_KEY_SECRET = f"mercator/{SAMPLE_TENANT}/webhook-keys/workflow-signing-key"


@dataclass(frozen=True)
class ApiCall:
    """One route of the API and the request a sample client makes on it."""

    name: str
    method: str
    resource: str
    path: str
    parameters: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


CALLS: tuple[ApiCall, ...] = (
    ApiCall("list_integrations", "GET", "/api/integrations", "/api/integrations"),
    ApiCall(
        "configure_integration",
        "POST",
        "/api/integrations/provider/configure",
        "/api/integrations/provider/configure",
        body={
            "providerId": "salla",
            "providerType": "ecommerce",
            "credentials": SAMPLE_CREDENTIALS,
            "settings": {
                "autoImportOrders": True,
                "syncProducts": True,
                "pushTracking": True,
                "baseUrl": SANDBOX_BASE_URL,
            },
        },
    ),
    ApiCall(
        "disable_integration",
        "GET",
        "/api/integrations/provider/disable/{id}",
        f"/api/integrations/provider/disable/{SAMPLE_INTEGRATION}",
        {"id": SAMPLE_INTEGRATION},
    ),
    ApiCall(
        "disable_integration_post",
        "POST",
        "/api/integrations/provider/disable/{id}",
        f"/api/integrations/provider/disable/{SAMPLE_INTEGRATION}",
        {"id": SAMPLE_INTEGRATION},
    ),
    ApiCall(
        "remove_integration",
        "DELETE",
        "/api/integrations/providers/ecommerce/remove/{id}",
        f"/api/integrations/providers/ecommerce/remove/{SAMPLE_INTEGRATION}",
        {"id": SAMPLE_INTEGRATION},
    ),
    ApiCall(
        "remove_integration_purge",
        "DELETE",
        "/api/integrations/providers/ecommerce/remove/{id}",
        f"/api/integrations/providers/ecommerce/remove/{SAMPLE_INTEGRATION}",
        {"id": SAMPLE_INTEGRATION},
        {"purge": "true"},
    ),
    ApiCall(
        "save_vapid_subscription",
        "POST",
        "/api/integrations/save-vapid-subscription",
        "/api/integrations/save-vapid-subscription",
        body={
            # The example subscription of RFC 8291 (Message Encryption for Web Push), section 5.
            "endpoint": "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV",
            "expirationTime": None,
            "keys": {
                "p256dh": (
                    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
                ),
                "auth": "BTBZMqHH6r4Tts7J_aSIgg",
            },
        },
    ),
    ApiCall(
        "workflow_triggers",
        "GET",
        "/api/workflows/triggers/{entityType}",
        "/api/workflows/triggers/Order",
        {"entityType": "Order"},
    ),
    ApiCall(
        "configured_workflows",
        "GET",
        "/api/workflows/{entityType}/configured",
        "/api/workflows/Order/configured",
        {"entityType": "Order"},
        {"managed": "false"},
    ),
    ApiCall(
        "configure_workflow",
        "POST",
        "/api/workflows/configure",
        "/api/workflows/configure",
        body={
            "name": "Tell the warehouse about paid orders",
            "entityType": "Order",
            "triggerId": trigger_id("salla", "order.created"),
            "action": {
                "type": "webhook",
                "url": "https://warehouse.example.com/hooks/orders",
                "secretName": SIGNING_KEY_SECRET,
            },
            "conditions": {"totalAmount": {"gte": 100}},
        },
    ),
    ApiCall(
        "toggle_workflow",
        "GET",
        "/api/workflows/configured/{guid}/toggle",
        f"/api/workflows/configured/{SAMPLE_WORKFLOW}/toggle",
        {"guid": SAMPLE_WORKFLOW},
    ),
    ApiCall(
        "delete_workflow",
        "DELETE",
        "/api/workflows/configured/{guid}",
        f"/api/workflows/configured/{SAMPLE_WORKFLOW}",
        {"guid": SAMPLE_WORKFLOW},
    ),
    ApiCall(
        "resume_workflow",
        "GET",
        "/api/workflows/resume-workflow",
        "/api/workflows/resume-workflow",
        query={"workflowId": SAMPLE_EXECUTION},
    ),
    ApiCall(
        "ship",
        "POST",
        "/api/shipments",
        "/api/shipments",
        body={
            "integrationId": SAMPLE_INTEGRATION,
            "orderCode": SAMPLE_ORDER,
            "shipmentId": SAMPLE_SHIPMENT,
            "carrier": "Aramex",
            "trackingNumber": "35693178432",
            "trackingUrl": "https://www.aramex.com/track/results?ShipmentNumber=35693178432",
            "items": [{"sku": "TSH-BLK-M", "quantity": 2}],
        },
    ),
    ApiCall(
        "shipment",
        "GET",
        "/api/shipments/{shipmentId}",
        f"/api/shipments/{SAMPLE_SHIPMENT}",
        {"shipmentId": SAMPLE_SHIPMENT},
        {"integrationId": SAMPLE_INTEGRATION},
    ),
    ApiCall("openapi", "GET", "/api/openapi.json", "/api/openapi.json"),
)


def api_event(call: ApiCall, *, tenant_id: str = SAMPLE_TENANT, stage: str = "dev") -> dict[str, Any]:
    """The proxy event API Gateway hands ManagementApiFunction for ``call`` made with ``tenant_id``'s key."""
    route = Route(
        function=FUNCTION,
        api=ApiRoute(name=call.name, path=call.resource, method=call.method, rest_api=REST_API, stage=stage),
        api_id=api_id("mercator-dev", REST_API),
    )
    headers = {
        "Accept": "application/json",
        "Authorization": f"Bearer {SAMPLE_API_KEY}",
        "User-Agent": "mercator-sample-client/1.0",
    }
    body = b""
    if call.body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(call.body, separators=(",", ":")).encode()
    request = HttpRequest(
        method=call.method,
        raw_path=call.path,
        query_string=urlencode(call.query),
        headers=tuple(headers.items()),
        body=body,
        source_ip="203.0.113.7",
        port=443,
        scheme="https",
    )
    event = proxy_event(
        request,
        RouteMatch(route, call.parameters),
        region=REGION,
        request_id="7c9d2f1e-5b4a-4e3d-9c8b-1a2f3e4d5c6b",
        now=SENT_AT,
    )
    # What the API-key authorizer's Allow adds: the key id as principal, and the tenant.
    event["requestContext"]["authorizer"] = {
        "principalId": SAMPLE_KEY_ID,
        "tenantId": tenant_id,
        "integrationLatency": 41,
    }
    return event


def events() -> dict[str, dict[str, Any]]:
    """File name → event, one per route (disable also as POST, remove also with purge)."""
    return {f"{call.name}.json": api_event(call) for call in CALLS}


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name, event in events().items():
        (FOLDER / name).write_text(render(event))
        print(f"wrote {(FOLDER / name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
