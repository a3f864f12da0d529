"""The ``sync`` block: base URL and headers, batch settings, resources and webhook handlers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import AfterValidator, Field, PrivateAttr, field_validator, model_validator

from mercator.connector.base import DefinitionModel, RecordPath, located_error, mapping_error
from mercator.connector.endpoints import (
    FIELD_NAME,
    ID_PLACEHOLDER,
    Endpoint,
    Endpoints,
    QueryValue,
    ResponseMapping,
    SubResource,
    paging_params,
    query_names,
)
from mercator.connector.mappings import MappingSpec
from mercator.connector.pagination import Incremental, PageNumberPagination, Pagination
from mercator.domain.content_types import CONTENT_TYPES, RECORD_TYPES
from mercator.domain.host_patterns import matching, pattern_problem
from mercator.mapping import (
    CompiledMapping,
    CompiledPath,
    MappingDefinitionError,
    MappingError,
    compile_mapping,
    compile_path,
)
from mercator.mapping.engine import Location

# Suffixes of the listings a resource's ``deletions`` block derives; resource keys never hold a colon.
DELETIONS = ":deletions"
SWEEP = ":sweep"


class SyncConfiguration(DefinitionModel):
    """Batch size, request rate and timeout of every sync call."""

    enabled: bool = True
    batchSize: int = Field(100, ge=1, le=10_000, description="records handed on per batch")
    rateLimitPerSecond: float = Field(5, gt=0, le=1_000, description="requests per second across all workers")
    timeout: int = Field(30_000, ge=100, le=900_000, description="per-request timeout in milliseconds")


class ResourceSamples(DefinitionModel):
    """Sample responses of the resource's endpoints, checked by ``mercator validate``."""

    list: str | None = Field(None, description="file with a list response (relative to the definition)")
    details: str | None = Field(None, description="file with a details response")
    subResources: dict[str, str] = Field(
        default_factory=dict,
        description="file with each sub-resource's answer, by its key; merged into the details sample",
    )


def _content_type(value: str) -> str:
    if value not in CONTENT_TYPES:
        raise ValueError(f"unknown content type {value!r}; valid: {', '.join(CONTENT_TYPES)}")
    return value


ContentType = Annotated[
    str,
    AfterValidator(_content_type),
    Field(description="content type the records map into", json_schema_extra={"enum": list(CONTENT_TYPES)}),
]


class DeletionFeed(DefinitionModel):
    """A listing of what the platform deleted since a time: Shopify's Events API (``verb=destroy``),
    WooCommerce's trash (``status=trash``). Each incremental run of the resource reads it from where
    the last one stopped, and marks each id it lists deleted."""

    endpoint: Endpoint = Field(description="the list endpoint of deletions (its params sent every time)")
    pagination: Pagination = Field(default_factory=lambda: PageNumberPagination(type="page_number"))
    responseMapping: ResponseMapping = Field(default_factory=ResponseMapping)
    incremental: Incremental = Field(
        description="the since filter; recordUpdatedAt is the path of the deletion's time in an item"
    )
    idPath: RecordPath = Field("id", description="path of the deleted record's code in an item")


class DeletionSweep(DefinitionModel):
    """A whole listing of the resource, ids only, on a slower schedule, for platforms that report
    deletions no other way: what a complete, settled sweep does not show is deleted (behind the
    mass-delete guard)."""

    everySeconds: int = Field(86_400, ge=3_600, le=30 * 86_400, description="time between two sweeps")
    params: dict[str, QueryValue] = Field(
        default_factory=dict,
        description="extra query parameters that make the listing light (Shopify: fields=id); the "
        "listed items must still carry the id and whatever the code is mapped from",
    )


class Deletions(DefinitionModel):
    """How Mercator learns of deletions a resource's listing cannot show (it lists by updated-since)."""

    feed: DeletionFeed | None = None
    sweep: DeletionSweep | None = None

    @model_validator(mode="after")
    def _some(self) -> Deletions:
        if self.feed is None and self.sweep is None:
            raise ValueError("deletions needs feed, sweep or both")
        return self


