"""Salla's shipped order samples, served as a details endpoint through ``httpx.MockTransport``."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

SAMPLES = Path(__file__).resolve().parents[3] / "shared/mercator/connectors/samples/salla"
DETAILS_PATH = re.compile(r"/admin/v2/orders/(?P<id>[^/]+)$")


def listed_orders() -> list[dict[str, Any]]:
    """The two orders of Salla's List Orders sample (1017120475 and 1013578136), as listed."""
    body = json.loads((SAMPLES / "orders_list.json").read_text(encoding="utf-8"))
    orders: list[dict[str, Any]] = body["data"]
    return orders


def order_details(order_id: int | str) -> dict[str, Any]:
    """Salla's Order Details sample, as the details of ``order_id``."""
    body: dict[str, Any] = json.loads((SAMPLES / "order_details.json").read_text(encoding="utf-8"))
    body["data"]["id"] = int(order_id)
    return body


Answer = Callable[[str], httpx.Response]


class DetailsServer:
    """Answers GET /orders/{id} with the details sample, or what ``answers`` says for that id."""

    def __init__(self, answers: Mapping[str, Answer] | None = None, *, data: Mapping[str, Any] | None = None):
        self.answers = dict(answers or {})
        self.data = dict(data or {})  # fields replaced in the details' data, per id: {id: {...}}
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        match = DETAILS_PATH.search(request.url.path)
        if match is None:
            return httpx.Response(404, json={"status": 404, "success": False})
        order_id = match["id"]
        self.requests.append(order_id)
        answer = self.answers.get(order_id)
        if answer is not None:
            return answer(order_id)
        body = order_details(order_id)
        body["data"].update(copy.deepcopy(self.data.get(order_id, {})))
        return httpx.Response(200, json=body)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def status(code: int) -> Answer:
    return lambda order_id: httpx.Response(code, json={"status": code, "success": False})
