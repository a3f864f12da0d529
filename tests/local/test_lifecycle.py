"""The stack's lifecycle: a free loopback port, nothing left running after it, one stack at a time."""

from __future__ import annotations

import os
import socket
import threading

import httpx
import pytest

from mercator_local import LocalStack
from mercator_sandbox import Sandbox
from tests.local.application import App


def _port(endpoint_url: str) -> int:
    return int(endpoint_url.rsplit(":", 1)[1])


def test_the_server_stops_and_its_port_closes_on_exit(app: App) -> None:
    threads_before = set(threading.enumerate())
    with LocalStack(app.template) as stack:
        port = _port(stack.endpoint_url)
        assert stack.endpoint_url.startswith("http://127.0.0.1:")
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass

    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(timeout=5)
        assert not thread.is_alive(), f"{thread.name} still running"


def test_the_aws_environment_is_set_inside_and_restored_after(app: App) -> None:
    before = {name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_REGION")}
    with LocalStack(app.template, region="ap-south-1") as stack:
        assert os.environ["AWS_ENDPOINT_URL"] == stack.endpoint_url
        assert os.environ["AWS_DEFAULT_REGION"] == "ap-south-1"
        assert os.environ["AWS_ACCESS_KEY_ID"] == "mercator-local"

    assert {name: os.environ.get(name) for name in before} == before


def test_only_one_stack_runs_at_a_time(app: App) -> None:
    with LocalStack(app.template) as first:
        with pytest.raises(RuntimeError, match="already running"), LocalStack(app.template):
            pass
        # The refused second stack left the first one working
        assert first.client("sqs").list_queues()["QueueUrls"]

    # ...and the slot is free again once the first has stopped
    with LocalStack(app.template) as again:
        assert again.endpoint_url


def test_each_stack_starts_empty(app: App) -> None:
    with LocalStack(app.template, stack_name="first") as first:
        first.client("sqs").create_queue(QueueName="left-behind")

    with LocalStack(app.template, stack_name="second") as second:
        names = sorted(url.rsplit("/", 1)[1] for url in second.client("sqs").list_queues()["QueueUrls"])

    # The first stack's queues and the one created by hand are gone; OutQueue's QueueName is ${StackName}-out
    assert names == ["second-OrderedQueue.fifo", "second-WorkDLQ", "second-WorkQueue", "second-out"]


def test_a_secret_holds_its_values_as_json(app: App) -> None:
    with LocalStack(app.template) as stack:
        arn = stack.create_secret("mercator/acme-salla", {"accessToken": "at-123"})
        value = stack.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]

    assert arn.startswith("arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/acme-salla")
    assert value == '{"accessToken": "at-123"}'


def test_a_sandbox_store_is_served_until_the_stack_stops(app: App) -> None:
    sandbox = Sandbox(
        "salla", sizes={"orders": 3, "products": 1, "customers": 1, "carts": 1}, rate_limit=None
    )
    with LocalStack(app.template) as stack:
        origin = stack.serve_sandbox(sandbox)
        response = httpx.get(f"{sandbox.base_url(origin)}/orders", headers=sandbox.credentials, timeout=5)
        assert response.status_code == 200
        assert len(response.json()["data"]) == 3

    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.base_url(origin)}/orders", headers=sandbox.credentials, timeout=2)


def test_a_stack_runs_once(app: App) -> None:
    stack = LocalStack(app.template)
    with stack:
        pass

    with pytest.raises(RuntimeError, match="runs once"), stack:
        pass