class Resource(DefinitionModel):
    """One kind of record the store lists (orders, products...): how to list it and map it."""

    name: str
    displayName: str
    description: str = ""
    contentType: ContentType
    enabled: bool = True
    expandDetails: bool = False
    idPath: RecordPath = Field("id", description="path of the record id in a list item (fills {id})")
    endpoints: Endpoints
    pagination: Pagination = Field(default_factory=lambda: PageNumberPagination(type="page_number"))
    responseMapping: ResponseMapping = Field(default_factory=ResponseMapping)
    incremental: Incremental | None = None
    apiMapping: MappingSpec
    deletions: Deletions | None = Field(
        None, description="where deletions come from when the listing cannot show them"
    )
    subResources: dict[str, SubResource] = Field(
        default_factory=dict,
        description="calls merged into each record's details before apiMapping, by the field they fill "
        "(items: {url: /orders/{id}/products}); each costs one more request per record",
    )
    icon: str | None = None
    samples: ResourceSamples = Field(default_factory=ResourceSamples)

    _compiled: CompiledMapping | None = PrivateAttr(None)
    _code: CompiledMapping | None = PrivateAttr(None)
    _id: CompiledPath | None = PrivateAttr(None)
    _derived: dict[str, Resource] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _listed_or_fetched(self) -> Resource:
        # Keys that only a listing reads would be silently ignored on a resource that is never listed.
        if self.endpoints.list is None:
            for key in ("pagination", "responseMapping", "incremental", "deletions", "expandDetails"):
                if key in self.model_fields_set and getattr(self, key) not in (None, False):
                    raise located_error(
                        key,
                        f"{key} applies to endpoints.list, which this resource does not have (its "
                        "records come only from webhooks that enrich from endpoints.details); remove it",
                    )
            if self.samples.list is not None:
                raise located_error(
                    ("samples", "list"),
                    "this resource has no endpoints.list, so there is no list response to sample; "
                    "give samples.details",
                )
        if self.responseMapping.each is not None:
            # Details, sweeps and deletion feeds address listed records by id, not the items of each.
            for key, given in (
                ("deletions", self.deletions),
                ("expandDetails", self.expandDetails or None),
                ("endpoints.details", self.endpoints.details),
            ):
                if given is not None:
                    raise located_error(
                        key,
                        f"{key} addresses listed records by id, but responseMapping.each maps the items "
                        "they hold; remove it (the items' records are kept current by the listing and "
                        "webhooks)",
                    )
        for key in self.subResources:
            if not FIELD_NAME.match(key):
                raise located_error(
                    ("subResources", key),
                    f"{key!r} is not a field name; a sub-resource's key is the field of the details "
                    "its answer fills: letters, digits, '_' and '-', not starting with a digit (items)",
                )
        if self.subResources and self.endpoints.details is None:
            raise located_error(
                "subResources", "sub-resources are fetched with each record's details: add endpoints.details"
            )
        if self.subResources and self.endpoints.list is not None and not self.expandDetails:
            raise located_error(
                "subResources",
                "sub-resources are fetched with each record's details, and without expandDetails the "
                "listed records would be written without them; set expandDetails: true",
            )
        for key in self.samples.subResources:
            if key not in self.subResources:
                raise located_error(
                    ("samples", "subResources", key),
                    f"unknown sub-resource {key!r}; valid: {', '.join(self.subResources) or 'none'}",
                )
        return self

    @model_validator(mode="after")
    def _paging_params_are_mercators(self) -> Resource:
        # The listing sets these on every page: a fixed value written beside them would be replaced.
        list_endpoint = self.endpoints.list
        if list_endpoint is None:
            return self
        listings: list[tuple[Location, str, dict[str, QueryValue], Pagination]] = [
            (("endpoints", "list"), list_endpoint.url, list_endpoint.params, self.pagination)
        ]
        feed = self.deletions.feed if self.deletions else None
        if feed is not None:
            listings.append(
                (("deletions", "feed", "endpoint"), feed.endpoint.url, feed.endpoint.params, feed.pagination)
            )
        sweep = self.deletions.sweep if self.deletions else None
        if sweep is not None:
            listings.append((("deletions", "sweep"), "", sweep.params, self.pagination))
        for where, url, params, pagination in listings:
            paging = paging_params(pagination)
            for name in [*query_names(url), *params]:
                if name in paging:
                    raise located_error(
                        (*where, "params", name) if name in params else (*where, "url"),
                        f"{name!r} is the pagination's {paging[name]}, which the listing sets on every "
                        "page; leave it out here",
                    )
        return self

    @model_validator(mode="after")
    def _compile(self) -> Resource:
        if self.expandDetails and self.endpoints.details is None:
            raise located_error("endpoints.details", "expandDetails: true needs endpoints.details")
        self._id = compile_path(self.idPath)
        try:
            self._compiled = compile_mapping(self.apiMapping, scope=f"resource {self.name}")
            code_rule = self.apiMapping.get("code")
            if code_rule is not None:
                self._code = compile_mapping({"code": code_rule}, scope=f"resource {self.name}")
        except MappingDefinitionError as exc:
            raise mapping_error("apiMapping", exc) from None
        self._derived = self._derive()
        return self

    def _derive(self) -> dict[str, Resource]:
        """The listings a ``deletions`` block adds, as resources of their own that the client can page."""
        derived: dict[str, Resource] = {}
        if self.deletions is None:
            return derived
        feed = self.deletions.feed
        if feed is not None:
            derived[DELETIONS] = Resource(
                name=f"{self.name}{DELETIONS}",
                displayName=f"{self.displayName}: deletions",
                contentType=self.contentType,
                idPath=feed.idPath,
                endpoints=Endpoints(list=feed.endpoint),
                pagination=feed.pagination,
                responseMapping=feed.responseMapping,
                incremental=feed.incremental,
                apiMapping={"code": {"path": feed.idPath, "transform": "toString"}},
            )
        sweep = self.deletions.sweep
        if sweep is not None and self.endpoints.list is not None:
            listing = self.endpoints.list.model_copy(
                update={"params": {**self.endpoints.list.params, **sweep.params}}
            )
            derived[SWEEP] = Resource(
                name=f"{self.name}{SWEEP}",
                displayName=f"{self.displayName}: deletion sweep",
                contentType=self.contentType,
                idPath=self.idPath,
                endpoints=Endpoints(list=listing),
                pagination=self.pagination,
                responseMapping=self.responseMapping,
                apiMapping={"code": self.apiMapping["code"]} if "code" in self.apiMapping else {},
            )
        return derived

    def derived(self, part: str) -> Resource | None:
        """The deletion feed (``:deletions``) or sweep (``:sweep``) listing, when declared."""
        return self._derived.get(part)

    @property
    def listed(self) -> bool:
        """Whether the scheduled sync lists this resource (it has endpoints.list)."""
        return self.endpoints.list is not None

    @property
    def requests_per_record(self) -> int:
        """What fetching one record's details costs: the details call and one per sub-resource."""
        return 1 + len(self.subResources)

    @property
    def base_name(self) -> str:
        """The resource a derived listing belongs to (its own name for a resource of the definition)."""
        return self.name.split(":", 1)[0]

    def code_of(self, record: Any) -> str | None:
        """The code a listed record is written under (its apiMapping ``code`` alone); None when it has none.

        A sync that hands records to enrichment knows them only by their list entries; the deletion
        sweep needs their codes, which tracking is keyed by.
        """
        if self._code is None:
            return None
        try:
            code = self._code(record).get("code")
        except MappingError:
            return None
        return None if code is None or code == "" or isinstance(code, dict | list) else str(code)

    @property
    def mapping(self) -> CompiledMapping:
        assert self._compiled is not None
        return self._compiled

    def record_id(self, record: Any) -> Any:
        """The value at ``idPath`` in a listed record (None when absent)."""
        assert self._id is not None
        return self._id.get(record)

    def updated_at(self, record: Any) -> datetime | None:
        """The record's own updated-at (``incremental.recordUpdatedAt``); None without one."""
        return self.incremental.updated_at(record) if self.incremental else None


