"""Direct and scheduled invocations: the scheduled event, the context, warm modules, environments."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mercator_local import HandlerNotFoundError, LocalStack
from tests.local.application import App, send, write_app


class SteppingClock:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, start: float, step: float) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        current = self.now
        self.now += self.step
        return current


def test_a_schedule_delivers_its_constant_input(stack: LocalStack) -> None:
    # Given the template's Nightly schedule, whose Input is '{"resource": "products"}'
    by_resource = stack.runner.invoke_schedule("WorkerFunction", "products")
    by_name = stack.runner.invoke_schedule("WorkerFunction", "Nightly")

    # Then the handler received exactly that JSON object as its event, found either way
    assert by_resource["event"] == {"resource": "products"}
    assert by_name["event"] == {"resource": "products"}


def test_a_schedule_without_input_delivers_the_scheduled_event(stack: LocalStack) -> None:
    event = stack.runner.invoke_schedule("WorkerFunction", "Hourly")["event"]

    assert event["source"] == "aws.events"
    assert event["detail-type"] == "Scheduled Event"
    assert event["detail"] == {}
    assert event["account"] == "123456789012"
    assert event["region"] == "eu-west-1"
    assert event["resources"] == [
        "arn:aws:events:eu-west-1:123456789012:rule/runner-test-WorkerFunctionHourly"
    ]
    assert event["time"].endswith("Z")


def test_an_unknown_schedule_names_the_known_ones(stack: LocalStack) -> None:
    with pytest.raises(KeyError, match=r"Nightly \(products\), Hourly"):
        stack.runner.invoke_schedule("WorkerFunction", "orders")


def test_the_context_counts_down_from_the_function_timeout(tmp_path: Path) -> None:
    # Given a clock that advances 1.5 s each time it is read: once when the invocation starts,
    # once when the handler asks for its remaining time
    app = write_app(tmp_path)
    clock = SteppingClock(start=1_000.0, step=1.5)
    with LocalStack(app.template, stack_name="ctx", region="eu-west-1", clock=clock) as stack:
        result = stack.runner.invoke("WorkerFunction", {"resource": "customers"})

    # Then the worker, whose Timeout is 20 s (Globals), had 20 000 - 1 500 ms left
    assert result["remaining_ms"] == 18_500
    assert result["function_name"] == "ctx-WorkerFunction"
    assert result["memory"] == 256
    assert result["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:ctx-WorkerFunction"
    assert len(result["request_id"]) == 36


def test_a_function_stays_warm_between_invocations(stack: LocalStack) -> None:
    first = stack.runner.invoke("WorkerFunction", {"resource": "orders"})
    second = stack.runner.invoke("WorkerFunction", {"resource": "orders"})

    # The module ran once: its import-time state is the same object, not re-imported
    assert first["cold_starts"] == second["cold_starts"] == 1
    assert first["request_id"] != second["request_id"]
    assert stack.runner.functions["WorkerFunction"].invocations == 2
    assert not stack.runner.functions["SinkFunction"].started


def test_a_handler_sees_its_environment_only_while_it_runs(app: App) -> None:
    endpoint_before = os.environ.get("AWS_ENDPOINT_URL")
    with LocalStack(app.template, parameters={"Marker": "overridden", "Stage": "prod"}) as stack:
        result = stack.runner.invoke("WorkerFunction", {"resource": "orders"})
        # The stack's own AWS settings stay for the block; a function's variables do not
        assert os.environ["AWS_ENDPOINT_URL"] == stack.endpoint_url
        assert "MARKER" not in os.environ
        assert "OUT_QUEUE_URL" not in os.environ

    # The parameter override reached the import-time read, and the prod condition chose its branch
    assert result["marker_at_import"] == "overridden"
    assert result["stage_label"] == "production"
    assert os.environ.get("AWS_ENDPOINT_URL") == endpoint_before


def test_environments_merge_globals_the_way_sam_does(stack: LocalStack) -> None:
    worker = stack.environment("WorkerFunction")
    sink = stack.environment("SinkFunction")

    # Globals give both MARKER and LOG_PATH; the sink's own MARKER wins; only the worker has OUT_QUEUE_URL
    assert worker["MARKER"] == "from-template"
    assert sink["MARKER"] == "sink-own"
    assert worker["LOG_PATH"] == sink["LOG_PATH"]
    assert worker["OUT_QUEUE_URL"] == f"{stack.endpoint_url}/123456789012/runner-test-out"
    assert "OUT_QUEUE_URL" not in sink
    assert worker["STAGE_LABEL"] == "development"
    # And what the Lambda runtime itself sets
    assert worker["AWS_LAMBDA_FUNCTION_NAME"] == "runner-test-WorkerFunction"
    assert worker["AWS_ENDPOINT_URL"] == stack.endpoint_url
    assert sink["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"
    assert stack.functions["SinkFunction"].timeout_seconds == 7
    assert stack.functions["WorkerFunction"].timeout_seconds == 20


def test_a_missing_handler_file_is_named(app: App) -> None:
    (app.template.parent / "sink" / "handler.py").unlink()
    with LocalStack(app.template) as stack, pytest.raises(HandlerNotFoundError, match=r"sink/handler\.py"):
        stack.runner.invoke("SinkFunction", {"Records": []})


def test_each_function_imports_its_layer_under_its_own_environment(stack: LocalStack, app: App) -> None:
    # Given a layer package that reads MARKER at import, and two functions with different MARKERs
    worker = stack.runner.invoke("WorkerFunction", {"resource": "orders"})
    send(stack, "OutQueue", {"id": "s1"})
    stack.runner.drain("OutQueue")

    # Then each function's copy of the layer saw that function's environment, as in separate processes
    assert worker["layer_marker"] == "from-template"
    assert [entry["layer_marker"] for entry in app.entries("sink")] == ["sink-own"]
    # ...and neither copy, nor the layer's folder, is left in this process
    assert "tinylayer" not in sys.modules
    assert str(app.template.parent / "layer") not in sys.path
    assert stack.functions["WorkerFunction"].layer_packages == ("tinylayer",)
