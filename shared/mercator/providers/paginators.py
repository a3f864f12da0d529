"""Pagination strategies: from one list response to the request for the next page.

One strategy per ``pagination.type`` of a resource (see ``mercator.connector.pagination`` for the
stop rules), registered in ``PAGINATORS`` under the type of its pagination model. A listing's
position is a PageCheckpoint: JSON that says how to ask for the next page and which query started
the listing, so a run can stop (Lambda deadline) and resume elsewhere. It never holds a credential:
the definition's own params are re-applied on every request, and stored next-page URLs are kept
relative to the base URL with credential values turned back into ``[[placeholders]]`` by the client.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar, cast
from urllib.parse import urljoin

import httpx

from mercator.connector.pagination import (
    CursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
    SinglePage,
)
from mercator.connector.sync import Resource
from mercator.domain.pages import PageCheckpoint, PaginationType
from mercator.domain.registry import Registry
from mercator.mapping import CompiledPath, compile_path

Settings = TypeVar(
    "Settings",
    PageNumberPagination,
    OffsetPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    CursorPagination,
)

_LINK = re.compile(r'<(?P<url>[^>]*)>(?P<params>(?:[^,"]|"[^"]*")*)')
_LINK_PARAM = re.compile(r';\s*(?P<name>[A-Za-z*]+)\s*=\s*(?P<value>"[^"]*"|[^;]*)')


@dataclass(frozen=True)
class PageRequest:
    """What to send for a page: the list endpoint (``url`` None) with ``params``, or a given URL."""

    url: str | None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PageResponse:
    """What a strategy may look at in an answer: ``url`` is the absolute URL that answered."""

    body: Any
    headers: Mapping[str, str]
    records: list[Any]
    url: str


class PaginationStuckError(Exception):
    """The provider's paging would not move forward or cannot be read (a loop, a bad next link)."""


class Strategy:
    """Base of the strategies; ``positional`` ones can name page k ahead, so pages can be prefetched."""

    positional: ClassVar[bool] = False
    kind: ClassVar[PaginationType]

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        total = resource.responseMapping.totalProperty
        self._total_path: CompiledPath | None = compile_path(total) if total else None
        self._total_header: str | None = None

    def first(
        self, query: Mapping[str, str], page_size: int | None, since: datetime | None = None
    ) -> PageCheckpoint:
        return PageCheckpoint(
            resource=self.resource.name, pagination=self.kind, query=dict(query), since=since
        )

    def request(self, at: PageCheckpoint) -> PageRequest:
        return PageRequest(None, dict(at.query))

    def next(self, at: PageCheckpoint, response: PageResponse) -> PageCheckpoint | None:
        return None

    def total(self, response: PageResponse) -> int | None:
        """The record total the response reports (body property, else header), if any."""
        if self._total_path is not None:
            found = count(self._total_path.get(response.body))
            if found is not None:
                return found
        return count(header(response.headers, self._total_header)) if self._total_header else None

    def after(self, at: PageCheckpoint) -> PageCheckpoint:
        raise NotImplementedError(f"{self.kind} pages cannot be named ahead")

    def pages_after(self, at: PageCheckpoint, response: PageResponse) -> int | None:
        """How many pages the totals say follow ``at``; None when the response does not say."""
        return None


PAGINATORS = Registry[type, type[Strategy]]("pagination")


