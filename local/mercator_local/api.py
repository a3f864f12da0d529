"""API Gateway REST in front of the local stack's functions: their ``Type: Api`` events served over HTTP.

Each request becomes the Lambda proxy (payload 1.0) event API Gateway builds, the function's handler
runs in a worker thread, and its proxy result becomes the HTTP response. What API Gateway answers
itself is answered the same way: 403 ``Missing Authentication Token`` for a path or method no route
serves, 413 for bodies over its 10 MB limit (the function is not invoked), 502 ``Internal server
error`` when the handler raises or returns something that is not a proxy result.

Request bodies of textual types (JSON, form data, ``text/*``, XML) that are valid UTF-8 arrive as text,
any other body base64-encoded with ``isBase64Encoded`` true, so a handler checking a webhook signature
sees the exact bytes. A route a Lambda authorizer guards is served only past it, with its answers
cached, as API Gateway does (see :mod:`mercator_local.authorizers`). The gateway's own answers follow
the API's GatewayResponses (see :mod:`mercator_local.gateway_responses`). API keys, CORS, request
validation, binary media type settings and API Gateway's 29-second integration timeout are not
emulated.

Invocations run one at a time in the whole process, not only per function: a running handler has the
process's environment, ``sys.path`` and layer modules set to its own (see :mod:`mercator_local.handlers`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio.to_thread
import h11
import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from mercator_local.authorizers import AuthorizerGate, Refusal
from mercator_local.functions import ApiRoute, FunctionSpec
from mercator_local.gateway_responses import (
    GatewayRefusal,
    GatewayRequest,
    GatewayResponses,
    gateway_answer,
)
from mercator_local.handlers import WarmFunction
from mercator_local.intrinsics import ACCOUNT_ID, TemplateError

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload quota, which cannot be raised

logger = logging.getLogger(__name__)

_RAW_HEADER_NAMES = "mercator_local.raw_header_names"
_TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "application/xml", "text/xml")
_TEXT_SUFFIXES = ("+json", "+xml")
_PROXY_RESULT_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
# Headers API Gateway owns in its own response: a handler's are passed on under another name.
_REMAPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "content-length", "date", "server", "transfer-encoding"}
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- routes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One method on one resource of an API, and the function (logical id) behind it."""

    function: str
    api: ApiRoute
    api_id: str

    @property
    def resource_id(self) -> str:
        return hashlib.sha256(f"{self.api_id}{self.api.path}".encode()).hexdigest()[:6]

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The path parameters when the request's decoded path ``segments`` fit this resource, else None."""
        pattern = self.api.segments
        parameters: dict[str, str] = {}
        for index, part in enumerate(pattern):
            if part.greedy:
                rest = segments[index:]
                if not rest:
                    return None
                parameters[str(part.parameter)] = "/".join(rest)
                return parameters
            if index >= len(segments):
                return None
            if part.parameter is not None:
                if not segments[index]:
                    return None
                parameters[part.parameter] = segments[index]
            elif part.text != segments[index]:
                return None
        return parameters if len(segments) == len(pattern) else None

    @property
    def shape(self) -> tuple[str, ...]:
        """The path with parameter names left out: two resources of one shape would be the same one."""
        return tuple(
            "{+}" if part.greedy else "{}" if part.parameter else part.text for part in self.api.segments
        )

    @property
    def specificity(self) -> tuple[int, ...]:
        """Lower is more specific: a literal part wins over ``{param}``, which wins over ``{proxy+}``."""
        return tuple(2 if part.greedy else 1 if part.parameter else 0 for part in self.api.segments)


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: Mapping[str, str]