class EnrichRef(DefinitionModel):
    """A thin delivery (an id and no record): fetch the record through a resource's details endpoint."""

    resource: str = Field(description="key of the resource whose details endpoint fetches the record")
    idPath: RecordPath = Field(description="path of the record id in the delivery")

    _id: CompiledPath | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> EnrichRef:
        self._id = compile_path(self.idPath)
        return self

    def record_id(self, delivery: Any) -> Any:
        """The value at ``idPath`` in a delivery (None when absent)."""
        assert self._id is not None
        return self._id.get(delivery)


class WebhookHandler(DefinitionModel):
    """What one webhook event does: the record it writes and how the delivery maps into it."""

    recordType: Literal["order", "customer", "product", "cart", "shipment"]
    operation: Literal["create", "update", "upsert", "delete"]
    mapping: MappingSpec | None = Field(
        None, description="maps a delivery into the record; not given with enrich (the resource maps it)"
    )
    description: str = ""
    enrich: EnrichRef | None = None
    samples: list[str] = Field(default_factory=list, description="files with sample deliveries")

    _compiled: CompiledMapping | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> WebhookHandler:
        if self.enrich is not None:
            if self.mapping is not None:
                raise located_error(
                    "mapping",
                    f"a handler with enrich is mapped by resources.{self.enrich.resource}.apiMapping from "
                    "the details response, never by its own mapping: remove mapping (or remove enrich to "
                    "map the delivery itself)",
                )
            return self
        if self.mapping is None:
            raise located_error(
                "mapping",
                "missing required key: map the delivery into the record, or give enrich: {resource, "
                "idPath} to fetch the record through a resource's details endpoint",
            )
        try:
            self._compiled = compile_mapping(self.mapping)
        except MappingDefinitionError as exc:
            raise mapping_error("mapping", exc) from None
        return self

    @property
    def contentType(self) -> str:  # noqa: N802 - reads like the resource field it mirrors
        return RECORD_TYPES[self.recordType]

    @property
    def compiled(self) -> CompiledMapping:
        assert self._compiled is not None
        return self._compiled


