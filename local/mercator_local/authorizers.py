"""API Gateway's Lambda authorizers on the local stack: ask the function, apply its policy, cache it.

For a guarded route, as API Gateway REST does: a request missing an identity source (or whose token
fails the ValidationExpression) is refused with 401 and nothing runs; otherwise the authorizer
function gets the TOKEN or REQUEST event. Its raising ``Unauthorized`` is a 401; any other error, or
an answer that is not a principal and a policy (context values must be strings, numbers or
booleans), a 500 ``AuthorizerConfigurationException``. The policy is then checked against the
request's method ARN: an explicit Deny, or no Allow covering it, is a 403. Allowed, the route's event
carries the principal and the context, values as strings, in ``requestContext.authorizer``.

The answer is cached per authorizer and identity values for ``ReauthorizeEvery`` seconds, so a
policy allowing the whole stage serves the caller's other routes without asking again, while a
policy naming one method refuses the others until it expires. Policy ``Condition`` blocks are not
evaluated.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mercator_local.api_auth import LambdaAuthorizer
from mercator_local.gateway_responses import GatewayRefusal
from mercator_local.intrinsics import ACCOUNT_ID

UNAUTHORIZED_MESSAGE = "Unauthorized"  # what an authorizer raises to have API Gateway answer 401

logger = logging.getLogger(__name__)

_REQUEST_KEYS = (
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
)
_INVOKE_ACTION = "execute-api:Invoke"


class Refusal(GatewayRefusal):
    """API Gateway's own answer when an authorizer does not let a request through."""


UNAUTHORIZED = Refusal(401, "Unauthorized", "UnauthorizedException", "UNAUTHORIZED")
ACCESS_DENIED = Refusal(
    403, "User is not authorized to access this resource", "AccessDeniedException", "ACCESS_DENIED"
)
# API Gateway hides what went wrong from the caller: the message is null.
MISCONFIGURED = Refusal(500, None, "AuthorizerConfigurationException", "AUTHORIZER_CONFIGURATION_ERROR")


class MalformedAuthorizerResponseError(ValueError):
    """An authorizer's answer API Gateway cannot use (it answers 500)."""


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def covers(self, method_arn: str) -> bool:
        return any(_wildcard(action, _INVOKE_ACTION, ignore_case=True) for action in self.actions) and any(
            _wildcard(resource, method_arn) for resource in self.resources
        )


@dataclass(frozen=True)
class Grant:
    """An authorizer's answer for one identity: who the caller is and what the policy lets them call."""

    principal_id: str
    statements: tuple[Statement, ...]
    context: Mapping[str, str]

    def allows(self, method_arn: str) -> bool:
        """IAM's rule: an explicit Deny wins, otherwise some Allow must cover the method."""
        covering = [statement.effect for statement in self.statements if statement.covers(method_arn)]
        return "Deny" not in covering and "Allow" in covering

    def request_context(self) -> dict[str, str]:
        """What the route's event gets as ``requestContext.authorizer``."""
        return {"principalId": self.principal_id, **self.context}


def grant_of(result: Any) -> Grant:
    """The grant an authorizer's result expresses; MalformedAuthorizerResponseError says what is wrong."""
    if not isinstance(result, Mapping):
        raise MalformedAuthorizerResponseError(f"the result is {type(result).__name__}, not an object")
    principal = result.get("principalId")
    if not isinstance(principal, str | int) or isinstance(principal, bool) or principal == "":
        raise MalformedAuthorizerResponseError(f"principalId {principal!r} is not an identifier")
    document = result.get("policyDocument")
    if not isinstance(document, Mapping):
        raise MalformedAuthorizerResponseError("policyDocument is missing or not an object")
    raw_statements = document.get("Statement")
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedAuthorizerResponseError("policyDocument.Statement holds no statements")
    statements = tuple(_statement(item, index) for index, item in enumerate(raw_statements))
    return Grant(principal_id=str(principal), statements=statements, context=_context(result.get("context")))


def _statement(item: Any, index: int) -> Statement:
    where = f"policyDocument.Statement[{index}]"
    if not isinstance(item, Mapping):
        raise MalformedAuthorizerResponseError(f"{where} is not an object")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedAuthorizerResponseError(f"{where}.Effect {effect!r} is neither Allow nor Deny")
    return Statement(
        effect=str(effect),
        actions=_strings(item.get("Action"), f"{where}.Action"),
        resources=_strings(item.get("Resource"), f"{where}.Resource"),
    )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
        raise MalformedAuthorizerResponseError(f"{where} is not a string or a list of strings")
    return tuple(items)


