"""``python -m mercator_local.try_connector``: the docs' example connector run end to end, its samples
served as the store's API, through the real handlers on the local stack.

The expected values are read off docs/example-samples/ by hand: the product list holds 101 (Arabic
coffee, 45 SAR) and 102 (Dates, Sukkari, 60 SAR); the details sample is 101's, with a stock of 12;
the order delivery is order 5001, pending, 105 SAR, two items, created 09:30 at +03:00.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mercator_local.try_connector import Answer, main, try_connector

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "docs" / "example-connector.yaml")


def test_the_example_connector_syncs_its_samples_and_its_delivery_is_accepted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When the command runs the docs' example definition
    report = try_connector([EXAMPLE])

    # Then the sync wrote both listed products: 101 as its details sample says, 102 as listed, with
    # the stock only the details sample shows (the sample API lays 102's list entry over it)
    assert report.failures == []
    assert report.exit_code == 0
    products = report.records["core:product"]
    assert sorted(products) == ["101", "102"]
    assert (
        products["101"]
        | {
            "code": "101",
            "name": "Arabic coffee, 250 g",
            "unitPrice": 45.0,
            "currency": "SAR",
            "quantity": 12,
        }
        == products["101"]
    )
    assert (
        products["102"]
        | {
            "code": "102",
            "name": "Dates, Sukkari, 1 kg",
            "unitPrice": 60.0,
            "currency": "SAR",
            "quantity": 12,
        }
        == products["102"]
    )
    # And the signed order.created sample was accepted and written as order 5001
    assert report.answers == [Answer("order.created", "example-samples/order_created.json", 200, "accepted")]
    order = report.records["ecommerce:orders"]["5001"]
    assert (
        order
        | {
            "code": "5001",
            "status": "pending",
            "totalAmount": 105.0,
            "currency": "SAR",
            "createdAt": "2025-01-10T06:30:00Z",
        }
        == order
    )
    assert [(item["name"], item["quantity"]) for item in order["items"]] == [
        ("Arabic coffee, 250 g", 1),
        ("Dates, Sukkari, 1 kg", 1),
    ]
    # And the run said so, the connector handed to the functions as a deployment's extra one
    out = capsys.readouterr().out
    assert "served to the functions as an extra connector, CONNECTORS_DIR=" in out
    assert "ok   products (core:product): list sample 2 records; listed 2 in 1 page(s)" in out
    assert "ok   order.created example-samples/order_created.json: 200 accepted (code 5001)" in out
    assert out.rstrip().endswith("demo: every sample synced and every sample delivery was accepted")


def test_a_delivery_signed_with_a_wrong_secret_is_reported_refused_and_the_run_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When the deliveries are signed with another secret than the integration holds
    code = main([EXAMPLE, "--sign-with", "webhookSecret=not-the-integrations-secret"])

    # Then the intake refuses the delivery, the command says why, and exits 1; the sync still passed
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "FAIL order.created example-samples/order_created.json: 401 refused "
        "(message the delivery could not be verified)" in out
    )
    assert "ok   products (core:product)" in out
    assert "demo: 1 check(s) failed:" in out