class Webhooks(DefinitionModel):
    """The realtime events the connector receives, keyed by event name."""

    handlers: dict[str, WebhookHandler] = Field(default_factory=dict)


_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STATUS = "{status}"
_ID = ID_PLACEHOLDER


class UpdateStatusEndpoint(DefinitionModel):
    """How the store sets a record's status: the call behind the ``update_status`` workflow action."""

    recordType: Literal["order", "customer", "product", "cart", "shipment"] = Field(
        description="the kind of record whose status this endpoint sets"
    )
    url: str = Field(min_length=1, description="path under baseUrl (or absolute) with {id}, the record code")
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    body: dict[str, Any] = Field(
        description="JSON sent; in every text {status} becomes the status and {id} the record code"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("/", "http://", "https://")):
            raise ValueError("url must start with '/' (under baseUrl) or be absolute (http:// or https://)")
        if _ID not in value:
            raise ValueError("an updateStatus url needs the {id} placeholder, e.g. /orders/{id}/status")
        unknown = sorted(set(_TEMPLATE_FIELD.findall(value)) - {"id"})
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}} in the url; valid: {{id}}")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: dict[str, Any]) -> dict[str, Any]:
        texts = list(_texts(value))
        if not any(_STATUS in text for text in texts):
            raise ValueError('the body must carry "{status}" somewhere, e.g. {"status": "{status}"}')
        for text in texts:
            unknown = sorted(set(_TEMPLATE_FIELD.findall(text)) - {"status", "id"})
            if unknown:
                raise ValueError(
                    f"unknown placeholder {{{unknown[0]}}} in the body; valid: {{status}}, {{id}}"
                )
        return value

    @property
    def contentType(self) -> str:  # noqa: N802 - reads like the resource field it mirrors
        return RECORD_TYPES[self.recordType]

    def path_for(self, record_id: str) -> str:
        """The url with the record code in place of {id} (escaped, so a code cannot change the path)."""
        return self.url.replace(_ID, quote(record_id, safe=""))

    def body_for(self, status: str, record_id: str) -> dict[str, Any]:
        """The body with the status and the record code filled in."""
        filled = _fill_texts(self.body, lambda text: text.replace(_STATUS, status).replace(_ID, record_id))
        assert isinstance(filled, dict)
        return filled


def _texts(value: Any) -> Iterator[str]:
    """Every text inside a JSON value (keys excluded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _fill_texts(value: Any, fill_text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fill_text(value)
    if isinstance(value, dict):
        return {key: _fill_texts(item, fill_text) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill_texts(item, fill_text) for item in value]
    return value


class Actions(DefinitionModel):
    """Writes Mercator may make to the store on behalf of a tenant's workflows."""

    updateStatus: UpdateStatusEndpoint | None = None


def _host_pattern(value: str) -> str:
    problem = pattern_problem(value)
    if problem:
        raise ValueError(problem)
    return value


HostPattern = Annotated[str, AfterValidator(_host_pattern)]


