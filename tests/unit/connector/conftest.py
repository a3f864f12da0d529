"""A small but complete connector on disk, with samples, for checklist and CLI tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ORDER_DELIVERY = {
    "event": "order.created",
    "data": {
        "id": 981,
        "status": "paid",
        "total": "120.50",
        "currency": "sar",
        "created_at": "2024-05-01T10:00:00+03:00",
        "customer": {"id": 7, "email": "Buyer@Example.com "},
        "items": [{"name": "Mug", "qty": "2"}],
    },
}
PRODUCTS_PAGE = {
    "data": [
        {"id": 1, "name": "Mug", "price": {"amount": 30}},
        {"id": 2, "name": "Tea", "price": None, "regular_price": {"amount": "12.5"}},
    ],
    "pagination": {"total": 2},
}
PRODUCT_DETAILS = {"data": {"id": 1, "name": "Mug", "price": {"amount": 30}}}


def definition_doc() -> dict[str, Any]:
    return {
        "name": "demo",
        "displayName": "Demo store",
        "auth": {"type": "api_key", "credentials": ["accessToken", "webhookSecret"]},
        "webhook": {
            "verification": {"strategy": "hmac", "header": "X-Sig", "encoding": "hex"},
            "eventName": {"from": "body", "path": "event"},
            "customerExtraction": {
                "mapping": {
                    "code": {"path": "data.customer.id", "transform": "toString"},
                    "email": {"path": "data.customer.email", "transform": ["trim", "lowercase"]},
                }
            },
        },
        "sync": {
            "baseUrl": "https://api.example.com/v2",
            "headers": {"Authorization": "Bearer [[accessToken]]"},
            "resources": {
                "products": {
                    "name": "products",
                    "displayName": "Products",
                    "contentType": "core:product",
                    "expandDetails": True,
                    "endpoints": {
                        "list": {"url": "/products"},
                        "details": {"url": "/products/{id}", "dataProperty": "data"},
                    },
                    "responseMapping": {"dataProperty": "data", "totalProperty": "pagination.total"},
                    "apiMapping": {
                        "code": {"path": "id", "transform": "toString"},
                        "name": "name",
                        "unitPrice": {
                            "paths": ["price.amount", "regular_price.amount"],
                            "transform": ["coalesce", "toNumberOrNull"],
                        },
                    },
                    "samples": {"list": "samples/products.json", "details": "samples/product.json"},
                }
            },
            "webhooks": {
                "handlers": {
                    "order.created": {
                        "recordType": "order",
                        "operation": "create",
                        "mapping": {
                            "code": {"path": "$.data.id", "transform": "toString"},
                            "status": "$.data.status",
                            "totalAmount": {"path": "data.total", "transform": "toNumberOrNull"},
                            "currency": {"path": "data.currency", "transform": "uppercase"},
                            "createdAt": {"path": "data.created_at", "transform": "toIsoDatetime"},
                            "items": {
                                "path": "data.items",
                                "transform": "mapItems",
                                "mapping": {
                                    "name": "name",
                                    "quantity": {"path": "qty", "transform": "toInteger"},
                                },
                            },
                        },
                        "samples": ["samples/order_created.json"],
                    }
                }
            },
        },
        "triggers": [{"event": "order.created", "entityType": "Order"}],
    }


ConnectorWriter = Callable[..., Path]


@pytest.fixture
def write_connector(tmp_path: Path) -> ConnectorWriter:
    """Write the demo connector (optionally changed) and its samples; return the YAML's path."""

    def write(change: Callable[[dict[str, Any]], None] | None = None, **samples: Any) -> Path:
        doc = definition_doc()
        if change:
            change(doc)
        folder = tmp_path / "samples"
        folder.mkdir(exist_ok=True)
        files = {
            "products": PRODUCTS_PAGE,
            "product": PRODUCT_DETAILS,
            "order_created": ORDER_DELIVERY,
            **samples,
        }
        for name, body in files.items():
            if body is not None:
                (folder / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")
        path = tmp_path / "demo.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return write
