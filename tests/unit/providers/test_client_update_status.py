"""ProviderClient.update_status: the connector's status call, paced, retried and masked like the sync's."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from mercator.connector import ConnectorDefinition, validate_definition
from mercator.domain.provider_errors import ProviderHTTPError
from tests.unit.providers.conftest import (
    BASE,
    RecordingLimiter,
    SleepRecorder,
    json_response,
    make_client,
    resource,
    retry_policy,
)

TOKEN = "tok-5f0c2a9e7b31d4"


def connector_with(update_status: dict[str, Any] | None) -> ConnectorDefinition:
    sync: dict[str, Any] = {
        "baseUrl": BASE,
        "headers": {"Authorization": "Bearer [[accessToken]]"},
        "syncConfiguration": {"rateLimitPerSecond": 5, "timeout": 5000},
        "resources": {"orders": resource("orders")},
    }
    if update_status is not None:
        sync["actions"] = {"updateStatus": update_status}
    return validate_definition(
        {
            "name": "demo",
            "displayName": "Demo",
            "auth": {"type": "api_key", "credentials": ["accessToken"]},
            "sync": sync,
        }
    )


SALLA_LIKE = {
    "recordType": "order",
    "url": "/orders/{id}/status",
    "method": "POST",
    "body": {"slug": "{status}"},
}


@pytest.mark.anyio
async def test_the_status_call_carries_the_filled_body_and_the_connectors_headers() -> None:
    seen: list[httpx.Request] = []

    def store(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response({"success": True})

    limiter = RecordingLimiter()
    block = {**SALLA_LIKE, "method": "PATCH", "body": {"order": {"id": "{id}", "status": "{status}"}}}
    async with make_client(
        connector_with(block), store, credentials={"accessToken": TOKEN}, limiter=limiter
    ) as client:
        await client.update_status("A/981", "completed")

    (request,) = seen
    assert request.method == "PATCH"
    assert str(request.url) == f"{BASE}/orders/A%2F981/status"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"order": {"id": "A/981", "status": "completed"}}
    assert limiter.acquired == 1  # paced through the integration's limiter


@pytest.mark.anyio
async def test_server_errors_are_retried_and_an_empty_answer_is_accepted() -> None:
    answers = [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(204)]
    calls: list[httpx.Request] = []

    def store(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answers.pop(0)

    sleep = SleepRecorder()
    async with make_client(connector_with(SALLA_LIKE), store, retry=retry_policy(sleep)) as client:
        await client.update_status("981", "shipped")

    assert len(calls) == 3
    assert sleep.delays == [0.5, 2.0]  # full jitter's upper bound, then the store's Retry-After
    assert client.stats.retries == 2


@pytest.mark.anyio
async def test_an_answer_that_is_not_json_does_not_send_the_write_again() -> None:
    calls: list[httpx.Request] = []

    def store(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, text="<html>Saved</html>")

    async with make_client(connector_with(SALLA_LIKE), store) as client:
        await client.update_status("981", "shipped")

    assert len(calls) == 1


@pytest.mark.anyio
async def test_a_refusal_is_not_retried_and_shows_no_credential(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[httpx.Request] = []

    def store(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response({"error": {"message": f"unknown order; token {TOKEN}"}}, status=404)

    caplog.set_level(logging.DEBUG)
    async with make_client(connector_with(SALLA_LIKE), store, credentials={"accessToken": TOKEN}) as client:
        with pytest.raises(ProviderHTTPError) as caught:
            await client.update_status("404404", "shipped")

    assert caught.value.status == 404
    assert len(calls) == 1
    assert "POST https://api.example.com/v1/orders/404404/status answered 404" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text


@pytest.mark.anyio
async def test_a_connector_without_the_block_cannot_set_statuses() -> None:
    def store(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call may be made")

    async with make_client(connector_with(None), store) as client:
        with pytest.raises(ValueError, match=r"has no sync\.actions\.updateStatus"):
            await client.update_status("981", "shipped")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("record_id", "status", "message"), [("", "shipped", "record id"), ("9", "", "status")]
)
async def test_empty_ids_and_statuses_are_refused(record_id: str, status: str, message: str) -> None:
    def store(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no call may be made")

    async with make_client(connector_with(SALLA_LIKE), store) as client:
        with pytest.raises(ValueError, match=message):
            await client.update_status(record_id, status)
