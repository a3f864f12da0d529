"""Write events/webhook_intake/: API Gateway proxy events of signed deliveries, one per shipped connector.

Each body is a real sample the connector references, signed the platform's way with the sample
credentials below, so ``sam local invoke WebhookIntakeFunction -e events/webhook_intake/<file>``
works against an integration registered with those credentials. Run
``python -m mercator_local.webhook_events`` after changing a connector's webhook block or its samples;
``--check`` writes nothing and exits 1 naming the stale, missing and extra files (the tests check the
same), and ``--out DIR`` writes (or checks) another folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mercator.connector import load_shipped
from mercator_local.api import HttpRequest, Route, RouteMatch, api_id, proxy_event
from mercator_local.functions import ApiRoute
from mercator_local.webhook_signing import signed_headers

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "events" / "webhook_intake"
SIGNED_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
REGION = "eu-central-1"

# The credentials the sample integrations are registered with (never real secrets).
SAMPLE_CREDENTIALS = {
    "webhookSecret": "mercator-sample-webhook-secret",
    "webhookToken": "mercator-sample-webhook-token",
    "webhookUsername": "mercator",
    "webhookPassword": "mercator-sample-password",
}

# connector, integration id, event, sample file, extra headers and query of that platform
DELIVERIES: tuple[tuple[str, str, str, str, dict[str, str], str], ...] = (
    ("salla", "salla-demo", "order.created", "order_created.json", {}, ""),
    ("salla", "salla-demo", "shipment.creating", "shipment_creating.json", {}, ""),
    (
        "shopify",
        "shopify-demo",
        "fulfillments/update",
        "fulfillments_update.json",
        {
            "X-Shopify-Topic": "fulfillments/update",
            "X-Shopify-Shop-Domain": "mercator-demo.myshopify.com",
            "X-Shopify-Event-Id": "5c2b1ad4-4d0e-4c1f-9d54-0a7f1e2b9c31",
            "X-Shopify-Webhook-Id": "0d4a7b7e-3f61-4f0e-8d0b-6a3c2e9f4b12",
            "X-Shopify-API-Version": "2025-01",
        },
        "",
    ),
    (
        "shopify",
        "shopify-demo",
        "orders/create",
        "orders_create.json",
        {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "mercator-demo.myshopify.com",
            "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            "X-Shopify-API-Version": "2025-01",
        },
        "",
    ),
    (
        "woocommerce",
        "woo-demo",
        "order.created",
        "order_details.json",
        {
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": "created",
            "X-WC-Webhook-Source": "https://shop.example.com/",
            "X-WC-Webhook-ID": "15",
            "X-WC-Webhook-Delivery-ID": "8f2a",
        },
        "",
    ),
    ("zid", "zid-demo", "order.create", "order_create.json", {}, "event=order.create"),
)


def delivery_event(
    integration_id: str, body: bytes, headers: dict[str, str], query: str = "", *, stage: str = "dev"
) -> dict[str, Any]:
    """The proxy event API Gateway hands WebhookIntake for one POST."""
    path = "/webhooks/{integrationId}"
    route = Route(
        function="WebhookIntakeFunction",
        api=ApiRoute(
            name="Delivery",
            path=path,
            method="POST",
            rest_api="WebhookApi",
            stage=stage,
        ),
        api_id=api_id("mercator-dev", "WebhookApi"),
    )
    request = HttpRequest(
        method="POST",
        raw_path=f"/webhooks/{integration_id}",
        query_string=query,
        headers=tuple({"Content-Type": "application/json", **headers}.items()),
        body=body,
        source_ip="203.0.113.10",
        port=443,
        scheme="https",
    )
    match = RouteMatch(route, {"integrationId": integration_id})
    return proxy_event(
        request, match, region=REGION, request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef", now=SIGNED_AT
    )


def events() -> dict[str, dict[str, Any]]:
    """File name → event, for every shipped connector's sample delivery and WooCommerce's ping."""
    built: dict[str, dict[str, Any]] = {}
    for connector, integration_id, event, sample, extra, query in DELIVERIES:
        definition = load_shipped(connector)
        assert definition.webhook is not None
        body = definition.resolve(f"samples/{connector}/{sample}").read_bytes()
        signed = signed_headers(
            definition.webhook.verification, SAMPLE_CREDENTIALS, body, now=SIGNED_AT, delivery_id=None
        )
        built[f"{connector}_{event.replace('.', '_').replace('/', '_')}.json"] = delivery_event(
            integration_id, body, {**extra, **signed}, query
        )
    ping = delivery_event("woo-demo", b"webhook_id=15", {"Content-Type": "application/x-www-form-urlencoded"})
    built["woocommerce_ping.json"] = ping
    return built


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mercator_local.webhook_events",
        description=(
            "Write the signed sample deliveries of every shipped connector (API Gateway proxy events "
            "for WebhookIntake) into events/webhook_intake/."
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming the stale, missing and extra files, 0 when all are current",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=FOLDER,
        metavar="DIR",
        help="the folder to write or check (default: events/webhook_intake/)",
    )
    return parser.parse_args(argv)


def differences(
    folder: Path, expected: dict[str, str], *, kept: frozenset[str] = frozenset()
) -> dict[str, list[str]]:
    """The files of ``folder`` that differ from ``expected`` (file name → text), by kind; the files
    ``kept`` (written by hand beside them) are none of these."""
    present = {path.name for path in folder.glob("*.json")} - kept if folder.is_dir() else set()
    return {
        "stale": sorted(
            name
            for name in expected
            if name in present and (folder / name).read_text(encoding="utf-8") != expected[name]
        ),
        "missing": sorted(name for name in expected if name not in present),
        "extra": sorted(present - set(expected)),
    }


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder: Path = args.out.resolve()
    expected = {name: render(event) for name, event in events().items()}
    if args.check:
        found = differences(folder, expected)
        for kind, names in found.items():
            for name in names:
                print(f"{kind}: {_shown(folder / name)}")
        if found["stale"] or found["missing"]:
            print("run python -m mercator_local.webhook_events to rewrite them", file=sys.stderr)
        if found["extra"]:
            print("no shipped connector's sample makes the extra files: delete them", file=sys.stderr)
        if any(found.values()):
            return 1
        print(f"{_shown(folder)}: {len(expected)} files current")
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in expected.items():
        (folder / name).write_text(text)
        print(f"wrote {_shown(folder / name)}")
    # Never deleted here: --out may name a folder that holds other files.
    for name in differences(folder, expected)["extra"]:
        print(f"extra: {_shown(folder / name)} (no shipped connector's sample makes it: delete it if stale)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
