"""Pagination schemes a resource's list endpoint may use, and the incremental (since-cursor) filter.

Every scheme real storefronts use is one ``type``:

==============  ===================================================================  =====================
type            how the next page is requested                                       platforms
==============  ===================================================================  =====================
page_number     ``pageParam`` = 1, 2, 3 … with ``paramName`` = page size              Salla, Zid, WooCommerce,
                                                                                     BigCommerce
offset          ``offsetParam`` = 0, n, 2n … with ``paramName`` = page size           WooCommerce (offset)
link_header     the ``rel="next"`` URL of the ``Link`` header, used as given          Shopify REST
next_url        a URL found at ``nextUrlPath`` in the body                           Zid products, Salla links
cursor          ``cursorParam`` = the value found at ``cursorPath`` in the body       cursor APIs
none            one request returns everything
==============  ===================================================================  =====================

A listing stops on an empty page (``stopOnEmptyPage``), when the page count reaches the total pages
(``totalPagesProperty`` in the body or ``totalPagesHeader``) or the record total
(``responseMapping.totalProperty`` or ``totalHeader``), or when there is no next link or cursor.
``maxLimit`` caps the page size whoever asks for it. A pagination block without ``type`` is the
seed's page-number form (``paramName``, ``defaultLimit``, ``maxLimit``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from mercator.connector.base import DefinitionModel, RecordPath, located_error, tag_check
from mercator.mapping import CompiledPath, compile_path
from mercator.mapping.dates import parse_datetime, zone


class _PagedBase(DefinitionModel):
    paramName: str | None = Field(
        None, description="query parameter carrying the page size (per_page, limit)"
    )
    defaultLimit: int = Field(50, ge=1, description="page size asked for unless the run asks otherwise")
    maxLimit: int | None = Field(None, ge=1, description="largest page size the provider accepts")
    stopOnEmptyPage: bool = Field(True, description="an empty page ends the listing")

    @model_validator(mode="after")
    def _limits(self) -> _PagedBase:
        sizes = [name for name in ("defaultLimit", "maxLimit") if name in self.model_fields_set]
        if sizes and self.paramName is None:
            raise located_error(
                "paramName",
                f"{' and '.join(sizes)} set but no paramName to send the page size in, so the provider "
                "would use its own; add paramName (the page-size query parameter, e.g. per_page or "
                f"limit) or leave out {' and '.join(sizes)}",
            )
        if self.maxLimit is not None and self.defaultLimit > self.maxLimit:
            raise located_error(
                "defaultLimit",
                f"defaultLimit {self.defaultLimit} is larger than maxLimit {self.maxLimit}",
            )
        return self

    def page_size(self, requested: int | None = None) -> int:
        """The page size to ask for: ``requested`` (or defaultLimit) capped by maxLimit."""
        size = requested or self.defaultLimit
        return min(size, self.maxLimit) if self.maxLimit else size


class PageNumberPagination(_PagedBase):
    """Pages asked for by number (``pageParam`` = 1, 2, 3 …): Salla, Zid, WooCommerce, BigCommerce."""

    type: Literal["page_number"] = "page_number"
    pageParam: str = Field("page", description="query parameter carrying the page number")
    startPage: int = Field(1, ge=0, description="number of the first page")
    totalPagesProperty: RecordPath | None = Field(None, description="body path of the total page count")
    totalPagesHeader: str | None = Field(None, description="response header with the total page count")
    totalHeader: str | None = Field(None, description="response header with the total record count")


class OffsetPagination(_PagedBase):
    """Pages asked for by record offset (``offsetParam`` = 0, n, 2n …)."""

    type: Literal["offset"]
    offsetParam: str = Field("offset", description="query parameter carrying the offset")
    totalHeader: str | None = Field(None, description="response header with the total record count")


class LinkHeaderPagination(_PagedBase):
    """The next page is the ``rel="next"`` URL of the ``Link`` header, used as given (Shopify)."""

    type: Literal["link_header"]
    rel: str = Field("next", description="the Link relation that points at the next page")


class NextUrlPagination(_PagedBase):
    """The next page is a URL found in the body at ``nextUrlPath``."""

    type: Literal["next_url"]
    nextUrlPath: RecordPath = Field(
        description="body path of the next page's URL (null or absent on the last page)"
    )


class CursorPagination(_PagedBase):
    """The next page is asked for with the cursor found in the body at ``cursorPath``."""

    type: Literal["cursor"]
    cursorPath: RecordPath = Field(
        description="body path of the next cursor (null or absent on the last page)"
    )
    cursorParam: str = Field(description="query parameter that carries the cursor")


class SinglePage(DefinitionModel):
    """One request returns the whole list."""

    type: Literal["none"]


PAGINATION_TYPES = ("page_number", "offset", "link_header", "next_url", "cursor", "none")

Pagination = Annotated[
    PageNumberPagination
    | OffsetPagination
    | LinkHeaderPagination
    | NextUrlPagination
    | CursorPagination
    | SinglePage,
    Field(discriminator="type"),
    tag_check("type", PAGINATION_TYPES, default="page_number"),
]

CursorFormat = Literal["iso8601", "iso8601_z", "datetime", "date", "epoch", "epoch_ms"]


class Incremental(DefinitionModel):
    """How a run lists only what changed since the last successful sync.

    ``param`` is filled from the cursor (the high-water mark of the records' own ``recordUpdatedAt``)
    minus ``overlapSeconds``, written in ``format``: ``iso8601`` (2024-05-01T10:00:00+00:00),
    ``iso8601_z`` (2024-05-01T10:00:00Z), ``datetime`` (2024-05-01 10:00:00), ``date`` (2024-05-01),
    ``epoch`` (seconds) or ``epoch_ms``. For APIs without an updated-since filter that can sort by
    update time newest first, ``stopWhenOlder`` ends the listing at the first record older than the
    cursor window instead.
    """

    param: str | None = Field(None, description="query parameter filled from the last-sync cursor")
    format: CursorFormat = Field("iso8601", description="how the cursor is written into param")
    timezone: str = Field("UTC", description="zone the cursor is written in (IANA name or +03:00)")
    overlapSeconds: int = Field(300, ge=0, le=7 * 86400, description="re-list this much before the cursor")
    recordUpdatedAt: RecordPath = Field(description="path of the record's own last-updated time")
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="extra query parameters sent only on incremental runs"
    )
    stopWhenOlder: bool = Field(
        False, description="list is sorted newest-updated first; stop at older records"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    _updated: CompiledPath | None = PrivateAttr(None)
    _tz: tzinfo = PrivateAttr(UTC)

    @model_validator(mode="after")
    def _one_way(self) -> Incremental:
        if self.param is None and not self.stopWhenOlder:
            raise located_error(
                "param", "incremental needs param (an updated-since filter) or stopWhenOlder: true"
            )
        self._updated = compile_path(self.recordUpdatedAt)
        self._tz = zone(self.timezone)
        return self

    def updated_at(self, record: Any) -> datetime | None:
        """The record's own updated-at in UTC (read in ``timezone`` when it has none); None when the
        record has none or it is not a date."""
        assert self._updated is not None
        value = self._updated.get(record)
        if value is None:
            return None
        try:
            return parse_datetime(value, self._tz)
        except ValueError:
            return None

    def window_start(self, cursor: datetime) -> datetime:
        """Where an incremental listing starts: the cursor less the overlap."""
        return cursor - timedelta(seconds=self.overlapSeconds)

    def format_cursor(self, moment: datetime) -> str:
        """Write ``moment`` the way the provider's filter expects."""
        local = moment.astimezone(zone(self.timezone)) if moment.tzinfo else moment.replace(tzinfo=UTC)
        match self.format:
            case "iso8601":
                return local.replace(microsecond=0).isoformat()
            case "iso8601_z":
                return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
            case "datetime":
                return local.strftime("%Y-%m-%d %H:%M:%S")
            case "date":
                return local.strftime("%Y-%m-%d")
            case "epoch":
                return str(int(local.timestamp()))
            case "epoch_ms":
                return str(int(local.timestamp() * 1000))
        raise AssertionError(self.format)  # pragma: no cover - Literal covers every case

    def query(self, cursor: datetime) -> dict[str, Any]:
        """Query parameters for a listing since ``cursor``."""
        params: dict[str, Any] = dict(self.params)
        if self.param:
            params[self.param] = self.format_cursor(self.window_start(cursor))
        return params
