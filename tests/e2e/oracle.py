"""The oracle: what the records table must hold, worked out from the store's own answers.

Every record of a resource is fetched from the sandbox store with plain httpx, following the
platform's pagination by hand rather than through Mercator's provider client; where the connector
expands details, each record's details are fetched too and laid over its list entry; then each
record is mapped with ``mercator.connector.mapper``. What comes out is keyed by code, as the records
table is. The records table itself is never consulted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from mercator.connector import ConnectorDefinition, Resource
from mercator.connector.mapper import map_records

# The biggest page each platform serves (Salla cuts a bigger per_page to its cap; WooCommerce
# refuses anything over 100; Shopify cuts at 250).
SALLA_PER_PAGE = 60
WOO_PER_PAGE = 100
SHOPIFY_LIMIT = 250


@dataclass
class Expected:
    """One resource as the store has it now: mapped records by code, and what failed to map."""

    listed_ids: list[str] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # store id -> reason
    codes: dict[str, str] = field(default_factory=dict)  # store id -> code, for records that mapped

    def codes_of(self, ids: Iterable[str]) -> set[str]:
        """The codes of records given by store id (Shopify's carts are coded by cart token, not id)."""
        return {self.codes[record_id] for record_id in ids}


class StoreOracle:
    """Reads a flavor's sandbox store over HTTP and maps what it serves the way the connector says."""

    def __init__(
        self, flavor: str, definition: ConnectorDefinition, base_url: str, headers: Mapping[str, str]
    ) -> None:
        if flavor not in ("salla", "shopify", "woocommerce"):
            raise ValueError(f"no oracle for flavor {flavor!r}")
        self.flavor = flavor
        self.definition = definition
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)

    def expected(self, resource: Resource) -> Expected:
        """Every record the store lists for ``resource``, expanded and mapped."""
        with httpx.Client(headers=self.headers, timeout=10) as client:
            listed = [record for page in self._pages(client, resource) for record in page]
            details = resource.endpoints.details
            if resource.expandDetails and details is not None:
                listed = [
                    _overlay(record, self._details(client, details.url, record["id"])) for record in listed
                ]
        outcome = map_records(resource.mapping, resource.contentType, listed)
        expected = Expected(listed_ids=[str(record["id"]) for record in listed])
        failed = {failure.index for failure in outcome.failures}
        mapped = [raw for index, raw in enumerate(listed) if index not in failed]
        for raw, record in zip(mapped, outcome.records, strict=True):
            # JSON round trip: the records table keeps each record as JSON text.
            expected.records[str(record["code"])] = json.loads(json.dumps(record))
            expected.codes[str(raw["id"])] = str(record["code"])
        expected.failures = {str(failure.raw["id"]): failure.reason for failure in outcome.failures}
        return expected

    def _pages(self, client: httpx.Client, resource: Resource) -> Iterator[list[dict[str, Any]]]:
        endpoint = resource.endpoints.list
        url = self.base_url + endpoint.url
        params = {name: _query_text(value) for name, value in endpoint.params.items()}
        if self.flavor == "salla":
            yield from _salla_pages(client, url, params)
        elif self.flavor == "woocommerce":
            yield from _woo_pages(client, url, params)
        else:
            yield from _shopify_pages(client, url, params)

    def _details(self, client: httpx.Client, template: str, record_id: Any) -> dict[str, Any]:
        response = client.get(self.base_url + template.replace("{id}", str(record_id)))
        response.raise_for_status()
        body = response.json()
        if self.flavor == "salla":
            return dict(body["data"])
        if self.flavor == "shopify":
            return dict(_only_value(body))
        return dict(body)


def _salla_pages(client: httpx.Client, url: str, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    page = 1
    while True:
        response = client.get(url, params={**params, "page": page, "per_page": SALLA_PER_PAGE})
        response.raise_for_status()
        body = response.json()
        yield list(body["data"])
        if page >= body["pagination"]["totalPages"]:
            return
        page += 1


def _woo_pages(client: httpx.Client, url: str, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    page = 1
    while True:
        response = client.get(url, params={**params, "page": page, "per_page": WOO_PER_PAGE})
        response.raise_for_status()
        yield list(response.json())
        if page >= int(response.headers["X-WP-TotalPages"]):
            return
        page += 1


def _shopify_pages(client: httpx.Client, url: str, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    response = client.get(url, params={**params, "limit": SHOPIFY_LIMIT})
    while True:
        response.raise_for_status()
        yield list(_only_value(response.json()))
        following = response.links.get("next")
        if following is None:
            return
        response = client.get(following["url"])


def _query_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _only_value(body: dict[str, Any]) -> Any:
    # Shopify wraps a list or a record in one key named after the resource ({"orders": [...]}).
    if len(body) != 1:
        raise AssertionError(f"a Shopify answer holds one key, this one {sorted(body)}")
    return next(iter(body.values()))


def _overlay(listed: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """The details over the list entry: objects merge key by key, anything else from the details."""
    merged = dict(listed)
    for name, value in details.items():
        below = merged.get(name)
        merged[name] = (
            _overlay(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
        )
    return merged
