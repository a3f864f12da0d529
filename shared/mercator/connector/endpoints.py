"""A resource's endpoints: list, details (one object, or a list matched by id), sub-resources merged
into the details, and where a list response holds its records."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, Self
from urllib.parse import parse_qsl

from pydantic import Field, PrivateAttr, field_validator, model_validator

from mercator.connector.base import DefinitionModel, RecordPath, located_error
from mercator.connector.pagination import Pagination
from mercator.mapping import (
    CompiledPath,
    compile_path,
)

QueryValue = str | int | float | bool
# Filled with the record id in a details endpoint's url (quoted) and params (raw: httpx encodes them).
ID_PLACEHOLDER = "{id}"


class Endpoint(DefinitionModel):
    """An API call: its url, method and the query parameters it always sends."""

    url: str = Field(
        min_length=1, description="path under baseUrl, or an absolute URL; may carry a query string"
    )
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, QueryValue] = Field(
        default_factory=dict, description="query parameters sent every time, after the url's own"
    )

    _takes_id: ClassVar[bool] = False  # only a details call has a record id to fill in

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return endpoint_url(value)

    @model_validator(mode="after")
    def _one_place_per_param(self) -> Self:
        # The merged query would keep one of the two values: which one is not what the author wrote.
        written = query_names(self.url)
        for name in self.params:
            if name in written:
                raise located_error(
                    ("params", name),
                    f"{name!r} is also in the url's query string; give it in one place, url or params",
                )
        if not self._takes_id:
            if ID_PLACEHOLDER in self.url:
                raise located_error("url", "{id} is only filled in endpoints.details; a listing has no id")
            for name, value in self.params.items():
                if isinstance(value, str) and ID_PLACEHOLDER in value:
                    raise located_error(
                        ("params", name), "{id} is only filled in endpoints.details; a listing has no id"
                    )
        return self


def query_value(value: object) -> str:
    """A query value as providers expect it: booleans in lower case, everything else as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def endpoint_url(value: str) -> str:
    """``value`` when it is a path under the base URL or an absolute URL; ValueError otherwise."""
    if not value.startswith(("/", "http://", "https://")):
        raise ValueError("url must start with '/' (under baseUrl) or be absolute (http:// or https://)")
    return value


def paging_params(pagination: Pagination) -> dict[str, str]:
    """The query parameters a pagination sets, by name, with the setting that names each."""
    settings = ("pageParam", "offsetParam", "cursorParam", "paramName")
    return {name: setting for setting in settings if (name := getattr(pagination, setting, None))}


def query_names(url: str) -> list[str]:
    """The parameter names in a URL's own query string (``/customers?include=addresses``)."""
    # Not urlsplit: a [[placeholder]] host reads to it as a broken IPv6 address.
    query = url.partition("#")[0].partition("?")[2]
    return [name for name, _ in parse_qsl(query, keep_blank_values=True)]


class DetailsEndpoint(Endpoint):
    """The API call that fetches one record by id (``{id}`` in its url or a param)."""

    dataProperty: RecordPath | None = Field(
        None,
        description="where the record sits in the details response; with matchBy, where the list of "
        "records sits (absent: the body is the list)",
    )
    matchBy: RecordPath | None = Field(
        None,
        description="the details response is a list (GET /orders?ids={id}): path, in each item, of the "
        "id asked for; the item whose value equals it is the record, and none is a record gone (as a 404)",
    )

    _takes_id: ClassVar[bool] = True
    _data: CompiledPath | None = PrivateAttr(None)
    _match: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> DetailsEndpoint:
        self._data = compile_path(self.dataProperty) if self.dataProperty else None
        self._match = compile_path(self.matchBy) if self.matchBy else None
        return self

    def record_in(self, body: Any) -> Any:
        """The record inside a details response (what sits at ``dataProperty``; without matchBy)."""
        return self._data.get(body) if self._data else body

    def records_in(self, body: Any) -> list[Any] | None:
        """With matchBy: the records a details response lists; None when it has no list where expected."""
        found = self.record_in(body)
        return found if isinstance(found, list) else None

    def match(self, records: list[Any], record_id: str) -> Any | None:
        """The first of ``records`` whose ``matchBy`` value, as text, is ``record_id``; None when none is."""
        assert self._match is not None, "match needs matchBy"
        for record in records:
            value = self._match.get(record)
            if value is not None and not isinstance(value, bool | dict | list) and str(value) == record_id:
                return record
        return None

    @model_validator(mode="after")
    def _has_id(self) -> DetailsEndpoint:
        _needs_id(self, "a details endpoint", "/orders/{id}", 'params: {order_id: "{id}"}')
        return self


