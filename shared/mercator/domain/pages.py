"""What a listing and a details call give back, as plain values: pages, their checkpoints, results.

A ``PageCheckpoint`` is stored between invocations, so a listing resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mercator.domain.provider_errors import ProviderError

PaginationType = Literal["page_number", "offset", "link_header", "next_url", "cursor", "none"]


_NEEDS: dict[str, str] = {"page_number": "page", "offset": "offset"}


_ALLOWS: dict[str, set[str]] = {
    "page_number": {"page"},
    "offset": {"offset"},
    "link_header": {"url"},
    "next_url": {"url"},
    "cursor": {"cursor"},
    "none": set(),
}


class PageCheckpoint(BaseModel):
    """How to request one page of a listing, and the query that started it. Safe to store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resource: str = Field(min_length=1)
    pagination: PaginationType
    query: dict[str, str] = Field(default_factory=dict, description="the listing's filter (since...)")
    since: datetime | None = Field(None, description="the incremental listing's cursor, if any")
    page_size: int | None = Field(None, ge=1)
    number: int = Field(0, ge=0, description="0-based number of this page within the run")
    page: int | None = Field(None, ge=0)
    offset: int | None = Field(None, ge=0)
    url: str | None = Field(None, min_length=1, description="next page URL as the provider gave it")
    cursor: str | None = None

    @model_validator(mode="after")
    def _position(self) -> PageCheckpoint:
        needed = _NEEDS.get(self.pagination)
        if needed is not None and getattr(self, needed) is None:
            raise ValueError(f"a {self.pagination} checkpoint needs {needed}")
        for name in ("page", "offset", "url", "cursor"):
            if getattr(self, name) is not None and name not in _ALLOWS[self.pagination]:
                raise ValueError(f"a {self.pagination} checkpoint has no {name}")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> PageCheckpoint:
        return cls.model_validate_json(text)


@dataclass(frozen=True)
class Page:
    """One page of records; ``next`` is where the listing goes on (None on the last page)."""

    records: list[Any]
    number: int
    total: int | None
    next: PageCheckpoint | None
    # The store's clock when the page was asked for, from its Date header; None when it sent none.
    served_at: datetime | None = None


@dataclass(frozen=True)
class DetailResult:
    """The details of one id: the record, or the error that stopped this id (and only this id)."""

    id: str
    record: dict[str, Any] | None
    error: ProviderError | None


@dataclass
class ClientStats:
    """Counters of one client's traffic (retries count every attempt after the first)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    timeouts: int = 0
    bytes_received: int = 0
