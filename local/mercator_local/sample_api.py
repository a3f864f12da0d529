"""A store's API made of a connector definition's own samples, for running the connector end to end.

``SampleApi(definition)`` is an ASGI app that answers the requests the definition's sync makes,
under the path of its ``sync.baseUrl`` (``/v2/products`` for ``https://api.example.com/v2`` and
``/products``), with what its samples hold:

- a list endpoint: the resource's list sample (``samples.list``) as the whole listing. The first
  page is the sample; any later page (a page number past ``startPage``, an offset past 0, a cursor)
  holds no records. The sample's paging says the same, so the listing ends after one page whatever
  the sample was copied from: its total (``responseMapping.totalProperty``, a page-number
  listing's ``totalPagesProperty``, ``totalHeader`` and ``totalPagesHeader``) counts the sample's
  records, and its next-page URL (``nextUrlPath``) or cursor (``cursorPath``) is null; no ``Link``
  header is sent. Paging settings and incremental filters in the query are otherwise ignored.
- a details endpoint (``{id}`` in its url or a param): for the record the details sample describes,
  the sample as it is; for another record of the list sample, that record's list entry laid over
  the details sample's record, so its id and listed values are its own and the fields only a details
  answer has come from the sample; for any other id, the details sample's record with that id. A
  details endpoint that answers a list (``matchBy``) gets that record alone in the sample's list.
- a sub-resource (``subResources``): its sample (``samples.subResources``), whatever the record.
- a deletion feed (``deletions.feed``): a listing of no deletions.

Anything else is answered 404 and kept in ``unmatched``; every request is counted in ``requests``
by resource and kind. Query parameters an endpoint always sends tell apart endpoints on one path
(WooCommerce's trash listing is ``/products?status=trash``).
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

from mercator.connector import ConnectorDefinition, Resource
from mercator.connector.documents import MAX_SAMPLE_BYTES, DocumentError, load_json_file, resolve_inside
from mercator.connector.endpoints import Endpoint, ResponseMapping, query_value
from mercator.connector.pagination import (
    CursorPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
)
from mercator.mapping import compile_path
from mercator.services.merge import deep_merge

Kind = Literal["list", "details", "sub", "deletions"]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PLACEHOLDER = re.compile(r"\[\[[^\]]*\]\]")
_ID = "{id}"


@dataclass(frozen=True)
class _Route:
    resource: Resource
    kind: Kind
    path: re.Pattern[str]
    field: str | None  # a sub-resource's key
    fixed: dict[
        str, str | None
    ]  # query parameters the endpoint always sends; None: any value (a placeholder)
    id_param: tuple[str, re.Pattern[str]] | None = None  # the record id carried in a parameter

    def score(self, path: str, query: dict[str, str]) -> tuple[int, str | None] | None:
        """How specifically the route answers ``path`` and ``query`` (None: not at all), and the id."""
        matched = self.path.fullmatch(path)
        if matched is None:
            return None
        for name, value in self.fixed.items():
            if name not in query or (value is not None and query[name] != value):
                return None
        record_id = matched.groupdict().get("id")
        if self.id_param is not None:
            name, pattern = self.id_param
            found = pattern.fullmatch(query.get(name, ""))
            if found is None:
                return None
            record_id = found.group("id")
        return len(self.fixed) + (self.id_param is not None), record_id


def absolute_endpoints(definition: ConnectorDefinition) -> list[str]:
    """Where the definition calls an absolute URL: no base URL can point such a call at an emulator."""
    found: list[str] = []
    for key, resource in definition.resources.items():
        feed = resource.deletions.feed if resource.deletions else None
        endpoints: list[tuple[str, Endpoint | None]] = [
            ("endpoints.list", resource.endpoints.list),
            ("endpoints.details", resource.endpoints.details),
            ("deletions.feed.endpoint", feed.endpoint if feed else None),
            *((f"subResources.{name}", sub) for name, sub in resource.subResources.items()),
        ]
        for where, endpoint in endpoints:
            if endpoint is not None and not endpoint.url.startswith("/"):
                found.append(f"sync.resources.{key}.{where}.url")
    return found


def base_path(base_url: str) -> str:
    """The path part of a ``sync.baseUrl`` (``/admin/v2``), its host a placeholder or not; "" when the
    path itself holds a placeholder."""
    rest = base_url.split("://", 1)[1] if "://" in base_url else base_url
    if rest.startswith("[["):
        rest = rest[rest.find("]]") + 2 :] if "]]" in rest else ""
    path = rest[rest.find("/") :] if "/" in rest else ""
    path = path.partition("?")[0].rstrip("/")
    return "" if "[[" in path else path


class SampleApi:
    """The API a definition's samples make (see the module's docstring); an ASGI app."""

    def __init__(self, definition: ConnectorDefinition, *, prefix: str | None = None) -> None:
        self.definition = definition
        self.prefix = base_path(definition.sync.baseUrl) if prefix is None else prefix.rstrip("/")
        self.requests: Counter[tuple[str, Kind]] = Counter()
        self.unmatched: list[str] = []
        self.problems: list[str] = []  # samples the run needs that could not be read
        self._lists: dict[str, Any] = {}
        self._details: dict[str, Any] = {}
        self._subs: dict[tuple[str, str], Any] = {}
        self._routes: list[_Route] = []
        for key, resource in definition.resources.items():
            if resource.enabled:
                self._read_samples(key, resource)
                self._routes.extend(self._routes_of(resource))

    def base_url(self, origin: str) -> str:
        """What an integration's ``baseUrl`` setting must be for its calls to reach this API at ``origin``."""
        return origin.rstrip("/") + self.prefix

    def listed(self, key: str) -> list[Any]:
        """The records of resource ``key``'s list sample (none without a readable one)."""
        resource = self.definition.resources[key]
        return resource.responseMapping.records_in(self._lists.get(key)) or []

    # --- answering ----------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """Status, headers and JSON body for one request."""
        best: tuple[tuple[int, str | None], _Route] | None = None
        for route in self._routes:
            scored = route.score(path, query)
            if scored is not None and (best is None or scored[0] > best[0][0]):
                best = scored, route
        if best is None:
            self.unmatched.append(f"{method} {path}")
            return 404, {}, {"error": f"no endpoint of the definition answers {method} {path}"}
        (_, record_id), route = best
        resource = route.resource
        self.requests[(resource.name, route.kind)] += 1
        if route.kind == "list":
            return self._list(resource, first=_first_page(resource, query))
        if route.kind == "deletions":
            feed = resource.deletions.feed if resource.deletions else None
            mapping = feed.responseMapping if feed else ResponseMapping()
            return 200, {}, _placed({}, mapping.dataProperty, [])
        if route.kind == "sub":
            assert route.field is not None
            sample = self._subs.get((resource.name, route.field))
            if sample is None:
                sample = _placed({}, resource.subResources[route.field].dataProperty, [])
            return 200, {}, sample
        body = self._record(resource, record_id or "")
        if body is None:
            return 404, {}, {"error": f"no {resource.name} {record_id!r} in the samples"}
        return 200, {}, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body", False):
            pass
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        status, headers, body = self.answer(scope["method"], scope["path"], query)
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": content})

    def _list(self, resource: Resource, *, first: bool) -> tuple[int, dict[str, str], Any]:
        sample = self._lists.get(resource.name)
        mapping = resource.responseMapping
        if sample is None:
            return 200, {}, _placed({}, mapping.dataProperty, [])
        body = copy.deepcopy(sample)
        records = mapping.records_in(body)
        if records is None:
            return 200, {}, body  # not a listing where the definition looks: the sync says so
        count = len(records)
        if not first:
            body = _placed(body, mapping.dataProperty, [])
        replace_at(body, mapping.totalProperty, count)
        headers: dict[str, str] = {}
        pagination = resource.pagination
        if isinstance(pagination, PageNumberPagination):
            replace_at(body, pagination.totalPagesProperty, 1)
            if pagination.totalHeader:
                headers[pagination.totalHeader] = str(count)
            if pagination.totalPagesHeader:
                headers[pagination.totalPagesHeader] = "1"
        elif isinstance(pagination, OffsetPagination) and pagination.totalHeader:
            headers[pagination.totalHeader] = str(count)
        elif isinstance(pagination, NextUrlPagination):
            replace_at(body, pagination.nextUrlPath, None)
        elif isinstance(pagination, CursorPagination):
            replace_at(body, pagination.cursorPath, None)
        return 200, headers, body

    def _record(self, resource: Resource, record_id: str) -> Any:
        """The details answer for ``record_id``; None when the samples know nothing of it."""
        details = resource.endpoints.details
        assert details is not None
        sample = self._details.get(resource.name)
        template: Any = None
        if details.matchBy:
            records = details.records_in(sample) if sample is not None else None
            exact = details.match(records, record_id) if records else None
            if exact is not None:
                return _placed(sample, details.dataProperty, [exact])
            template = records[0] if records else None
        else:
            template = details.record_in(sample) if sample is not None else None
            if isinstance(template, dict) and str(resource.record_id(template)) == record_id:
                return sample
        item = next(
            (
                entry
                for entry in self.listed(resource.name)
                if isinstance(entry, dict) and str(resource.record_id(entry)) == record_id
            ),
            None,
        )
        if not isinstance(template, dict):
            answer = item
        elif item is not None:
            answer = deep_merge(template, item)
        else:
            answer = copy.deepcopy(template)
            for path in (resource.idPath, details.matchBy):
                current = compile_path(path).get(template) if path else None
                typed = int(record_id) if isinstance(current, int) and record_id.isdigit() else record_id
                replace_at(answer, path, typed)
        if answer is None:
            return None
        return _placed(sample or {}, details.dataProperty, [answer] if details.matchBy else answer)

    # --- building -----------------------------------------------------------------------------------

    def _read_samples(self, key: str, resource: Resource) -> None:
        where = f"sync.resources.{key}.samples"
        if resource.endpoints.list is not None:
            self._lists[key] = self._sample(resource.samples.list, f"{where}.list")
        # Details are needed where they are fetched: by the sync, or for a thin delivery.
        fetched = resource.expandDetails or any(
            handler.enrich is not None and handler.enrich.resource == key
            for handler in self.definition.handlers.values()
        )
        if resource.endpoints.details is not None and (fetched or resource.samples.details):
            self._details[key] = self._sample(resource.samples.details, f"{where}.details")
        for name in resource.subResources:
            file = resource.samples.subResources.get(name)
            if fetched or file:
                self._subs[(key, name)] = self._sample(file, f"{where}.subResources.{name}")

    def _sample(self, file: str | None, where: str) -> Any:
        if not file:
            self.problems.append(f"{where}: no sample; the endpoint answers as if the store held nothing")
            return None
        source = self.definition.source
        base = source.parent if source else Path.cwd()
        try:
            return load_json_file(
                resolve_inside(base, file, what="a sample"), limit=MAX_SAMPLE_BYTES, what="a sample"
            )
        except DocumentError as exc:
            self.problems.append(f"{where}: {exc}")
            return None

    def _routes_of(self, resource: Resource) -> list[_Route]:
        routes: list[_Route] = []
        if resource.endpoints.list is not None:
            routes.append(self._route(resource, "list", resource.endpoints.list))
        if resource.endpoints.details is not None:
            routes.append(self._route(resource, "details", resource.endpoints.details))
        routes.extend(self._route(resource, "sub", sub, name) for name, sub in resource.subResources.items())
        feed = resource.deletions.feed if resource.deletions else None
        if feed is not None:
            routes.append(self._route(resource, "deletions", feed.endpoint))
        return routes

    def _route(self, resource: Resource, kind: Kind, endpoint: Endpoint, field: str | None = None) -> _Route:
        path, _, own_query = endpoint.url.partition("?")
        fixed: dict[str, str | None] = {}
        id_param: tuple[str, re.Pattern[str]] | None = None
        for name, value in [*parse_qsl(own_query, keep_blank_values=True), *endpoint.params.items()]:
            text = query_value(value)
            if kind in ("details", "sub") and _ID in text:
                id_param = (name, _pattern(text))
            else:
                fixed[name] = None if _PLACEHOLDER.search(text) else text
        return _Route(resource, kind, _pattern(self.prefix + path), field, fixed, id_param)


