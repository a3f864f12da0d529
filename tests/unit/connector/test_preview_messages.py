"""``mercator preview``: an input of the wrong kind, an enriched handler and a failing record each get a
message that leads to the fix, and preview agrees with what the runtime does with the same payload."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mercator.cli import main
from tests.unit.connector.conftest import ORDER_DELIVERY, ConnectorWriter


def _enriched(doc: dict[str, Any]) -> None:
    """A thin ``product.updated`` delivery: its record is fetched through resources.products details."""
    doc["sync"]["webhooks"]["handlers"]["product.updated"] = {
        "recordType": "product",
        "operation": "upsert",
        "enrich": {"resource": "products", "idPath": "data.id"},
    }


def _failing_order() -> dict[str, Any]:
    delivery: dict[str, Any] = copy.deepcopy(dict(ORDER_DELIVERY))
    delivery["data"]["status"] = None
    delivery["data"]["total"] = "abc"
    return delivery


@dataclass(frozen=True)
class Case:
    name: str
    target: tuple[str, str]
    payload: Any
    code: int
    # {input} and {samples} are filled with the input file and the definition's samples folder
    err: str
    change: Callable[[dict[str, Any]], None] | None = None

    def param(self) -> Any:
        return pytest.param(self, id=self.name)


CASES = [
    Case(
        "a list given as a delivery",
        ("--event", "order.created"),
        [ORDER_DELIVERY],
        1,
        "{input}: the input is a list of 1 item; a delivery of order.created is one object: pass one item, "
        "or use --resource products for a list response\n",
    ),
    Case(
        "text given as a delivery",
        ("--event", "order.created"),
        "order.created",
        1,
        "{input}: the input is a string; a delivery of order.created is one object\n",
    ),
    Case(
        "a bare list for a resource that lists at dataProperty",
        ("--resource", "products"),
        [{"id": 1, "name": "Mug"}],
        1,
        "{input}: the input is a list of 1 item, but resources.products finds a list response's records at "
        "responseMapping.dataProperty 'data', and a details response is one object; if the platform answers "
        "with a bare list, omit responseMapping.dataProperty\n",
    ),
    Case(
        "an object that is neither a list nor a details response",
        ("--resource", "products"),
        {"id": 1, "name": "Mug"},
        1,
        "{input}: the input is neither a list response of resources.products (no list at "
        "responseMapping.dataProperty 'data') nor a details response (no object at "
        "endpoints.details.dataProperty 'data'); its top-level keys: id, name\n",
    ),
    Case(
        "a delivery whose fields are missing",
        ("--event", "order.created"),
        _failing_order(),
        1,
        "{input}: record 0: demo, event order.created: not a valid ecommerce:orders: "
        "status: missing (the mapping gives null: $.data.status is null in this payload); "
        "totalAmount: missing: toNumberOrNull turned data.total = 'abc' into null\n",
    ),
    Case(
        "an enriched delivery says where its record comes from",
        ("--event", "product.updated"),
        {"event": "product.updated", "data": {"id": 42}},
        0,
        "{input}: event product.updated is enriched: the delivery gives id 42 at data.id; the record is "
        "fetched through resources.products details and mapped by its apiMapping, not from this delivery: "
        "preview that with --resource products --input {samples}/product.json\n",
        _enriched,
    ),
    Case(
        "an enriched delivery without its id",
        ("--event", "product.updated"),
        {"event": "product.updated", "data": {"name": "Mug"}},
        1,
        "{input}: event product.updated is enriched through resources.products, but the delivery has no "
        "record id at data.id (enrich.idPath); its top-level keys: event, data\n",
        _enriched,
    ),
    Case(
        "an enriched delivery given as a list",
        ("--event", "product.updated"),
        [{"data": {"id": 42}}],
        1,
        "{input}: the input is a list of 1 item; a delivery of product.updated is one object: pass one item, "
        "or use --resource products for a list response\n",
        _enriched,
    ),
]


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_preview_says_what_to_do_with_the_input(
    case: Case, write_connector: ConnectorWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the demo connector (changed as the case says) and the case's payload
    path = write_connector(case.change)
    payload = tmp_path / "input.json"
    payload.write_text(json.dumps(case.payload), encoding="utf-8")

    # When it is previewed
    code = main(["preview", str(path), *case.target, "--input", str(payload)])

    # Then nothing is printed as a record, and the message says what the input is and what to do
    out, err = capsys.readouterr()
    assert (code, out) == (case.code, "")
    assert err == case.err.format(input=payload, samples=path.parent / "samples")
