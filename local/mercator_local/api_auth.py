"""Which Lambda authorizer guards an Api event, read from a SAM template the way SAM reads it.

An ``AWS::Serverless::Api`` declares its authorizers under ``Properties.Auth.Authorizers`` and may
name one ``DefaultAuthorizer`` for all its routes; SAM's implicit API takes its ``Auth`` from
``Globals.Api``, which also merges into every explicit API. An Api event overrides the default with
``Auth: {Authorizer: <name>}`` or opts out with ``Auth: {Authorizer: NONE}``.

Lambda authorizers of both payload types are read: ``REQUEST`` (identity from headers and query
strings) and ``TOKEN`` (SAM's default: one header, optionally checked by ``ValidationExpression``).
Cognito authorizers, ``AWS_IAM`` and identities from stage or context variables cannot be checked
locally: they are template errors rather than routes left open.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mercator_local.intrinsics import Resolver, TemplateError
from mercator_local.template import FUNCTION, Template, merge_globals

DEFAULT_REAUTHORIZE_SECONDS = 300  # SAM's default for ReauthorizeEvery
MAX_REAUTHORIZE_SECONDS = 3600  # API Gateway's limit on the authorizer cache TTL
TOKEN_HEADER = "Authorization"  # SAM's default identity header of a TOKEN authorizer
NO_AUTHORIZER = "NONE"

PayloadType = Literal["TOKEN", "REQUEST"]


@dataclass(frozen=True)
class LambdaAuthorizer:
    """A Lambda authorizer of an API: the function (logical id) API Gateway asks, with what, how often.

    ``headers`` and ``query_strings`` are the identity sources: a request lacking one is refused with
    401 before the function runs, and their values key the cache (``reauthorize_seconds``, 0: none).
    A TOKEN authorizer has one header, whose value is the token.
    """

    name: str
    function: str
    payload_type: PayloadType
    headers: tuple[str, ...] = ()
    query_strings: tuple[str, ...] = ()
    reauthorize_seconds: int = DEFAULT_REAUTHORIZE_SECONDS
    validation_expression: str | None = None


def route_authorizer(
    template: Template, resolver: Resolver, *, api: str | None, route_auth: Any, path: str
) -> LambdaAuthorizer | None:
    """The authorizer guarding an Api event at ``path`` on ``api`` (logical id; None: SAM's implicit API).

    ``route_auth`` is the event's resolved ``Auth`` property; None when the route is open.
    """
    auth, auth_path = _api_auth(template, api)
    if isinstance(route_auth, Mapping) and "Authorizer" in route_auth:
        chosen, where = route_auth["Authorizer"], f"{path}.Properties.Auth.Authorizer"
    else:
        chosen, where = auth.get("DefaultAuthorizer"), f"{auth_path}.DefaultAuthorizer"
    if chosen is None or chosen == NO_AUTHORIZER:
        return None
    if chosen == "AWS_IAM":
        raise TemplateError(f"{where}: AWS_IAM authorization is not emulated by the local stack")
    declared = auth.get("Authorizers") or {}
    if not isinstance(declared, Mapping):
        raise TemplateError(f"{auth_path}.Authorizers: must be a mapping of names to authorizers")
    if not isinstance(chosen, str) or chosen not in declared:
        known = ", ".join(declared) or "none"
        raise TemplateError(
            f"{where}: no authorizer {chosen!r} in {auth_path}.Authorizers (authorizers: {known})"
        )
    return _lambda_authorizer(
        template, resolver, chosen, declared[chosen], f"{auth_path}.Authorizers.{chosen}"
    )


def _api_auth(template: Template, api: str | None) -> tuple[Mapping[str, Any], str]:
    """The API's ``Auth`` with ``Globals.Api`` merged in, and where to say it is in errors."""
    globals_section = template.body.get("Globals") or {}
    global_api = (globals_section.get("Api") if isinstance(globals_section, Mapping) else None) or {}
    if api is None:
        properties, path = global_api, "Globals.Api.Auth"
    else:
        own = template.resources[api].get("Properties") or {}
        properties, path = merge_globals(global_api, own), f"Resources.{api}.Properties.Auth"
    auth = properties.get("Auth") if isinstance(properties, Mapping) else None
    if auth is None:
        return {}, path
    if not isinstance(auth, Mapping):
        raise TemplateError(f"{path}: must be a mapping")
    return auth, path


def _lambda_authorizer(
    template: Template, resolver: Resolver, name: str, declaration: Any, path: str
) -> LambdaAuthorizer:
    if not isinstance(declaration, Mapping):
        raise TemplateError(f"{path}: must be a mapping")
    if "UserPoolArn" in declaration:
        raise TemplateError(f"{path}: Cognito user pool authorizers are not emulated by the local stack")
    # The function is one of the template's own, named by !GetAtt, which the resolver cannot resolve
    # (functions are not created as resources): it is read as a reference.
    function = _function_reference(template, declaration.get("FunctionArn"), f"{path}.FunctionArn")
    rest = resolver.resolve({k: v for k, v in declaration.items() if k != "FunctionArn"}, path)
    payload_type = rest.get("FunctionPayloadType", "TOKEN")
    if payload_type not in ("TOKEN", "REQUEST"):
        raise TemplateError(f"{path}.FunctionPayloadType: {payload_type!r} is not one of REQUEST, TOKEN")
    identity = rest.get("Identity") or {}
    if not isinstance(identity, Mapping):
        raise TemplateError(f"{path}.Identity: must be a mapping")
    seconds = _reauthorize_seconds(identity.get("ReauthorizeEvery"), f"{path}.Identity.ReauthorizeEvery")
    if payload_type == "TOKEN":
        header = identity.get("Header", TOKEN_HEADER)
        if not isinstance(header, str) or not header:
            raise TemplateError(f"{path}.Identity.Header: must name a header, got {header!r}")
        expression = identity.get("ValidationExpression")
        if expression is not None:
            _check_expression(expression, f"{path}.Identity.ValidationExpression")
        return LambdaAuthorizer(
            name=name,
            function=function,
            payload_type="TOKEN",
            headers=(header,),
            reauthorize_seconds=seconds,
            validation_expression=expression,
        )
    for unsupported in ("StageVariables", "Context"):
        if identity.get(unsupported):
            raise TemplateError(
                f"{path}.Identity.{unsupported}: identity from {unsupported} is not emulated by the local "
                "stack (Headers and QueryStrings are)"
            )
    headers = _names(identity.get("Headers", []), f"{path}.Identity.Headers")
    query_strings = _names(identity.get("QueryStrings", []), f"{path}.Identity.QueryStrings")
    if seconds and not (headers or query_strings):
        raise TemplateError(
            f"{path}.Identity: a REQUEST authorizer whose results are cached (ReauthorizeEvery "
            f"{seconds}) needs Headers or QueryStrings to key its cache"
        )
    return LambdaAuthorizer(
        name=name,
        function=function,
        payload_type="REQUEST",
        headers=headers,
        query_strings=query_strings,
        reauthorize_seconds=seconds,
    )


def _function_reference(template: Template, reference: Any, path: str) -> str:
    argument = reference.get("Fn::GetAtt") if isinstance(reference, Mapping) and len(reference) == 1 else None
    parts = argument.split(".", 1) if isinstance(argument, str) else argument
    functions = template.of_type(FUNCTION)
    if isinstance(parts, list) and len(parts) == 2 and parts[1] == "Arn" and parts[0] in functions:
        return str(parts[0])
    raise TemplateError(
        f"{path}: must be !GetAtt <function>.Arn of a function of this template, which the local stack "
        f"runs (functions: {', '.join(functions) or 'none'}), got {reference!r}"
    )


def _reauthorize_seconds(value: Any, path: str) -> int:
    if value is None:
        return DEFAULT_REAUTHORIZE_SECONDS
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = -1
    if isinstance(value, bool) or not 0 <= seconds <= MAX_REAUTHORIZE_SECONDS:
        raise TemplateError(
            f"{path}: must be whole seconds from 0 to {MAX_REAUTHORIZE_SECONDS}, got {value!r}"
        )
    return seconds


def _names(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise TemplateError(f"{path}: must be a list of names, got {value!r}")
    return tuple(value)


def _check_expression(expression: Any, path: str) -> None:
    if not isinstance(expression, str):
        raise TemplateError(f"{path}: must be a regular expression, got {expression!r}")
    try:
        re.compile(expression)
    except re.error as exc:
        raise TemplateError(f"{path}: not a regular expression ({exc})") from None
