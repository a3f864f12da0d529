"""Loading the Lambda handlers as Lambda does (a fresh module, its environment set), and their events."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events"

SYNC_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "RECORDS_TABLE": "mercator-dev-RecordsTable",
    "SYNC_JOBS_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/mercator-dev-SyncJobsQueue",
    "ENRICH_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/mercator-dev-EnrichQueue",
    "ENRICH_DLQ_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/mercator-dev-EnrichDLQ",
    "TRIGGER_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/mercator-dev-TriggerQueue",
    "SYNC_DEADLINE_MARGIN_SECONDS": "30",
}
ENRICH_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "RECORDS_TABLE": "mercator-dev-RecordsTable",
    "ENRICH_DLQ_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/mercator-dev-EnrichDLQ",
    "TRIGGER_QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/mercator-dev-TriggerQueue",
}

Loader = Callable[[str, dict[str, str]], ModuleType]


@pytest.fixture
def load_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Loader]:
    """Import functions/<name>/app.py as a new module with ``env`` as its environment (a cold start)."""
    loaded: list[str] = []

    def load(name: str, env: dict[str, str]) -> ModuleType:
        for variable in {*SYNC_ENV, *ENRICH_ENV}:
            monkeypatch.delenv(variable, raising=False)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        module_name = f"mercator_function_{name}_{uuid.uuid4().hex}"
        spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        loaded.append(module_name)
        spec.loader.exec_module(module)
        return module

    yield load
    for module_name in loaded:
        sys.modules.pop(module_name, None)


@dataclass
class LambdaContext:
    """What Lambda hands a handler: names, and the time left (counting down as the test says)."""

    function_name: str = "mercator-dev-ScheduledSync"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:mercator-dev-ScheduledSync"
    aws_request_id: str = "6f1b1d8e-2c4a-4d9b-a1f7-0e3c5b8d2a49"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_event(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text(encoding="utf-8"))
    return event
