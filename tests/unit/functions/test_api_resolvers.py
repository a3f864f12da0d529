"""The Integrations API and OAuth answer through one resolver: the same exception, the same answer.

Both handlers are loaded as Lambda loads them, each with a service that raises what the test gives
it; the Integrations API's list route and OAuth's install route then meet the same exception.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from mercator.domain.oauth_installs import TokenEndpointError
from mercator.services.management import ConfigurationError, ConflictError, NotFoundError
from mercator.services.oauth import InstallSessionError, UnknownConnectorError
from mercator.services.oauth_state import StateRejectedError
from mercator.services.registration import IntegrationConflictError
from mercator_local.api_events import CALLS, api_event
from tests.unit.functions.conftest import LambdaContext, Loader, load_event

MANAGEMENT_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "RECORDS_TABLE": "mercator-dev-RecordsTable",
    "EVENT_BUS_NAME": "mercator-dev",
    "SENDER_EMAIL": "notifications@example.com",
    "PUSH_JOBS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/mercator-dev-PushJobsQueue",
}
OAUTH_ENV = {
    "STATE_TABLE": "mercator-dev-StateTable",
    "OAUTH_STATE_KEY_SECRET": "mercator/oauth-state/key",
    "OAUTH_BASE_URL": "https://75324b2de6.execute-api.eu-central-1.amazonaws.com/dev",
}
LIST_INTEGRATIONS = next(call for call in CALLS if call.name == "list_integrations")


class Refusing:
    """A service whose every call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return refuse


@pytest.fixture
def handlers(load_app: Loader) -> Callable[[Exception], dict[str, ModuleType]]:
    def load(error: Exception) -> dict[str, ModuleType]:
        loaded = {
            "management": load_app("management_api", MANAGEMENT_ENV),
            "oauth": load_app("oauth", OAUTH_ENV),
        }
        for module in loaded.values():
            module.build_services = lambda settings: Refusing(error)
        return loaded

    return load


def answer(module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = module.lambda_handler(event, LambdaContext())
    return response


def routed(module_name: str) -> dict[str, Any]:
    """An event for a route of the function that calls its service."""
    if module_name == "management":
        return api_event(LIST_INTEGRATIONS)
    return load_event("oauth/install.json")


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFoundError("Integration not found: 'i-1'"), 404, "NOT_FOUND"),
        (UnknownConnectorError("no connector 'magento'"), 404, "NOT_FOUND"),
        (ConfigurationError("settings.baseUrl: not a URL"), 400, "CONFIGURATION_ERROR"),
        (StateRejectedError("the state expired"), 400, "CONFIGURATION_ERROR"),
        (
            TokenEndpointError("the token endpoint refused the code", status=400, error="invalid_grant"),
            400,
            "CONFIGURATION_ERROR",
        ),
        (InstallSessionError("the install was started in another browser"), 403, "FORBIDDEN"),
        (ConflictError("Integration already configured"), 409, "CONFLICT"),
        (IntegrationConflictError("tenant-a", "salla", "i-1", "active"), 409, "CONFLICT"),
        (RuntimeError("the table is gone"), 500, "INTERNAL_ERROR"),
    ],
)
def test_both_functions_answer_the_same_envelope_for_the_same_exception(
    handlers: Callable[[Exception], dict[str, ModuleType]], error: Exception, status: int, code: str
) -> None:
    loaded = handlers(error)

    management, oauth = (answer(module, routed(name)) for name, module in loaded.items())

    assert management == oauth
    assert management["statusCode"] == status
    message = "the request could not be completed" if status == 500 else str(error)
    assert json.loads(management["body"]) == {"success": False, "error": {"code": code, "message": message}}
    assert management["multiValueHeaders"]["Cache-Control"] == ["no-store"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("POST", "/oauth/salla/install")])
def test_a_route_neither_function_has_answers_the_not_found_envelope(
    handlers: Callable[[Exception], dict[str, ModuleType]], method: str, path: str
) -> None:
    loaded = handlers(RuntimeError("no route may call the service"))
    event = copy.deepcopy(api_event(LIST_INTEGRATIONS))
    event.update(httpMethod=method, path=path, resource="/{proxy+}", pathParameters={"proxy": path[1:]})

    answers = [answer(module, event) for module in loaded.values()]

    for response in answers:
        assert response["statusCode"] == 404
        assert json.loads(response["body"]) == {
            "success": False,
            "error": {"code": "NOT_FOUND", "message": "Not found"},
        }
    assert answers[0] == answers[1]


def test_without_the_authorizers_tenant_both_refuse_401_each_in_its_own_words(
    handlers: Callable[[Exception], dict[str, ModuleType]],
) -> None:
    loaded = handlers(RuntimeError("nothing may run without a tenant"))
    events = {name: routed(name) for name in loaded}
    for event in events.values():
        del event["requestContext"]["authorizer"]

    bodies = {name: json.loads(answer(module, events[name])["body"]) for name, module in loaded.items()}

    assert bodies == {
        "management": {
            "success": False,
            "error": {"code": "UNAUTHORIZED", "message": "the request carries no tenant"},
        },
        "oauth": {
            "success": False,
            "error": {"code": "UNAUTHORIZED", "message": "the request carries no authorized tenant"},
        },
    }
