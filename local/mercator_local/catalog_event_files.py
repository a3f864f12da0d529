"""Write events/catalog_events/: API Gateway proxy events of PIM synchronization requests, one per example.

Each file, ``<detailed type>.json`` per section of the PIM's synchronization-events reference (the seed
:mod:`mercator_local.pim_schemas` reads), is the ``PUT /pim/pim-demo/consume/<coarse name>`` request
the PIM would send with that section's example as its only detailed event (:func:`envelope_for`),
carrying an ``X-APP-TOKEN`` signed with :data:`DEMO_APP_SECRET`, so
``sam local invoke CatalogEventsFunction -e events/catalog_events/<file>`` works against an integration
``pim-demo`` registered with that secret (``appSecret``) and :data:`DEMO_INSTALLATION_ID`.

``python -m mercator_local.catalog_event_files`` writes them (deterministically: fixed times, a
synchronization id derived from the type); ``--check`` writes nothing and exits 1 naming the stale,
missing and extra files; ``--seed PATH`` and ``--out DIR`` name another reference and folder.
"""

from __future__ import annotations

import json
import sys
import uuid
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from mercator_local.api import HttpRequest, Route, RouteMatch, api_id, proxy_event
from mercator_local.functions import ApiRoute
from mercator_local.pim_schemas import GeneratedFiles, SeedEvent, extract, run_generator

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "events" / "catalog_events"
REGION = "eu-central-1"

# The demo installation's credentials (never real secrets).
DEMO_INTEGRATION_ID = "pim-demo"
DEMO_INSTALLATION_ID = "pim-demo-installation"
DEMO_APP_SECRET = "pim-demo-app-secret"

ISSUED_AT = 1796083200  # 2026-12-01T00:00:00Z
EXPIRES_AT = 4102444800  # 2100-01-01T00:00:00Z: the files stay usable
SENT_AT = datetime.fromtimestamp(ISSUED_AT, UTC)
# uuid5 of a detailed type in this namespace is the synchronization id of its file.
SYNCHRONIZATION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "pim-demo.mercator.invalid")

# The entity each kind's examples are about: the placeholders the reference's own examples use.
RESOURCE_IDS: dict[str, dict[str, str]] = {
    "attribute": {"id": "attribute_code", "type": "attribute_code"},
    "category": {"id": "category_code", "type": "category_code"},
    "product": {"id": "Product SKU", "type": "product_sku"},
}


def kind_of(detailed_type: str) -> str:
    """``attribute``, ``category`` or ``product``: the kind of request a detailed type belongs to."""
    kind = detailed_type.split("_", 1)[0]
    if kind not in RESOURCE_IDS:
        raise ValueError(f"{detailed_type!r} is not a detailed event of an attribute, category or product")
    return kind


def coarse_name_for(detailed_type: str) -> str:
    """The coarse event the demo request for this detailed type is: ``<kind>_created`` for the creation
    itself, ``<kind>_updated`` for every other change (the reference lists most changes as included
    with both; an update is the request any of them can come alone in)."""
    kind = kind_of(detailed_type)
    return f"{kind}_created" if detailed_type == f"{kind}_created" else f"{kind}_updated"


def envelope_for(seed_event: SeedEvent) -> dict[str, Any]:
    """The request body carrying ``seed_event``'s example, as written (its own type included), for the
    entity of its section's kind."""
    kind = kind_of(seed_event.type)
    return {
        "name": coarse_name_for(seed_event.type),
        "resource_id": dict(RESOURCE_IDS[kind]),
        "synchronization": {"events": [seed_event.example], "resource_customs": None},
    }


def synchronization_id(detailed_type: str) -> str:
    return str(uuid.uuid5(SYNCHRONIZATION_NAMESPACE, detailed_type))


def app_token(detailed_type: str) -> str:
    """The ``X-APP-TOKEN`` of the request for ``detailed_type``'s example (HS256, the demo secret)."""
    claims = {
        "app_installation_id": DEMO_INSTALLATION_ID,
        "synchronization_id": synchronization_id(detailed_type),
        "iat": ISSUED_AT,
        "nbf": ISSUED_AT,
        "exp": EXPIRES_AT,
    }
    with warnings.catch_warnings():
        # The demo secret is short on purpose (a name, easy to register); PyJWT rightly warns about
        # keys under 32 bytes, which a real installation's secret, chosen by the PIM, is not.
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, DEMO_APP_SECRET, algorithm="HS256")


def request_event(seed_event: SeedEvent, *, stage: str = "dev") -> dict[str, Any]:
    """The proxy event API Gateway hands CatalogEvents for the PUT carrying ``seed_event``'s example."""
    name = coarse_name_for(seed_event.type)
    route = Route(
        function="CatalogEventsFunction",
        api=ApiRoute(
            name="Consume",
            path="/pim/{integrationId}/consume/{name}",
            method="PUT",
            # The PIM calls the integration's WebhookUrl host (docs/catalog-events.md, "The requests").
            rest_api="WebhookApi",
            stage=stage,
        ),
        api_id=api_id("mercator-dev", "WebhookApi"),
    )
    body = json.dumps(envelope_for(seed_event), indent=2, ensure_ascii=False).encode()
    request = HttpRequest(
        method="PUT",
        raw_path=f"/pim/{DEMO_INTEGRATION_ID}/consume/{name}",
        query_string="",
        headers=(("Content-Type", "application/json"), ("X-APP-TOKEN", app_token(seed_event.type))),
        body=body,
        source_ip="203.0.113.20",
        port=443,
        scheme="https",
    )
    match = RouteMatch(route, {"integrationId": DEMO_INTEGRATION_ID, "name": name})
    request_id = str(uuid.uuid5(SYNCHRONIZATION_NAMESPACE, f"request/{seed_event.type}"))
    return proxy_event(request, match, region=REGION, request_id=request_id, now=SENT_AT)


def events(seed_text: str) -> dict[str, dict[str, Any]]:
    """File name → proxy event, one per section of the reference."""
    return {f"{name}.json": request_event(event) for name, event in extract(seed_text).items()}


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


EVENT_FILES = GeneratedFiles(
    prog="python -m mercator_local.catalog_event_files",
    description=(
        "Write a signed PIM synchronization request (an API Gateway proxy event for CatalogEvents) "
        "per example of the synchronization-events reference into events/catalog_events/."
    ),
    folder=FOLDER,
    what="files",
    render=lambda seed_text: {name: render(event) for name, event in events(seed_text).items()},
)


def main(argv: Sequence[str] | None = None) -> int:
    return run_generator(EVENT_FILES, argv)


if __name__ == "__main__":
    sys.exit(main())
