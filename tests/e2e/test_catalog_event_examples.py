"""Every example event of the PIM's synchronization-event reference (events/catalog_events/, one signed
request each) accepted by the CatalogEvents route and applied, in the reference's own order; the
catalog then compared with the state worked out by hand, example by example."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from mercator.connector import load_shipped
from mercator.services.registration import register_integration
from mercator.state.integrations import DynamoIntegrations
from mercator.state.secrets import SecretsVault
from mercator_local import LocalStack
from mercator_local.catalog_event_files import DEMO_APP_SECRET, DEMO_INSTALLATION_ID, DEMO_INTEGRATION_ID
from tests.e2e.pim import PimWorld
from tests.e2e.support import TENANT, SteppingClock

EVENTS = Path(__file__).resolve().parents[2] / "events" / "catalog_events"
FILES = sorted(EVENTS.glob("*.json"))  # the reference's order: its sections are alphabetical


def signed(body: dict[str, Any], synchronization: str) -> tuple[bytes, str]:
    claims = {"app_installation_id": DEMO_INSTALLATION_ID, "synchronization_id": synchronization}
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):  # the demo secret is 19 bytes
        token = jwt.encode(claims, DEMO_APP_SECRET, algorithm="HS256")
    return json.dumps(body).encode(), token


def request(name: str, kind: str, entity: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    resource = {"attribute": "attribute_code", "category": "category_code", "product": "product_sku"}[kind]
    return {
        "name": name,
        "resource_id": {"id": entity, "type": resource},
        "synchronization": {"resource_customs": None, "events": events},
    }


# What the examples refer to that no example creates: the child and variant products, and the option a
# variant is bound by. Sent before the examples, as the PIM's data flow sends products before relations.
PREREQUISITES = [
    request(
        "product_created",
        "product",
        "Child sku",
        [
            {
                "type": "product_created",
                "payload": {"sku": "Child sku", "type": "SIMPLE-PRODUCT", "category_codes": []},
            }
        ],
    ),
    request(
        "product_created",
        "product",
        "Variant SKU",
        [
            {
                "type": "product_created",
                "payload": {"sku": "Variant SKU", "type": "SIMPLE-PRODUCT", "category_codes": []},
            }
        ],
    ),
]
BINDING_OPTION = request(
    "attribute_updated",
    "attribute",
    "attribute_code",
    [
        {
            "type": "attribute_option_created",
            "payload": {
                "option_code": "attribute_option_code",
                "option_name": [{"language": "en_GB", "value": "Bound"}],
            },
        }
    ],
)

# The catalog after every example, worked out by hand from the reference's examples in order:
# - attribute_code: created TEXT local; renamed; option previous_option_code renamed option_code (not
#   known yet: known as option_code from then on); option_code named, deleted, then renamed (ignored:
#   deleted); and the binding option added after them;
# - category_code: created, then renamed by the example typed attribute_name_changed;
# - Product SKU: added to category_code, bound to attribute_code and unbound, given Child sku (2) then
#   the same quantity, then not; created SIMPLE in category_code; removed from it; its value added
#   (local, written as `translation`), changed (global) and removed; Variant SKU added, then removed.
EXPECTED = {
    "attributes": {
        "attribute_code": {
            "type": "TEXT",
            "scope": "local",
            "names": {"en_GB": "This is the new attribute name"},
            "options": {"attribute_option_code": {"en_GB": "Bound"}},
        }
    },
    "categories": {"category_code": {"names": {"en_GB": "This is the new category name"}}},
    "products": {
        "Child sku": {
            "type": "SIMPLE-PRODUCT",
            "categories": [],
            "values": {},
            "bindings": [],
            "variants": {},
            "children": {},
        },
        "Product SKU": {
            "type": "SIMPLE-PRODUCT",
            "categories": [],
            "values": {},
            "bindings": [],
            "variants": {},
            "children": {},
        },
        "Variant SKU": {
            "type": "SIMPLE-PRODUCT",
            "categories": [],
            "values": {},
            "bindings": [],
            "variants": {},
            "children": {},
        },
    },
}


@pytest.fixture
def world() -> Iterator[PimWorld]:
    with LocalStack(clock=SteppingClock(), retry_after_seconds=0) as stack:
        register_integration(
            DynamoIntegrations(stack.client("dynamodb"), stack.table_name("StateTable")),
            SecretsVault(stack.client("secretsmanager")),
            load_shipped("pim"),
            tenant_id=TENANT,
            integration_id=DEMO_INTEGRATION_ID,
            credentials={"appSecret": DEMO_APP_SECRET, "installationId": DEMO_INSTALLATION_ID},
            settings={"catalogSource": True},
        )
        api = stack.serve_api("WebhookApi")
        yield PimWorld(
            stack, pim=None, store=None, store_id=None, api=api, integration_id=DEMO_INTEGRATION_ID
        )  # type: ignore[arg-type]


def put_file(world: PimWorld, path: Path) -> httpx.Response:
    event = json.loads(path.read_text())
    headers = {
        name: value
        for name, value in event["headers"].items()
        if name.lower() in {"x-app-token", "content-type"}
    }
    return httpx.put(
        f"{world.api}{event['path']}", content=event["body"].encode(), headers=headers, timeout=30
    )


def put(world: PimWorld, body: dict[str, Any], synchronization: str) -> httpx.Response:
    content, token = signed(body, synchronization)
    url = f"{world.api}/pim/{DEMO_INTEGRATION_ID}/consume/{body['name']}"
    return httpx.put(url, content=content, headers={"X-APP-TOKEN": token}, timeout=30)


def test_every_example_of_the_reference_is_accepted_and_applied(world: PimWorld) -> None:
    assert len(FILES) == 21
    # Given the products and the option the examples refer to without creating them
    for body in PREREQUISITES:
        assert put(world, body, "prerequisites").status_code == 202

    # When every example is sent, in the reference's order, and applied
    for path in FILES:
        if path.stem == "attribute_option_name_changed":
            answer = put_file(world, path)
            assert answer.status_code == 202, (path.name, answer.text)
            assert put(world, BINDING_OPTION, "binding option").status_code == 202
            continue
        answer = put_file(world, path)
        assert answer.status_code == 202, (path.name, answer.text)
    world.apply()

    # Then the catalog is the one worked out by hand, and no request was dead-lettered: only the
    # three products, which no example names, each once as not mapping into core:product
    assert world.catalog() == EXPECTED
    letters = world.dead_letters()
    assert {letter["resource"] for letter in letters} == {"products"}
    assert sorted(letter["raw"]["sku"] for letter in letters) == ["Child sku", "Product SKU", "Variant SKU"]
    assert all("name" in letter["reason"] for letter in letters)

    # When every example is sent again (the PIM retrying)
    answers = [put_file(world, path) for path in FILES]

    # Then each is a duplicate, nothing is queued and the catalog stays as it is
    assert {answer.json()["status"] for answer in answers} == {"duplicate"}
    assert world.stack.runner.depth("CatalogEventsQueue") == 0
    assert world.catalog() == EXPECTED