def _context(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedAuthorizerResponseError("context is not an object")
    context: dict[str, str] = {}
    for key, item in value.items():
        # API Gateway passes scalars on as strings and refuses nested values.
        if isinstance(item, bool):
            context[str(key)] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            context[str(key)] = str(item)
        elif item is not None:
            raise MalformedAuthorizerResponseError(
                f"context.{key} is {type(item).__name__}; values must be strings, numbers or booleans"
            )
    return context


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's matching: ``*`` any run of characters (slashes included), ``?`` any one character."""
    expression = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(expression, value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def method_arn(event: Mapping[str, Any], *, region: str) -> str:
    """The ARN of the method a proxy event calls: ``arn:aws:execute-api:<region>:<account>:<api>/<stage>/
    <METHOD>/<path>``, with the request's own path (path parameters filled in)."""
    context = event["requestContext"]
    return (
        f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{context['apiId']}/{context['stage']}/"
        f"{event['httpMethod']}/{str(event['path']).lstrip('/')}"
    )


def identity_values(authorizer: LambdaAuthorizer, event: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The values of the authorizer's identity sources in a proxy event; None when one is missing or
    empty (API Gateway then answers 401 without calling the authorizer)."""
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    query = event.get("queryStringParameters") or {}
    values = [headers.get(name.lower()) for name in authorizer.headers]
    values += [query.get(name) for name in authorizer.query_strings]
    if any(not isinstance(value, str) or not value.strip() for value in values):
        return None
    return tuple(str(value) for value in values)


def authorizer_event(
    authorizer: LambdaAuthorizer, event: Mapping[str, Any], identity: tuple[str, ...], arn: str
) -> dict[str, Any]:
    """The event API Gateway sends the authorizer function for a request (proxy event ``event``)."""
    if authorizer.payload_type == "TOKEN":
        return {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": arn}
    # A copy: whatever the authorizer does to its event must not reach the route's.
    request = {key: copy.deepcopy(event.get(key)) for key in _REQUEST_KEYS}
    return {"type": "REQUEST", "methodArn": arn, **request}


class GrantCache:
    """Answers by (API, authorizer, identity values) until they expire, on an injected clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._grants: dict[tuple[str, str, tuple[str, ...]], tuple[float, Grant]] = {}

    def get(self, key: tuple[str, str, tuple[str, ...]]) -> Grant | None:
        found = self._grants.get(key)
        if found is None:
            return None
        expires, grant = found
        if self._clock() >= expires:
            del self._grants[key]
            return None
        return grant

    def put(self, key: tuple[str, str, tuple[str, ...]], grant: Grant, seconds: int) -> None:
        if seconds > 0:
            self._grants[key] = (self._clock() + seconds, grant)


Invoke = Callable[[str, dict[str, Any]], Awaitable[Any]]


class AuthorizerGate:
    """Decides whether a request reaches its route: ``invoke`` runs a function (logical id) on an event."""

    def __init__(self, invoke: Invoke, *, region: str, clock: Callable[[], float]) -> None:
        self._invoke = invoke
        self._region = region
        self._cache = GrantCache(clock)

    async def authorize(
        self, authorizer: LambdaAuthorizer, event: Mapping[str, Any]
    ) -> dict[str, str] | Refusal:
        """The route event's ``requestContext.authorizer`` when the request may pass, else the refusal."""
        identity = identity_values(authorizer, event)
        if identity is None:
            return UNAUTHORIZED
        expression = authorizer.validation_expression
        if expression is not None and re.fullmatch(expression, identity[0]) is None:
            return UNAUTHORIZED
        arn = method_arn(event, region=self._region)
        key = (str(event["requestContext"]["apiId"]), authorizer.name, identity)
        grant = self._cache.get(key)
        if grant is None:
            try:
                result = await self._invoke(
                    authorizer.function, authorizer_event(authorizer, event, identity, arn)
                )
            except Exception as exc:
                if str(exc) == UNAUTHORIZED_MESSAGE:
                    return UNAUTHORIZED
                logger.exception("authorizer %s (%s) raised", authorizer.name, authorizer.function)
                return MISCONFIGURED
            try:
                grant = grant_of(result)
            except MalformedAuthorizerResponseError as exc:
                logger.error(
                    "authorizer %s (%s) answered wrongly: %s", authorizer.name, authorizer.function, exc
                )
                return MISCONFIGURED
            self._cache.put(key, grant, authorizer.reauthorize_seconds)
        return grant.request_context() if grant.allows(arn) else ACCESS_DENIED