class RouteTable:
    """Every route of the served APIs; two routes on the same path and method are a template error."""

    def __init__(self, routes: Sequence[Route]) -> None:
        paths: dict[tuple[str, ...], Route] = {}
        methods: dict[tuple[tuple[str, ...], str], Route] = {}
        for route in routes:
            other = paths.setdefault(route.shape, route)
            if other.api.path != route.api.path:
                raise TemplateError(
                    f"{route.api.path} ({route.function}, event {route.api.name}) and {other.api.path} "
                    f"({other.function}, event {other.api.name}) are one resource with two parameter names"
                )
            other = methods.setdefault((route.shape, route.api.method), route)
            if other is not route:
                raise TemplateError(
                    f"{route.api.method} {route.api.path} is served by both {other.function} "
                    f"(event {other.api.name}) and {route.function} (event {route.api.name})"
                )
        self.routes = tuple(routes)

    @classmethod
    def of(
        cls, functions: Mapping[str, FunctionSpec], *, stack_name: str, api: str | None = None
    ) -> RouteTable:
        """The routes of ``functions`` (by logical id) on API ``api`` (logical id), or on every API."""
        routes = [
            Route(function=logical_id, api=route, api_id=api_id(stack_name, route.rest_api))
            for logical_id, spec in functions.items()
            for route in spec.api_routes
        ]
        if api is None:
            return cls(routes)
        chosen = [route for route in routes if route.api.rest_api == api]
        if not chosen:
            known = ", ".join(dict.fromkeys(route.api.rest_api for route in routes)) or "none"
            raise KeyError(f"no function has Api events on {api!r} (APIs with routes: {known})")
        return cls(chosen)

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The route serving ``method`` on ``raw_path`` (percent-encoded, without the query), if any.

        The resource is chosen by path first; a resource without that method is no match, as on AWS.
        """
        segments = _path_segments(raw_path)
        fitting = [(route, found) for route in self.routes if (found := route.match(segments)) is not None]
        if not fitting:
            return None
        best = min(route.specificity for route, _ in fitting)
        on_resource = [(route, found) for route, found in fitting if route.specificity == best]
        for wanted in (method.upper(), "ANY"):
            for route, found in on_resource:
                if route.api.method == wanted:
                    return RouteMatch(route=route, path_parameters=found)
        return None


def api_id(stack_name: str, rest_api: str) -> str:
    """A stable ten-character id for an API of a stack, shaped like API Gateway's."""
    return hashlib.sha256(f"{stack_name}/{rest_api}".encode()).hexdigest()[:10]


def _path_segments(raw_path: str) -> list[str]:
    # Split before decoding so an encoded slash (%2F) stays inside its parameter; one trailing slash
    # names the same resource.
    trimmed = raw_path[1:] if raw_path.startswith("/") else raw_path
    if trimmed.endswith("/"):
        trimmed = trimmed[:-1]
    return [unquote(part) for part in trimmed.split("/")] if trimmed else []


# --- the proxy event ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """A request as it arrived: ``raw_path`` and ``query_string`` still percent-encoded, header names as
    the client spelled them."""

    method: str
    raw_path: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    port: int
    protocol: str = "HTTP/1.1"
    scheme: str = "http"


def proxy_event(
    request: HttpRequest, match: RouteMatch, *, region: str, request_id: str, now: datetime
) -> dict[str, Any]:
    """The event API Gateway REST hands a Lambda proxy integration for ``request``."""
    route = match.route
    headers = _forwarded(request)
    single_headers = dict(headers)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    query = parse_qsl(request.query_string, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _event_body(request.body, single_headers)
    path = unquote(request.raw_path)
    moment = now.astimezone(UTC)
    return {
        "resource": route.api.path,
        "path": path,
        "httpMethod": request.method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(match.path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": route.api_id,
            "domainName": f"{route.api_id}.execute-api.{region}.amazonaws.com",
            "domainPrefix": route.api_id,
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": _identity(request.source_ip, _header(headers, "user-agent")),
            "path": f"/{route.api.stage}{path}",
            "protocol": request.protocol,
            "requestId": request_id,
            "requestTime": _request_time(moment),
            "requestTimeEpoch": int(moment.timestamp() * 1000),
            "resourceId": route.resource_id,
            "resourcePath": route.api.path,
            "stage": route.api.stage,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _forwarded(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's headers with those API Gateway adds for the function: where the request came from."""
    headers = [(name, value) for name, value in request.headers if name.lower() != "x-forwarded-for"]
    chain = _header(request.headers, "x-forwarded-for")
    headers.append(("X-Forwarded-For", f"{chain}, {request.source_ip}" if chain else request.source_ip))
    headers.append(("X-Forwarded-Port", str(request.port)))
    headers.append(("X-Forwarded-Proto", request.scheme))
    return headers