class Sync(DefinitionModel):
    """How to call the store: base URL and headers, batch settings, resources, webhook handlers."""

    baseUrl: str = Field(description="prefix of every sync call; may hold [[placeholders]]")
    allowedHosts: list[HostPattern] | None = Field(
        None,
        min_length=1,
        description="hosts a tenant's own store address may name (the integration's baseUrl setting, or "
        "a credential baseUrl is made from, such as [[shopDomain]]): a host, '*.<domain>' for any host "
        "under the domain, or '*' for any host (self-hosted platforms), every address still checked "
        "to be public; unset: baseUrl's own host, or none when a placeholder names it",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="sent on every call; [[name]] from credentials"
    )
    syncConfiguration: SyncConfiguration = Field(default_factory=SyncConfiguration)
    resources: dict[str, Resource] = Field(default_factory=dict)
    webhooks: Webhooks = Field(default_factory=Webhooks)
    actions: Actions = Field(default_factory=Actions, description="writes workflows may make to the store")

    @field_validator("baseUrl")
    @classmethod
    def _base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://", "[[")):
            raise ValueError("baseUrl must be an absolute http(s) URL (it may start with a [[placeholder]])")
        if value.lower().startswith("http://"):
            raise ValueError(
                f"baseUrl {value!r} is plain http: every call would send the credentials (a bearer "
                "token) in clear; use https://"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _cross_checks(self) -> Sync:
        for key, resource in self.resources.items():
            if ":" in key:
                raise located_error(
                    ("resources", key), "a resource key must not hold ':' (it names derived listings)"
                )
            if resource.name != key:
                raise located_error(
                    ("resources", key, "name"), f"name {resource.name!r} must equal its key {key!r}"
                )
        base = origin(self.baseUrl)
        host = _written_host(self.baseUrl)
        if self.allowedHosts is not None and host and not matching(host, self.allowedHosts):
            raise located_error(
                ("allowedHosts",),
                f"baseUrl's own host {host!r} matches none of allowedHosts ({', '.join(self.allowedHosts)}); "
                "add it",
            )
        for where, url in self._absolute_urls():
            if origin(url) != base:
                raise located_error(
                    where,
                    f"{url!r} is on {origin(url)!r}, not on baseUrl's {base!r}: the connector's "
                    f"credentials would be sent there; use a path under baseUrl ('/...') or a URL on {base}",
                )
        for event, handler in self.webhooks.handlers.items():
            if handler.enrich and handler.enrich.resource not in self.resources:
                raise located_error(
                    ("webhooks", "handlers", event, "enrich", "resource"),
                    f"unknown resource {handler.enrich.resource!r}; "
                    f"valid: {', '.join(self.resources) or 'none'}",
                )
            if handler.enrich and self.resources[handler.enrich.resource].endpoints.details is None:
                raise located_error(
                    ("webhooks", "handlers", event, "enrich", "resource"),
                    f"resource {handler.enrich.resource!r} has no endpoints.details to fetch the record with",
                )
            if handler.enrich and self.resources[handler.enrich.resource].contentType != handler.contentType:
                fetched = self.resources[handler.enrich.resource].contentType
                same = [k for k, r in self.resources.items() if r.contentType == handler.contentType]
                raise located_error(
                    ("webhooks", "handlers", event, "enrich", "resource"),
                    f"resource {handler.enrich.resource!r} holds {fetched} records but the handler's "
                    f"recordType {handler.recordType!r} is {handler.contentType}; "
                    + (f"use {', '.join(map(repr, same))}" if same else "change recordType to match"),
                )
        enriched = {handler.enrich.resource for handler in self.webhooks.handlers.values() if handler.enrich}
        for key, resource in self.resources.items():
            if not resource.listed and key not in enriched:
                raise located_error(
                    ("resources", key, "endpoints"),
                    f"resource {key!r} has no endpoints.list, so the scheduled sync never lists it, and no "
                    f"webhook handler fetches its records (enrich: {{resource: {key}, idPath: ...}}); add "
                    "endpoints.list or such a handler",
                )
        return self

    def _absolute_urls(self) -> Iterator[tuple[Location, str]]:
        """Every endpoint url written as an absolute URL, with its location below sync."""
        for key, resource in self.resources.items():
            endpoints: list[tuple[Location, Endpoint | None]] = [
                (("resources", key, "endpoints", "list"), resource.endpoints.list),
                (("resources", key, "endpoints", "details"), resource.endpoints.details),
            ]
            if resource.deletions and resource.deletions.feed:
                endpoints.append(
                    (("resources", key, "deletions", "feed", "endpoint"), resource.deletions.feed.endpoint)
                )
            for field_name, sub in resource.subResources.items():
                endpoints.append((("resources", key, "subResources", field_name), sub))
            for where, endpoint in endpoints:
                if endpoint is not None and not endpoint.url.startswith("/"):
                    yield (*where, "url"), endpoint.url
        update = self.actions.updateStatus
        if update is not None and not update.url.startswith("/"):
            yield ("actions", "updateStatus", "url"), update.url

    def store_hosts(self) -> list[str]:
        """The host patterns a tenant's own store address may match: ``allowedHosts``, else baseUrl's
        own host when it is written out (a tenant may then change the path only)."""
        if self.allowedHosts is not None:
            return list(self.allowedHosts)
        host = _written_host(self.baseUrl)
        return [host] if host else []

    def attach_context(self, connector: str) -> None:
        """Name the connector and scope in every compiled mapping's errors."""
        for resource in self.resources.values():
            resource.mapping.connector = connector
            for part in (DELETIONS, SWEEP):
                derived = resource.derived(part)
                if derived is not None:
                    derived.mapping.connector = connector
        for event, handler in self.webhooks.handlers.items():
            if handler.enrich is None:
                handler.compiled.connector = connector
                handler.compiled.scope = f"event {event}"

    def placeholder_sources(self) -> dict[Location, Any]:
        """Every text that may hold [[placeholders]], keyed by its location."""
        texts: dict[Location, Any] = {("sync", "baseUrl"): self.baseUrl}
        texts.update({("sync", "headers", name): value for name, value in self.headers.items()})
        for key, resource in self.resources.items():
            for kind in ("list", "details"):
                endpoint = getattr(resource.endpoints, kind)
                if endpoint is None:
                    continue
                where: Location = ("sync", "resources", key, "endpoints", kind)
                texts[(*where, "url")] = endpoint.url
                for param, value in endpoint.params.items():
                    texts[(*where, "params", param)] = value
            for field_name, sub in resource.subResources.items():
                where = ("sync", "resources", key, "subResources", field_name)
                texts[(*where, "url")] = sub.url
                for param, value in sub.params.items():
                    texts[(*where, "params", param)] = value
            feed = resource.deletions.feed if resource.deletions else None
            if feed is not None:
                where = ("sync", "resources", key, "deletions", "feed", "endpoint")
                texts[(*where, "url")] = feed.endpoint.url
                for param, value in feed.endpoint.params.items():
                    texts[(*where, "params", param)] = value
            sweep = resource.deletions.sweep if resource.deletions else None
            if sweep is not None:
                for param, value in sweep.params.items():
                    texts[("sync", "resources", key, "deletions", "sweep", "params", param)] = value
        update = self.actions.updateStatus
        if update is not None:
            texts[("sync", "actions", "updateStatus", "url")] = update.url
        return texts

    def unfilled_texts(self) -> dict[Location, Any]:
        """Texts sent as written, where a [[placeholder]] would never be filled: incremental params
        (their values go out verbatim) and the updateStatus body (only {status} and {id} are filled)."""
        texts: dict[Location, Any] = {}
        for key, resource in self.resources.items():
            incrementals: list[tuple[Location, Incremental | None]] = [
                (("sync", "resources", key, "incremental"), resource.incremental)
            ]
            feed = resource.deletions.feed if resource.deletions else None
            if feed is not None:
                incrementals.append(
                    (("sync", "resources", key, "deletions", "feed", "incremental"), feed.incremental)
                )
            for where, incremental in incrementals:
                if incremental is not None:
                    for param, value in incremental.params.items():
                        texts[(*where, "params", param)] = value
        update = self.actions.updateStatus
        if update is not None:
            for where, text in _located_texts(update.body, ("sync", "actions", "updateStatus", "body")):
                texts[where] = text
        return texts


_ORIGIN = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^/?#]*")


def origin(url: str) -> str:
    """Scheme and host of a URL as written, placeholders unfilled (``https://[[shopDomain]]``,
    ``[[storeUrl]]``); the scheme, and a host without placeholders, in lower case."""
    written = _ORIGIN.match(url)
    scheme, separator, host = (written.group() if written else "").rpartition("://")
    return f"{scheme.lower()}{separator}{host if '[[' in host else host.lower()}"


def _written_host(url: str) -> str | None:
    """The host a URL names as written, lower case and without port; None when a placeholder gives it."""
    authority = origin(url).rpartition("://")[2].rpartition("@")[2]
    if not authority or "[[" in authority:
        return None
    return authority.rpartition(":")[0] if re.search(r":\d*$", authority) else authority


def _located_texts(value: Any, where: Location) -> Iterator[tuple[Location, str]]:
    """Every text inside a JSON value with its location (keys excluded)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _located_texts(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _located_texts(item, (*where, index))
