"""The submission checklist: each rule passes a complete connector and catches its own mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mercator.connector import load_definition
from mercator.connector.checklist import Finding, check
from tests.unit.connector.conftest import ConnectorWriter

HANDLER = ("sync", "webhooks", "handlers", "order.created")


def findings(path: Path) -> list[Finding]:
    return check(load_definition(path))


def test_complete_connector_passes(write_connector: ConnectorWriter) -> None:
    assert findings(write_connector()) == []


def test_handler_without_trigger_and_trigger_without_handler(write_connector: ConnectorWriter) -> None:
    def rename_trigger(doc: dict[str, Any]) -> None:
        doc["triggers"][0]["event"] = "order.create"

    result = findings(write_connector(rename_trigger))
    assert (
        Finding(
            'sync.webhooks.handlers["order.created"]',
            "no trigger has event 'order.created' (did you mean 'order.create'?); add one to triggers[]",
        )
        in result
    )
    assert any(
        f.path == "triggers[0].event" and "no webhook handler for 'order.create'" in f.message for f in result
    )


def test_duplicate_trigger_is_reported(write_connector: ConnectorWriter) -> None:
    def duplicate(doc: dict[str, Any]) -> None:
        doc["triggers"].append({"event": "order.created", "entityType": "Order"})

    assert [f.path for f in findings(write_connector(duplicate))] == ["triggers[1].event"]


def test_mapping_missing_required_field(write_connector: ConnectorWriter) -> None:
    def drop_currency(doc: dict[str, Any]) -> None:
        del doc["sync"]["webhooks"]["handlers"]["order.created"]["mapping"]["currency"]

    result = findings(write_connector(drop_currency))
    assert (
        Finding(
            'sync.webhooks.handlers["order.created"].mapping',
            "ecommerce:orders requires currency; this mapping does not produce it",
        )
        in result
    )


def test_partial_update_needs_only_code(write_connector: ConnectorWriter) -> None:
    def make_update(doc: dict[str, Any]) -> None:
        handler = doc["sync"]["webhooks"]["handlers"]["order.created"]
        handler["operation"] = "update"
        handler["mapping"] = {"code": {"path": "data.id", "transform": "toString"}, "status": "data.status"}

    assert findings(write_connector(make_update)) == []


def test_mapping_field_unknown_to_content_type(write_connector: ConnectorWriter) -> None:
    def typo(doc: dict[str, Any]) -> None:
        doc["sync"]["resources"]["products"]["apiMapping"]["unitPrise"] = "price.amount"

    result = findings(write_connector(typo))
    [message] = [f.message for f in result if f.path == "sync.resources.products.apiMapping.unitPrise"]
    assert message.startswith(
        "core:product has no field 'unitPrise' (did you mean 'unitPrice'?) "
        "(free-form data goes under attributes); its fields: code, name, "
    )


def test_customer_extraction_needs_contact(write_connector: ConnectorWriter) -> None:
    def no_email(doc: dict[str, Any]) -> None:
        doc["webhook"]["customerExtraction"]["mapping"] = {"code": "data.customer.id", "firstName": "data.x"}

    result = findings(write_connector(no_email))
    assert (
        Finding("webhook.customerExtraction.mapping", "core:customer needs email or phone; map at least one")
        in result
    )


def test_data_property_missing_from_list_sample(write_connector: ConnectorWriter) -> None:
    path = write_connector(products={"items": [], "pagination": {"total": 0}})
    result = findings(path)
    assert (
        Finding(
            "sync.resources.products.responseMapping.dataProperty", "in the list sample, no list at 'data'"
        )
        in result
    )


def test_total_property_missing_from_list_sample(write_connector: ConnectorWriter) -> None:
    path = write_connector(products={"data": [], "meta": {"total": 0}})
    assert Finding(
        "sync.resources.products.responseMapping.totalProperty",
        "no number at 'pagination.total' in the list sample",
    ) in findings(path)


def test_missing_samples(write_connector: ConnectorWriter) -> None:
    def no_samples(doc: dict[str, Any]) -> None:
        del doc["sync"]["resources"]["products"]["samples"]
        doc["sync"]["webhooks"]["handlers"]["order.created"]["samples"] = []

    paths = {f.path for f in findings(write_connector(no_samples))}
    assert paths == {
        "sync.resources.products.samples.list",
        "sync.resources.products.samples.details",
        'sync.webhooks.handlers["order.created"].samples',
    }


def test_sample_file_not_found(write_connector: ConnectorWriter) -> None:
    path = write_connector(product=None)
    (path.parent / "samples" / "product.json").unlink(missing_ok=True)
    result = findings(path)
    assert [f.path for f in result] == ["sync.resources.products.samples.details"]
    assert "sample 'samples/product.json' not found" in result[0].message


def test_sample_that_does_not_map_is_reported_with_reason(write_connector: ConnectorWriter) -> None:
    bad = {"event": "order.created", "data": {"id": 1, "status": "paid", "total": "1", "currency": "SAR"}}
    result = findings(write_connector(order_created=bad))
    assert [f.path for f in result] == ['sync.webhooks.handlers["order.created"].samples[0]']
    assert "createdAt" in result[0].message


@pytest.mark.parametrize("verification", [None, {"strategy": "none"}])
def test_webhooks_must_be_verified(write_connector: ConnectorWriter, verification: Any) -> None:
    def set_verification(doc: dict[str, Any]) -> None:
        if verification is None:
            del doc["webhook"]["verification"]
        else:
            doc["webhook"]["verification"] = verification

    result = findings(write_connector(set_verification))
    assert [f.path for f in result] == ["webhook.verification"]
    assert "standard_webhooks" in result[0].message


def test_webhooks_need_event_name(write_connector: ConnectorWriter) -> None:
    def no_event_name(doc: dict[str, Any]) -> None:
        del doc["webhook"]["eventName"]

    assert [f.path for f in findings(write_connector(no_event_name))] == ["webhook.eventName"]


def test_connector_without_handlers_needs_no_verification(write_connector: ConnectorWriter) -> None:
    def sync_only(doc: dict[str, Any]) -> None:
        del doc["webhook"]
        doc["sync"]["webhooks"]["handlers"] = {}
        doc["triggers"] = []

    assert findings(write_connector(sync_only)) == []
