"""The Integrations API conforms to its own OpenAPI document, checked by schemathesis over HTTP.

The API runs as deployed, on the local stack: API Gateway with the API-key authorizer and the gateway
responses of template.yaml in front of ManagementApiFunction. The document comes from the API itself
(``GET /api/openapi.json``). Every generated request carries a tenant's API key; schemathesis checks
each answer: a documented status code, a body matching its schema (the error envelope included), no
5xx, and that requests without the key are refused. The tenant has no integration, so most requests
end in the API's refusals, which must conform as much as its successes.

The store probe of ``configure`` would call a real storefront for a generated request naming a
shipped connector: only loopback connections are allowed while the tests run.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.errors import FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema

from mercator.state.api_keys import DynamoApiKeys
from mercator_local import LocalStack

TENANT = "conformance-tenant"
# Few examples per operation and mode: each is a real request through the gateway, the authorizer
# and the function; the file stays within a few minutes.
EXAMPLES_PER_OPERATION = 20

# The Integrations API's contract (shared/seeds/004), plus resuming a paused workflow.
SEED_OPERATIONS = {
    ("POST", "/api/integrations/provider/configure"),
    ("GET", "/api/integrations/provider/disable/{id}"),
    ("DELETE", "/api/integrations/providers/ecommerce/remove/{id}"),
    ("POST", "/api/integrations/save-vapid-subscription"),
    ("GET", "/api/workflows/triggers/{entityType}"),
    ("GET", "/api/workflows/{entityType}/configured"),
    ("POST", "/api/workflows/configure"),
    ("GET", "/api/workflows/configured/{guid}/toggle"),
    ("DELETE", "/api/workflows/configured/{guid}"),
    ("GET", "/api/workflows/resume-workflow"),
}

# A request the schema allows may still be refused with 400 CONFIGURATION_ERROR: the document says a
# 400 is also a request that "cannot be carried out" (credentials the store refuses, a push endpoint
# that is not https). Schemathesis's check that schema-valid data is accepted allows that here; any
# other status it does not expect still fails.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409"],
            }
        }
    }
)


@dataclass(frozen=True)
class Served:
    """The Integrations API on a running local stack, and a key of the tenant the requests act for."""

    url: str
    key: str = field(repr=False)
    stack: LocalStack = field(repr=False)

    def routed(self) -> set[tuple[str, str]]:
        """(method, path) of every route template.yaml gives the Integrations API."""
        return {
            (route.method, route.path)
            for spec in self.stack.functions.values()
            for route in spec.api_routes
            if route.rest_api == "IntegrationsApi"
        }


def _refuse_remote(original: Any) -> Any:
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            loopback = ipaddress.ip_address(name).is_loopback
        except ValueError:
            loopback = name == "localhost"
        if not loopback:
            raise OSError(f"the conformance tests stay on loopback; refused to resolve {name}")
        return original(host, *args, **kwargs)

    return getaddrinfo


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", _refuse_remote(socket.getaddrinfo))
        with LocalStack() as stack:
            keys = DynamoApiKeys(stack.client("dynamodb"), stack.table_name("StateTable"))
            key = keys.create(TENANT).key
            yield Served(url=stack.serve_api("IntegrationsApi"), key=key, stack=stack)


@pytest.fixture(scope="module")
def api_schema(served: Served) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{served.url}/api/openapi.json", config=CONFIG)


def _operations(schema: BaseSchema) -> list[APIOperation]:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the document lists no operation"
    return operations


def _failures(operation: APIOperation, mode: GenerationMode, served: Served) -> str | None:
    """What schemathesis found wrong with ``operation``'s answers to ``mode`` requests, if anything."""

    # derandomize: the same cases every run, so a failure here is a failure in CI too.
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Case) -> None:
        case.call_and_validate(base_url=served.url, headers={"Authorization": f"Bearer {served.key}"})

    try:
        check()
    except (FailureGroup, Exception) as failure:
        return f"{operation.method.upper()} {operation.path} ({mode.value}): {failure}"
    return None


# schemathesis's own pytest loader for a schema served by a fixture cannot run on this pytest (it
# renames test nodes through an attribute pytest no longer has), so each operation runs here, with
# the strategies and checks schemathesis gives.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_answer_conforms_to_the_document(
    api_schema: BaseSchema, served: Served, mode: GenerationMode
) -> None:
    failures = [
        found for operation in _operations(api_schema) if (found := _failures(operation, mode, served))
    ]

    assert not failures, "\n\n".join(failures)


def test_every_documented_operation_is_routed_by_the_template(served: Served) -> None:
    document = httpx.get(f"{served.url}/api/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }

    # A documented operation without a route would be API Gateway's 403 Missing Authentication Token.
    assert documented <= served.routed()
    # ...and every operation of the Integrations API's contract is documented.
    assert SEED_OPERATIONS.issubset(documented)


def test_a_path_parameter_the_functions_routes_cannot_match_is_not_found(served: Served) -> None:
    # API Gateway passes any character on; the function's resolver matches letters, digits and a
    # few symbols only. Found by schemathesis: this was a 500 INTERNAL_ERROR.
    response = httpx.get(
        f"{served.url}/api/integrations/provider/disable/%C2%A4",
        headers={"Authorization": f"Bearer {served.key}"},
    )

    assert (response.status_code, response.json()) == (
        404,
        {"success": False, "error": {"code": "NOT_FOUND", "message": "Not found"}},
    )


@pytest.mark.parametrize("path", ["/api/integrations/provider/configure", "/api/workflows/configure"])
def test_a_body_that_is_not_utf8_is_an_invalid_request(served: Served, path: str) -> None:
    # The local gateway passes such a body on base64-encoded. Found by schemathesis: this was a 500.
    response = httpx.post(
        f"{served.url}{path}",
        headers={"Authorization": f"Bearer {served.key}", "Content-Type": "application/json"},
        content=b"<\x98'\xff",
    )

    assert (response.status_code, response.json()) == (
        400,
        {
            "success": False,
            "error": {
                "code": "CONFIGURATION_ERROR",
                "message": "invalid request: the body is not valid JSON",
            },
        },
    )