def _needs_id(endpoint: Endpoint, what: str, url: str, param: str) -> None:
    in_params = any(isinstance(value, str) and ID_PLACEHOLDER in value for value in endpoint.params.values())
    if ID_PLACEHOLDER not in endpoint.url and not in_params:
        raise located_error(
            "url", f"{what} needs the {{id}} placeholder, in its url ({url}) or in a param ({param})"
        )


# A sub-resource's key is the field of the details record its answer is merged under.
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class SubResource(Endpoint):
    """A call per record whose answer becomes one field of its details (an order's line items from
    ``/orders/{id}/products``): one more request per record, paced, retried and counted as the details
    call is. It is one request, never paged."""

    dataProperty: RecordPath | None = Field(
        None, description="where the field's value sits in the answer; absent: the whole body"
    )

    _takes_id: ClassVar[bool] = True
    _data: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> SubResource:
        self._data = compile_path(self.dataProperty) if self.dataProperty else None
        _needs_id(self, "a sub-resource", "/orders/{id}/products", 'params: {order_id: "{id}"}')
        return self

    def value_in(self, body: Any) -> Any:
        """The field's value in one answer (None when nothing is at ``dataProperty``)."""
        return self._data.get(body) if self._data else body


class Endpoints(DefinitionModel):
    """The calls of a resource: its listing, and the details of one record; at least one of them.

    Without ``list`` the resource is never listed by the scheduled sync: its records come only from
    webhooks that enrich from ``details`` (a platform with no cart list)."""

    list: Endpoint | None = Field(
        None, description="the listing the scheduled sync pages; absent: records come only from webhooks"
    )
    details: DetailsEndpoint | None = None

    @model_validator(mode="after")
    def _some(self) -> Endpoints:
        if self.list is None and self.details is None:
            raise located_error(
                (),
                "a resource needs endpoints.list (listed by the scheduled sync), endpoints.details "
                "(fetched by id, for webhooks that enrich), or both",
            )
        return self


class Each(DefinitionModel):
    """A listed record that stands for the items of one of its lists (an order for its fulfillments)."""

    path: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="the listed record's field holding the items"
    )
    parent: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="the name each item gets the listed record under (without the list), e.g. order",
    )

    def items_of(self, listed: Any) -> list[Any]:
        """The items ``listed`` stands for, each with ``listed`` (less the items) under ``parent``."""
        if not isinstance(listed, dict):
            return []
        items = listed.get(self.path)
        if not isinstance(items, list):
            return []
        parent = {name: value for name, value in listed.items() if name != self.path}
        return [{**item, self.parent: parent} for item in items if isinstance(item, dict)]


class ResponseMapping(DefinitionModel):
    """Where a list response holds its records and their total; without ``dataProperty`` the body
    itself must be the list (a bare JSON array)."""

    dataProperty: RecordPath | None = Field(
        None, description="path of the record list; absent: the body is the list"
    )
    totalProperty: RecordPath | None = Field(None, description="path of the total record count")
    each: Each | None = Field(
        None,
        description="each listed record stands for the items of one of its lists, mapped one by one "
        "with the listed record under a name (a platform's orders carrying their shipments); paging, "
        "totals and page sizes still count the listed records",
    )

    _data: CompiledPath | None = PrivateAttr(None)
    _total: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> ResponseMapping:
        self._data = compile_path(self.dataProperty) if self.dataProperty else None
        self._total = compile_path(self.totalProperty) if self.totalProperty else None
        return self

    def data_in(self, body: Any) -> Any:
        """What sits at ``dataProperty`` (the whole body without one)."""
        return self._data.get(body) if self._data else body

    def listed_in(self, body: Any) -> list[Any] | None:
        """What one list response lists (before ``each``), or None when the body has no list where
        expected: what pagination counts."""
        found = self.data_in(body)
        return found if isinstance(found, list) else None

    def records_in(self, body: Any) -> list[Any] | None:
        """The records of one list response (with ``each``, the items its listed records hold)."""
        listed = self.listed_in(body)
        return None if listed is None else self.records_of(listed)

    def records_of(self, listed: list[Any]) -> list[Any]:
        """The records ``listed`` stands for: itself, or with ``each`` the items of each."""
        if self.each is None:
            return listed
        return [item for record in listed for item in self.each.items_of(record)]

    def total_in(self, body: Any) -> int | None:
        if self._total is None:
            return None
        total = self._total.get(body)
        return int(total) if isinstance(total, int | float) and not isinstance(total, bool) else None
