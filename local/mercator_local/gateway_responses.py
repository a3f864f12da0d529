"""API Gateway's gateway responses: what an API answers when the gateway itself refuses or fails a request.

An ``AWS::Serverless::Api`` customises them under ``Properties.GatewayResponses`` (``Globals.Api`` merged
in, as SAM does), by response type: ``StatusCode``, ``ResponseParameters.Headers`` (a static value in
single quotes, or ``method.request.header|path|querystring.<name>``) and ``ResponseTemplates`` by media
type. The rules are API Gateway's:

- a declared type answers with its own status code, headers and template; an undeclared one inherits
  ``DEFAULT_4XX`` or ``DEFAULT_5XX`` (by its default status), keeping its own status code unless that
  default declares one;
- a template is substituted, not run through VTL: ``$context.error.messageString`` is the message as a
  JSON string literal (quotes included), ``$context.error.message`` the bare text, and a few request
  variables (see :data:`TEMPLATE_VARIABLES`);
- a customisation without a template keeps the gateway's own body, ``{"message": ...}``.

Locally the template for ``application/json`` is used when declared, else the first one declared (its
media type becomes the Content-Type). Response types whose cause the local stack does not emulate
(throttling, API keys, request validation, WAF) are accepted and simply never occur.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from mercator_local.intrinsics import Resolver, TemplateError
from mercator_local.template import Template, merge_globals

JSON = "application/json"

RequestSource = Literal["header", "path", "querystring"]

# Every response type API Gateway lets an API customise, with the status it answers by default
# (None: the two defaults, which other types fall back on).
RESPONSE_TYPES: Mapping[str, int | None] = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
    "EXPIRED_TOKEN": 403,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "WAF_FILTERED": 403,
}

# What a response template may refer to here; API Gateway knows more, which fail loudly instead.
TEMPLATE_VARIABLES = (
    "context.error.message",
    "context.error.messageString",
    "context.error.responseType",
    "context.requestId",
    "context.extendedRequestId",
    "context.apiId",
    "context.stage",
    "context.httpMethod",
    "context.identity.sourceIp",
    "context.identity.userAgent",
)

_VARIABLE = re.compile(
    r"\$\{((?:context|stageVariables)(?:\.\w+)+)\}|\$((?:context|stageVariables)(?:\.\w+)+)"
)
_STATIC = re.compile(r"'(.*)'", re.DOTALL)
_REQUEST_PARAMETER = re.compile(r"method\.request\.(header|path|querystring)\.(\S+)")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class GatewayRefusal:
    """A request API Gateway answers itself instead of passing it on: the status, message (None: JSON
    null), x-amzn-ErrorType header and the response type that customises the answer (None: only
    DEFAULT_4XX or DEFAULT_5XX apply)."""

    status: int
    message: str | None
    error_type: str
    response_type: str | None = None

    @property
    def default_type(self) -> str:
        return "DEFAULT_5XX" if self.status >= 500 else "DEFAULT_4XX"


@dataclass(frozen=True)
class HeaderValue:
    """Where a response header's value comes from: ``static`` text, or the request's ``header``,
    ``path`` parameter or ``querystring`` parameter named ``value``."""

    source: Literal["static"] | RequestSource
    value: str

    @classmethod
    def parse(cls, mapping: str) -> HeaderValue | None:
        """The value a SAM mapping (``"'text'"`` or ``method.request.header.Name``) names, else None."""
        static = _STATIC.fullmatch(mapping)
        if static is not None:
            return cls("static", static.group(1))
        found = _REQUEST_PARAMETER.fullmatch(mapping)
        if found is None:
            return None
        return cls(cast(RequestSource, found.group(1)), found.group(2))

    def of(self, request: GatewayRequest) -> str | None:
        """The value for ``request``; None when the request lacks it (the header is then left out)."""
        if self.source == "static":
            return self.value
        if self.source == "path":
            return request.path_parameters.get(self.value)
        if self.source == "header":
            found = [item for name, item in request.headers if name.lower() == self.value.lower()]
        else:
            found = [item for name, item in request.query if name == self.value]
        return found[-1] if found else None


@dataclass(frozen=True)
class GatewayResponse:
    """One declared customisation: status (None: the type's own), headers, templates by media type."""

    status: int | None = None
    headers: tuple[tuple[str, HeaderValue], ...] = ()
    templates: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GatewayResponses:
    """An API's customisations by response type (none declared: API Gateway's own answers)."""

    by_type: tuple[tuple[str, GatewayResponse], ...] = ()

    def get(self, response_type: str | None) -> GatewayResponse | None:
        return next((found for name, found in self.by_type if name == response_type), None)


@dataclass(frozen=True)
class GatewayRequest:
    """What a gateway response may take from the request it answers."""

    request_id: str
    api_id: str
    stage: str
    method: str
    headers: Sequence[tuple[str, str]] = ()
    query: Sequence[tuple[str, str]] = ()
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def gateway_answer(
    error: GatewayRefusal, responses: GatewayResponses, request: GatewayRequest
) -> GatewayAnswer:
    """The HTTP answer to ``error`` on an API with ``responses`` declared."""
    default = responses.get(error.default_type)
    own = responses.get(error.response_type)
    customisation = own if own is not None else default
    status = error.status
    if own is not None and own.status is not None:
        status = own.status
    elif own is None and default is not None and default.status is not None:
        status = default.status
    response_type = error.response_type or error.default_type
    content_type, body = JSON, json.dumps({"message": error.message})
    if customisation is not None and customisation.templates:
        templates = dict(customisation.templates)
        content_type = JSON if JSON in templates else customisation.templates[0][0]
        body = _substitute(templates[content_type], _variables(error, response_type, request))
    headers: list[tuple[str, str]] = [
        ("Content-Type", content_type),
        ("x-amzn-RequestId", request.request_id),
        ("x-amzn-ErrorType", error.error_type),
    ]
    for name, source in customisation.headers if customisation is not None else ():
        value = source.of(request)
        if value is not None:
            headers = [(known, item) for known, item in headers if known.lower() != name.lower()]
            headers.append((name, value))
    return GatewayAnswer(status=status, headers=tuple(headers), body=body.encode("utf-8"))


def _variables(error: GatewayRefusal, response_type: str, request: GatewayRequest) -> dict[str, str]:
    user_agent = next((value for name, value in request.headers if name.lower() == "user-agent"), "")
    return {
        "context.error.message": error.message or "",
        "context.error.messageString": json.dumps(error.message),
        "context.error.responseType": response_type,
        "context.requestId": request.request_id,
        "context.extendedRequestId": request.request_id,
        "context.apiId": request.api_id,
        "context.stage": request.stage,
        "context.httpMethod": request.method,
        "context.identity.sourceIp": request.source_ip,
        "context.identity.userAgent": user_agent,
    }


def _substitute(template: str, variables: Mapping[str, str]) -> str:
    # Names were checked when the template was read, so every one is known here.
    return _VARIABLE.sub(lambda match: variables[match.group(1) or match.group(2)], template)


# --- reading the template -----------------------------------------------------------------------------


def api_gateway_responses(template: Template, resolver: Resolver, api: str | None) -> GatewayResponses:
    """The customisations of ``api`` (logical id; None: SAM's implicit API, which has Globals.Api's)."""
    globals_section = template.body.get("Globals") or {}
    global_api = (globals_section.get("Api") if isinstance(globals_section, Mapping) else None) or {}
    if api is None:
        properties, path = global_api, "Globals.Api.GatewayResponses"
    else:
        own = template.resources[api].get("Properties") or {}
        properties, path = merge_globals(global_api, own), f"Resources.{api}.Properties.GatewayResponses"
    declared = properties.get("GatewayResponses") if isinstance(properties, Mapping) else None
    if declared is None:
        return GatewayResponses()
    declared = resolver.resolve(declared, path)
    if not isinstance(declared, Mapping):
        raise TemplateError(f"{path}: must be a mapping of response types to responses")
    return GatewayResponses(
        by_type=tuple((str(name), _response(name, item, f"{path}.{name}")) for name, item in declared.items())
    )


def _response(name: Any, declaration: Any, path: str) -> GatewayResponse:
    if name not in RESPONSE_TYPES:
        raise TemplateError(f"{path}: {name!r} is not a gateway response type ({', '.join(RESPONSE_TYPES)})")
    if not isinstance(declaration, Mapping):
        raise TemplateError(f"{path}: must be a mapping")
    unknown = sorted(set(declaration) - {"StatusCode", "ResponseParameters", "ResponseTemplates"})
    if unknown:
        raise TemplateError(
            f"{path}: the local stack does not know {', '.join(unknown)} "
            "(known: ResponseParameters, ResponseTemplates, StatusCode)"
        )
    return GatewayResponse(
        status=_status(declaration.get("StatusCode"), f"{path}.StatusCode"),
        headers=_headers(declaration.get("ResponseParameters"), f"{path}.ResponseParameters"),
        templates=_templates(declaration.get("ResponseTemplates"), f"{path}.ResponseTemplates"),
    )


def _status(value: Any, path: str) -> int | None:
    if value is None:
        return None
    text = str(value)
    if isinstance(value, bool) or not re.fullmatch(r"[1-5]\d\d", text):
        raise TemplateError(f"{path}: must be an HTTP status code from 100 to 599, got {value!r}")
    return int(text)


def _headers(value: Any, path: str) -> tuple[tuple[str, HeaderValue], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise TemplateError(f"{path}: must be a mapping")
    unknown = sorted(set(value) - {"Headers"})
    if unknown:
        raise TemplateError(
            f"{path}: {', '.join(unknown)} are not emulated by the local stack (Headers is): an HTTP "
            "answer has no path or query string to set"
        )
    headers = value.get("Headers") or {}
    if not isinstance(headers, Mapping):
        raise TemplateError(f"{path}.Headers: must be a mapping of header names to values")
    mapped: list[tuple[str, HeaderValue]] = []
    for name, mapping in headers.items():
        where = f"{path}.Headers.{name}"
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise TemplateError(f"{where}: {name!r} is not a header name")
        source = HeaderValue.parse(mapping) if isinstance(mapping, str) else None
        if source is None:
            raise TemplateError(
                f"{where}: must be a static value in single quotes (\"'value'\") or "
                f"method.request.header|path|querystring.<name>, got {mapping!r}"
            )
        mapped.append((name, source))
    return tuple(mapped)


def _templates(value: Any, path: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise TemplateError(f"{path}: must be a mapping of media types to templates")
    templates: list[tuple[str, str]] = []
    for media, text in value.items():
        where = f"{path}.{media}"
        if not isinstance(text, str):
            raise TemplateError(f"{where}: a template is a string, got {text!r}")
        for match in _VARIABLE.finditer(text):
            name = match.group(1) or match.group(2)
            if name not in TEMPLATE_VARIABLES:
                raise TemplateError(
                    f"{where}: ${name} is not substituted by the local stack "
                    f"(variables: {', '.join('$' + known for known in TEMPLATE_VARIABLES)})"
                )
        templates.append((str(media), text))
    return tuple(templates)