def _pattern(template: str) -> re.Pattern[str]:
    """A template's regular expression: ``[[name]]`` any one path segment, ``{id}`` the record id."""
    parts: list[str] = []
    for piece in re.split(r"(\[\[[^\]]*\]\]|\{id\})", template):
        if piece == _ID:
            parts.append(r"(?P<id>[^/]+)")
        elif _PLACEHOLDER.fullmatch(piece):
            parts.append(r"[^/]+")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def _first_page(resource: Resource, query: dict[str, str]) -> bool:
    pagination = resource.pagination
    if isinstance(pagination, PageNumberPagination):
        return query.get(pagination.pageParam, str(pagination.startPage)) == str(pagination.startPage)
    if isinstance(pagination, OffsetPagination):
        return query.get(pagination.offsetParam, "0") == "0"
    if isinstance(pagination, CursorPagination):
        return pagination.cursorParam not in query
    return True


def _steps(path: str | None) -> tuple[str | int, ...] | None:
    """The fields and indexes of a plain path; None for none or a JSONPath query."""
    return compile_path(path).steps if path else None


def replace_at(body: Any, path: str | None, value: Any) -> None:
    """Set what is at ``path`` in ``body`` to ``value`` when something is there already."""
    steps = _steps(path)
    if not steps:
        return
    parent = body
    for step in steps[:-1]:
        parent = _child(parent, step)
        if parent is None:
            return
    last = steps[-1]
    there = (isinstance(parent, dict) and last in parent) or (
        isinstance(parent, list) and isinstance(last, int) and -len(parent) <= last < len(parent)
    )
    if there:
        parent[last] = value


def _placed(body: Any, path: str | None, value: Any) -> Any:
    """``body`` with ``value`` at ``path`` (its missing objects made); ``value`` itself without a path."""
    steps = _steps(path)
    if path is None or steps == ():
        return value
    if steps is None or not all(isinstance(step, str) for step in steps):
        return body
    placed = copy.deepcopy(body) if isinstance(body, dict) else {}
    node = placed
    for step in steps[:-1]:
        child = node.get(step)
        if not isinstance(child, dict):
            child = node[step] = {}
        node = child
    node[steps[-1]] = value
    return placed


def _child(node: Any, step: str | int) -> Any:
    if isinstance(node, dict) and isinstance(step, str):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and -len(node) <= step < len(node):
        return node[step]
    return None