class _Sized(Strategy, Generic[Settings]):
    """Strategies that ask for a page size (``paramName``, capped by ``maxLimit``)."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource)
        self.settings: Settings = cast(Settings, resource.pagination)

    def size(self, at: PageCheckpoint) -> int:
        return self.settings.page_size(at.page_size)

    def _size_params(self, at: PageCheckpoint) -> dict[str, str]:
        name = self.settings.paramName
        return {name: str(self.size(at))} if name else {}

    def first(
        self, query: Mapping[str, str], page_size: int | None, since: datetime | None = None
    ) -> PageCheckpoint:
        return PageCheckpoint(
            resource=self.resource.name,
            pagination=self.kind,
            query=dict(query),
            since=since,
            page_size=self.settings.page_size(page_size),
            **self._start(),
        )

    def _start(self) -> dict[str, Any]:
        return {}

    def _ends_on(self, response: PageResponse) -> bool:
        return bool(self.settings.stopOnEmptyPage and not response.records)


class _Positional(_Sized[Settings]):
    positional = True

    def next(self, at: PageCheckpoint, response: PageResponse) -> PageCheckpoint | None:
        left = self.pages_after(at, response)
        # Without a total, an empty page is the only way a positional listing can end.
        if not response.records and (self.settings.stopOnEmptyPage or left is None):
            return None
        if left is not None and left <= 0:
            return None
        return self.after(at)


@PAGINATORS.register(PageNumberPagination)
class PageNumberStrategy(_Positional[PageNumberPagination]):
    kind = "page_number"

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource)
        self._total_header = self.settings.totalHeader
        pages = self.settings.totalPagesProperty
        self._pages_path = compile_path(pages) if pages else None

    def _start(self) -> dict[str, Any]:
        return {"page": self.settings.startPage}

    def request(self, at: PageCheckpoint) -> PageRequest:
        return PageRequest(None, {**at.query, **self._size_params(at), self.settings.pageParam: str(at.page)})

    def after(self, at: PageCheckpoint) -> PageCheckpoint:
        assert at.page is not None
        return at.model_copy(update={"page": at.page + 1, "number": at.number + 1})

    def total_pages(self, response: PageResponse) -> int | None:
        if self._pages_path is not None:
            found = count(self._pages_path.get(response.body))
            if found is not None:
                return found
        name = self.settings.totalPagesHeader
        return count(header(response.headers, name)) if name else None

    def pages_after(self, at: PageCheckpoint, response: PageResponse) -> int | None:
        assert at.page is not None
        start = self.settings.startPage
        pages = self.total_pages(response)
        if pages is None:
            total = self.total(response)
            if total is None:
                return None
            pages = math.ceil(total / self.size(at))
        return max(0, start + pages - 1 - at.page)


@PAGINATORS.register(OffsetPagination)
class OffsetStrategy(_Positional[OffsetPagination]):
    kind = "offset"

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource)
        self._total_header = self.settings.totalHeader

    def _start(self) -> dict[str, Any]:
        return {"offset": 0}

    def request(self, at: PageCheckpoint) -> PageRequest:
        return PageRequest(
            None, {**at.query, **self._size_params(at), self.settings.offsetParam: str(at.offset)}
        )

    def after(self, at: PageCheckpoint) -> PageCheckpoint:
        assert at.offset is not None
        return at.model_copy(update={"offset": at.offset + self.size(at), "number": at.number + 1})

    def pages_after(self, at: PageCheckpoint, response: PageResponse) -> int | None:
        assert at.offset is not None
        total = self.total(response)
        if total is None:
            return None
        return max(0, math.ceil((total - at.offset - self.size(at)) / self.size(at)))


class _UrlStrategy(_Sized[Settings]):
    """Pages after the first are fetched from the URL the provider gave, exactly as given."""

    def request(self, at: PageCheckpoint) -> PageRequest:
        if at.url is not None:
            return PageRequest(at.url)
        return PageRequest(None, {**at.query, **self._size_params(at)})

    def next(self, at: PageCheckpoint, response: PageResponse) -> PageCheckpoint | None:
        if self._ends_on(response):
            return None
        link = self.link(response)
        if link is None:
            return None
        target = urljoin(response.url, link)
        if target == response.url:
            raise PaginationStuckError("the next-page link points at the page just read")
        return at.model_copy(update={"url": target, "number": at.number + 1})

    def link(self, response: PageResponse) -> str | None:
        raise NotImplementedError


@PAGINATORS.register(LinkHeaderPagination)
class LinkHeaderStrategy(_UrlStrategy[LinkHeaderPagination]):
    kind = "link_header"

    def link(self, response: PageResponse) -> str | None:
        return link_target(header(response.headers, "Link"), self.settings.rel)


@PAGINATORS.register(NextUrlPagination)
class NextUrlStrategy(_UrlStrategy[NextUrlPagination]):
    kind = "next_url"

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource)
        self._next_path = compile_path(self.settings.nextUrlPath)

    def link(self, response: PageResponse) -> str | None:
        found = self._next_path.get(response.body)
        if found is None or found == "":
            return None
        if not isinstance(found, str):
            raise PaginationStuckError(
                f"the next-page URL at {self._next_path.source!r} is not text: {found!r}"
            )
        return found


@PAGINATORS.register(CursorPagination)
class CursorStrategy(_Sized[CursorPagination]):
    kind = "cursor"

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource)
        self._cursor_path = compile_path(self.settings.cursorPath)

    def request(self, at: PageCheckpoint) -> PageRequest:
        params = {**at.query, **self._size_params(at)}
        if at.cursor is not None:
            params[self.settings.cursorParam] = at.cursor
        return PageRequest(None, params)

    def next(self, at: PageCheckpoint, response: PageResponse) -> PageCheckpoint | None:
        if self._ends_on(response):
            return None
        found = self._cursor_path.get(response.body)
        if found is None or found == "":
            return None
        if isinstance(found, bool) or not isinstance(found, str | int | float):
            raise PaginationStuckError(
                f"the cursor at {self._cursor_path.source!r} is not a value: {found!r}"
            )
        cursor = str(found)
        if cursor == at.cursor:
            raise PaginationStuckError(f"the cursor did not move on from {cursor!r}")
        return at.model_copy(update={"cursor": cursor, "number": at.number + 1})


@PAGINATORS.register(SinglePage)
class SinglePageStrategy(Strategy):
    kind = "none"


def strategy_for(resource: Resource) -> Strategy:
    """The strategy for ``resource.pagination``; UnknownEntryError, listing the registered models, for
    a pagination model no strategy is registered for."""
    return PAGINATORS[type(resource.pagination)](resource)


def link_target(value: str | None, rel: str) -> str | None:
    """The URL of the ``rel`` relation in a ``Link`` header (RFC 8288), or None."""
    if not value:
        return None
    wanted = rel.lower()
    for match in _LINK.finditer(value):
        for param in _LINK_PARAM.finditer(match["params"]):
            if param["name"].lower() == "rel" and wanted in param["value"].strip().strip('"').lower().split():
                return match["url"].strip()
    return None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (plain dicts too)."""
    found: str | None = httpx.Headers(headers).get(name)
    return found


def count(value: Any) -> int | None:
    """A non-negative whole number from a body value or header text; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