def _header(headers: Sequence[tuple[str, str]], wanted: str) -> str | None:
    values = [value for name, value in headers if name.lower() == wanted]
    return values[-1] if values else None


def _event_body(body: bytes, headers: Mapping[str, str]) -> tuple[str | None, bool]:
    if not body:
        return None, False
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    if is_textual(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # not what its type claims: passed on as bytes, so nothing is lost
    return base64.b64encode(body).decode("ascii"), True


def is_textual(content_type: str) -> bool:
    """Whether a body of ``content_type`` reaches the function as text rather than base64."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(_TEXT_SUFFIXES)


def _identity(source_ip: str, user_agent: str | None) -> dict[str, str | None]:
    fields = ("cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "accessKey")
    more = ("cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "user", "principalOrgId")
    identity: dict[str, str | None] = dict.fromkeys((*fields, *more))
    identity["sourceIp"] = source_ip
    identity["userAgent"] = user_agent
    return identity


def _request_time(moment: datetime) -> str:
    # Spelled out rather than %b, which follows the process's locale.
    return f"{moment:%d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


# --- the proxy result ---------------------------------------------------------------------------------


class MalformedProxyResponseError(ValueError):
    """A handler result API Gateway cannot turn into an HTTP response (it answers 502)."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def http_response(result: Any) -> HttpResponse:
    """The HTTP response for a handler's proxy result; MalformedProxyResponseError says what is wrong.

    ``headers`` and ``multiValueHeaders`` merge; a name in both keeps only its multi-value values.
    """
    if not isinstance(result, Mapping):
        raise MalformedProxyResponseError(f"the result is {type(result).__name__}, not an object")
    unknown = sorted(str(key) for key in set(result) - _PROXY_RESULT_KEYS)
    if unknown:
        raise MalformedProxyResponseError(f"unknown keys {', '.join(unknown)}")
    status = _status(result.get("statusCode"))
    single = _headers(result.get("headers"), "headers")
    multi = _multi_value_headers(result.get("multiValueHeaders"))
    multi_names = {name.lower() for name, _ in multi}
    merged = [(name, value) for name, value in single if name.lower() not in multi_names] + multi
    if not any(name.lower() == "content-type" for name, _ in merged):
        merged.append(("Content-Type", "application/json"))
    remapped = [
        (f"x-amzn-Remapped-{name}" if name.lower() in _REMAPPED_RESPONSE_HEADERS else name, value)
        for name, value in merged
    ]
    return HttpResponse(status=status, headers=tuple(remapped), body=_response_body(result))


def _status(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 100 <= value <= 599:
        raise MalformedProxyResponseError(f"statusCode {value!r} is not an HTTP status")
    return value


def _headers(value: Any, key: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise MalformedProxyResponseError(f"{key} is {type(value).__name__}, not an object")
    return [(str(name), _header_value(item, f"{key}.{name}")) for name, item in value.items()]


def _multi_value_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise MalformedProxyResponseError(f"multiValueHeaders is {type(value).__name__}, not an object")
    headers: list[tuple[str, str]] = []
    for name, items in value.items():
        if not isinstance(items, list):
            raise MalformedProxyResponseError(f"multiValueHeaders.{name} is not a list")
        headers.extend((str(name), _header_value(item, f"multiValueHeaders.{name}")) for item in items)
    return headers


def _header_value(value: Any, where: str) -> str:
    # The result travels as JSON: numbers and booleans arrive as their JSON text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedProxyResponseError(f"{where} is {type(value).__name__}, not a header value")


def _response_body(result: Mapping[str, Any]) -> bytes:
    body, encoded = result.get("body"), result.get("isBase64Encoded", False)
    if encoded is not None and not isinstance(encoded, bool):
        raise MalformedProxyResponseError(f"isBase64Encoded {encoded!r} is not a boolean")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedProxyResponseError(f"body is {type(body).__name__}, not a string")
    if not encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as exc:
        raise MalformedProxyResponseError(f"body is not base64 ({exc})") from None


# --- the ASGI app -------------------------------------------------------------------------------------


class ApiGateway:
    """The ASGI app: API Gateway REST for the routes of ``functions`` (warm functions by logical id).

    ``api`` limits it to one API (logical id; ``ServerlessRestApi`` for SAM's implicit one). ``clock``
    (seconds) times the authorizer cache.
    """

    def __init__(
        self,
        functions: Mapping[str, WarmFunction],
        *,
        stack_name: str,
        region: str,
        api: str | None = None,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.functions = dict(functions)
        self.routes = RouteTable.of(
            {logical_id: warm.spec for logical_id, warm in self.functions.items()},
            stack_name=stack_name,
            api=api,
        )
        for route in self.routes.routes:
            authorizer = route.api.authorizer
            if authorizer is not None and authorizer.function not in self.functions:
                raise KeyError(
                    f"route {route.api.name} of {route.function} is guarded by authorizer {authorizer.name}, "
                    f"whose function {authorizer.function} is not among the served functions"
                )
        self.region = region
        self.max_payload_bytes = max_payload_bytes
        self._now = now
        self._gate = AuthorizerGate(self._run, region=region, clock=clock)
        # A request no route serves still belongs to an API when there is only one to belong to.
        apis = {route.api.rest_api: route for route in self.routes.routes}
        self._unrouted = next(iter(apis.values())) if len(apis) == 1 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan work; websockets are another API Gateway product
        request_id = str(uuid.uuid4())
        raw_path = scope.get("raw_path") or scope["path"].encode()
        client = scope.get("client") or ("127.0.0.1", 0)
        headers = _request_headers(scope)
        query_string = scope["query_string"].decode("latin-1")
        gateway = GatewayRequest(
            request_id=request_id,
            api_id="",
            stage="",
            method=scope["method"],
            headers=headers,
            query=parse_qsl(query_string, keep_blank_values=True),
            source_ip=client[0],
        )
        match = self.routes.match(scope["method"], raw_path.decode("latin-1"))
        if match is None:
            await _respond(send, self._unrouted_answer(gateway))
            return
        route = match.route
        gateway = replace(
            gateway, api_id=route.api_id, stage=route.api.stage, path_parameters=match.path_parameters
        )
        body = await self._body(scope, receive)
        if body is None:
            await _respond(send, _answer(REQUEST_TOO_LONG, route, gateway))
            return
        server = scope.get("server") or ("127.0.0.1", 80)
        request = HttpRequest(
            method=scope["method"],
            raw_path=raw_path.decode("latin-1"),
            query_string=query_string,
            headers=headers,
            body=body,
            source_ip=client[0],
            port=int(server[1] or 80),
            protocol=f"HTTP/{scope.get('http_version', '1.1')}",
            scheme=scope.get("scheme", "http"),
        )
        event = proxy_event(request, match, region=self.region, request_id=request_id, now=self._now())
        authorizer = route.api.authorizer
        if authorizer is not None:
            verdict = await self._gate.authorize(authorizer, event)
            if isinstance(verdict, Refusal):
                await _respond(send, _answer(verdict, route, gateway))
                return
            event["requestContext"]["authorizer"] = verdict
        response = await self._invoke(route, event, gateway)
        await _respond(send, response)

    def _unrouted_answer(self, gateway: GatewayRequest) -> HttpResponse:
        if self._unrouted is None:
            return _gateway_answer(MISSING_AUTHENTICATION_TOKEN, GatewayResponses(), gateway)
        route = self._unrouted
        return _answer(
            MISSING_AUTHENTICATION_TOKEN, route, replace(gateway, api_id=route.api_id, stage=route.api.stage)
        )

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The request body, or None once it is over the limit (the rest is not read)."""
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_payload_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_payload_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _run(self, function: str, event: dict[str, Any]) -> Any:
        """A function's (logical id) result for ``event``, run in a worker thread, or its exception."""
        return await anyio.to_thread.run_sync(self.functions[function].invoke, event)

    async def _invoke(self, route: Route, event: dict[str, Any], gateway: GatewayRequest) -> HttpResponse:
        function = route.function
        try:
            result = await self._run(function, event)
        except Exception:
            logger.exception("%s raised while handling %s %s", function, event["httpMethod"], event["path"])
            return _answer(INTERNAL_SERVER_ERROR, route, gateway)
        try:
            response = http_response(result)
        except MalformedProxyResponseError as exc:
            logger.error("%s returned a malformed proxy response: %s", function, exc)
            return _answer(INTERNAL_SERVER_ERROR, route, gateway)
        return HttpResponse(
            status=response.status,
            headers=(*response.headers, ("x-amzn-RequestId", gateway.request_id)),
            body=response.body,
        )


def _request_headers(scope: Scope) -> tuple[tuple[str, str], ...]:
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
    spelled = scope.get("state", {}).get(_RAW_HEADER_NAMES)
    # The names as sent, when the server recorded them for this very request (same names, same order).
    if spelled is not None and [name.lower() for name in spelled] == [name for name, _ in headers]:
        return tuple((name, value) for name, (_, value) in zip(spelled, headers, strict=True))
    return tuple(headers)


# What API Gateway answers itself, beside its authorizers' refusals. A failing Lambda proxy
# integration has no response type of its own: only DEFAULT_5XX customises it.
MISSING_AUTHENTICATION_TOKEN = GatewayRefusal(
    403, "Missing Authentication Token", "MissingAuthenticationTokenException", "MISSING_AUTHENTICATION_TOKEN"
)
REQUEST_TOO_LONG = GatewayRefusal(413, "Request Too Long", "RequestTooLongException", "REQUEST_TOO_LARGE")
INTERNAL_SERVER_ERROR = GatewayRefusal(502, "Internal server error", "InternalServerErrorException")


def _answer(error: GatewayRefusal, route: Route, gateway: GatewayRequest) -> HttpResponse:
    """``error`` as the API of ``route`` answers it, its gateway responses applied."""
    return _gateway_answer(error, route.api.gateway_responses, gateway)


def _gateway_answer(
    error: GatewayRefusal, responses: GatewayResponses, gateway: GatewayRequest
) -> HttpResponse:
    answer = gateway_answer(error, responses, gateway)
    return HttpResponse(status=answer.status, headers=answer.headers, body=answer.body)


async def _respond(send: Send, response: HttpResponse) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


# --- serving ------------------------------------------------------------------------------------------


class _SpellingH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, also handing the app each request's header names as the client
    spelled them: ASGI lowercases them, API Gateway passes them on as sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each connection its own state, which the server copies into every request's scope.
        self.app_state = dict(self.app_state)
        read_event = self.conn.next_event

        def next_event() -> Any:
            event = read_event()
            if isinstance(event, h11.Request):
                names = tuple(name.decode("latin-1") for name, _ in event.headers.raw_items())
                self.app_state[_RAW_HEADER_NAMES] = names
            return event

        self.conn.next_event = next_event  # type: ignore[method-assign]


@contextmanager
def serving_api(app: ApiGateway, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port of ``host`` in a background thread; yields the base URL.

    The server and its thread are gone when the block ends.
    """
    # IPPROTO_TCP so asyncio turns Nagle off: otherwise a body waits ~40 ms behind its headers.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http=_SpellingH11Protocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="mercator-local-api")
    thread.daemon = True
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("the local API server stopped while starting")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
