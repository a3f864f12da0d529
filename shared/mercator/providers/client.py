"""The provider client: lists and fetches one integration's records the way its connector describes.

One ProviderClient serves one integration: its definition, its credentials, its rate limiter and one
httpx.AsyncClient reused for every call (injected, or created here under the egress guard of
mercator.providers.egress and closed on exit). Nothing is global, so a Lambda can hold one client per
integration for the length of an invocation.

Page-number and offset listings know how many pages follow as soon as the first page reports a total;
the client then keeps up to ``page_prefetch`` pages in flight while handing them out strictly in
order, because a one-page-at-a-time walk with 100 ms of latency can never use a 20 requests/s budget.

A request's query is the endpoint URL's own query string, then the endpoint's ``params``, then the
incremental filter, then the page's own parameters; a later one wins a name an earlier one gives (the
definition refuses a name given both in the URL and in ``params``, and a paging parameter given
either way). A list page that answers 204 or an empty body is an empty last page; a details call that
does is an error for its id.

A details endpoint with ``matchBy`` answers a list: the record is the item whose ``matchBy`` value is
the id asked for, and a list without it raises ProviderRecordNotFoundError (the record is gone, as a
404 says). Each of a resource's ``subResources`` is one more call per record, through the same
limiter, retries and counters, whose answer fills its field of the record; a failed one raises
SubResourceError for that id alone, so no record is returned without its sub-resources.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx

from mercator.connector.auth import BasicAuth
from mercator.connector.definition import ConnectorDefinition
from mercator.connector.endpoints import (
    ID_PLACEHOLDER,
    DetailsEndpoint,
    Endpoint,
    QueryValue,
    SubResource,
)
from mercator.connector.placeholders import fill
from mercator.connector.sync import Resource
from mercator.domain.errors import MissingCredentialError
from mercator.domain.pages import ClientStats, DetailResult, Page, PageCheckpoint
from mercator.domain.provider_errors import (
    ProviderCredentialsError,
    ProviderError,
    ProviderHTTPError,
    ProviderRecordNotFoundError,
    ProviderResponseError,
    StoreAddressError,
    SubResourceError,
)
from mercator.domain.rate_limits import RateLimiter
from mercator.providers.egress import EgressPolicy
from mercator.providers.paginators import (
    PageResponse,
    PaginationStuckError,
    Strategy,
    query_value,
    strategy_for,
)
from mercator.providers.redaction import Redactor
from mercator.providers.retries import RetryPolicy
from mercator.providers.sender import Reply, RequestSender, store_message
from mercator.providers.store_clock import store_clock
from mercator.providers.token_refresh import ACCESS_TOKEN, SessionTokens

logger = logging.getLogger(__name__)

EndpointKind = Literal["list", "details"]
_UNAUTHORIZED = 401
_NO_CONTENT = 204


@dataclass(frozen=True)
class _Fetched:
    response: PageResponse
    method: str
    served_at: datetime | None = None
    empty: bool = False  # the page answered 204 or an empty body: the listing ends here


_CREDENTIALS_REFUSED = frozenset({401, 403})


def refusal_reason(excerpt: str) -> str | None:
    """The provider's own words in an error body: its message field when the body is JSON, else None."""
    return store_message(excerpt.strip())


class ProviderClient:
    """Lists and fetches records of one integration; use ``async with`` (or ``aclose``)."""

    def __init__(
        self,
        definition: ConnectorDefinition,
        credentials: Mapping[str, str],
        *,
        limiter: RateLimiter,
        http: httpx.AsyncClient | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        details_concurrency: int = 8,
        page_prefetch: int = 4,
        tokens: SessionTokens | None = None,
        egress: EgressPolicy | None = None,
        owns_http: bool = False,
    ) -> None:
        if details_concurrency < 1:
            raise ValueError(f"details_concurrency must be at least 1, not {details_concurrency}")
        if page_prefetch < 1:
            raise ValueError(f"page_prefetch must be at least 1, not {page_prefetch}")
        self.definition = definition
        self._credentials = dict(credentials)
        self._details_concurrency = details_concurrency
        self._page_prefetch = page_prefetch
        sync = definition.sync

        auth, secrets = self._auth()
        self._auth_secrets = secrets
        self.redactor = Redactor(self._credentials, extra=secrets)
        base = fill(base_url or sync.baseUrl, self._credentials, "sync.baseUrl")
        scheme, separator, rest = base.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https") or not separator or not rest.strip("/"):
            raise ValueError(
                f"the base URL {self.redactor.url(base)!r} is not an absolute http(s) URL; "
                "check the credentials it is built from"
            )
        # A store URL typed with a trailing slash must not turn "[[storeUrl]]/wp-json" into "//wp-json".
        self.base_url = f"{scheme}://{re.sub('/{2,}', '/', rest).rstrip('/')}"
        try:
            self._base = httpx.URL(self.base_url)
        except httpx.InvalidURL:
            raise StoreAddressError() from None
        self._headers = self._filled_headers()
        timeout = sync.syncConfiguration.timeout / 1000
        self._owns_http = http is None or owns_http
        # Made here, the client is always guarded: by ``egress``, else by the strictest policy.
        self._http = http or (egress or EgressPolicy()).async_client(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=details_concurrency + page_prefetch,
                max_keepalive_connections=details_concurrency + page_prefetch,
            ),
            headers={"User-Agent": "Mercator"},
        )
        self.stats = ClientStats()
        self._limiter = limiter
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._basic_auth = auth
        self._tokens = tokens
        self._sender = self._new_sender()
        self._strategies: dict[str, Strategy] = {}
        self._params: dict[tuple[str, str], dict[str, str]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it or was given it to own; another stays open."""
        if self._owns_http:
            await self._http.aclose()

    # Listing

    async def pages(
        self,
        resource_key: str,
        *,
        since: datetime | None = None,
        resume: PageCheckpoint | None = None,
        page_size: int | None = None,
    ) -> AsyncGenerator[Page, None]:
        """The pages of a resource's list endpoint, in order, from the start or from ``resume``.

        Close the iterator (``contextlib.aclosing``) when stopping early, so prefetched requests end.
        """
        resource = self.resource(resource_key)
        strategy = self._strategy(resource)
        start = self._start(resource, strategy, since, resume, page_size)
        if strategy.positional and self._page_prefetch > 1:
            walk = self._prefetched(resource, strategy, start)
        else:
            walk = self._sequential(resource, strategy, start)
        async with aclosing(walk):
            async for page in walk:
                yield page

    async def _sequential(
        self, resource: Resource, strategy: Strategy, at: PageCheckpoint
    ) -> AsyncGenerator[Page, None]:
        while True:
            fetched = await self._fetch_page(resource, strategy, at)
            page = self._page(resource, strategy, at, fetched)
            yield page
            if page.next is None:
                return
            at = page.next

    async def _prefetched(
        self, resource: Resource, strategy: Strategy, start: PageCheckpoint
    ) -> AsyncGenerator[Page, None]:
        ahead: deque[tuple[PageCheckpoint, asyncio.Task[_Fetched]]] = deque()

        def schedule(at: PageCheckpoint) -> None:
            ahead.append((at, asyncio.create_task(self._fetch_page(resource, strategy, at))))

        try:
            schedule(start)
            while ahead:
                at, task = ahead.popleft()
                fetched = await task
                page = self._page(resource, strategy, at, fetched)
                if page.next is None or (ahead and ahead[0][0] != page.next):
                    await _cancel(task for _, task in ahead)
                    ahead.clear()
                if page.next is not None:
                    if not ahead:
                        schedule(page.next)
                    known = strategy.pages_after(at, fetched.response)
                    if known is not None:
                        while len(ahead) < self._page_prefetch and ahead[-1][0].number < at.number + known:
                            schedule(strategy.after(ahead[-1][0]))
                yield page
        finally:
            await _cancel(task for _, task in ahead)

    def _start(
        self,
        resource: Resource,
        strategy: Strategy,
        since: datetime | None,
        resume: PageCheckpoint | None,
        page_size: int | None,
    ) -> PageCheckpoint:
        if resume is not None:
            if since is not None or page_size is not None:
                raise ValueError(
                    "a resumed listing keeps the since and page size it started with; pass resume alone"
                )
            if resume.resource != resource.name:
                raise ValueError(
                    f"the checkpoint belongs to resource {resume.resource!r}, not {resource.name!r}"
                )
            if resume.pagination != strategy.kind:
                raise ValueError(
                    f"the checkpoint was made for {resume.pagination} pagination, but resource "
                    f"{resource.name!r} now uses {strategy.kind}; start the listing again"
                )
            return resume
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        query: dict[str, str] = {}
        if since is not None:
            if resource.incremental is None:
                raise ValueError(
                    f"resource {resource.name!r} has no incremental block, so it cannot list records since "
                    "a time; list it without since"
                )
            query = {name: query_value(value) for name, value in resource.incremental.query(since).items()}
        return strategy.first(query, page_size, since)

    async def _fetch_page(self, resource: Resource, strategy: Strategy, at: PageCheckpoint) -> _Fetched:
        request = strategy.request(at)
        endpoint = self._list_endpoint(resource)
        if request.url is None:
            url = self._endpoint_url(resource, "list")
            params: dict[str, str] | None = {**self._endpoint_params(resource, "list"), **request.params}
        else:
            url = self._stored_to_url(request.url, resource)
            params = None
        reply = await self._send(endpoint.method, url, params=params)
        if reply.empty:
            # Platforms answer a page past the end with 204 or nothing at all: an empty last page.
            response = PageResponse(None, reply.headers, [], reply.url)
            return _Fetched(response, endpoint.method, store_clock(reply), empty=True)
        records = resource.responseMapping.records_in(reply.body)
        if records is None:
            path = resource.responseMapping.dataProperty
            found = resource.responseMapping.data_in(reply.body)
            raise ProviderResponseError(
                endpoint.method,
                self.redactor.url(reply.url),
                f"expected a list of records at {path or 'the top level'!r}, found {_describe(found)}",
                status=reply.status,
            )
        return _Fetched(
            PageResponse(reply.body, reply.headers, records, reply.url), endpoint.method, store_clock(reply)
        )

    def _page(self, resource: Resource, strategy: Strategy, at: PageCheckpoint, fetched: _Fetched) -> Page:
        response = fetched.response
        records = response.records
        try:
            # An answer with no content has no next link or cursor to follow, whatever stopOnEmptyPage says.
            following = None if fetched.empty else strategy.next(at, response)
        except PaginationStuckError as exc:
            raise ProviderResponseError(fetched.method, self.redactor.url(response.url), str(exc)) from None
        if at.since is not None and resource.incremental is not None and resource.incremental.stopWhenOlder:
            window = resource.incremental.window_start(at.since)
            kept = [record for record in records if not self._older(resource, record, window)]
            if len(kept) < len(records):
                records, following = kept, None
        if following is not None and following.url is not None:
            following = following.model_copy(
                update={"url": self._url_to_stored(following.url, response.url, fetched.method)}
            )
        return Page(records, at.number, strategy.total(response), following, fetched.served_at)

    # Details

    async def details(self, resource_key: str, record_id: str | int) -> dict[str, Any]:
        """One record from the resource's details endpoint, unwrapped from its ``dataProperty`` (or
        found by ``matchBy`` in the list it answers), with each sub-resource's answer in its field."""
        resource = self.resource(resource_key)
        endpoint = self._details_endpoint(resource)
        text = str(record_id)
        if not text:
            raise ValueError("a record id must not be empty")
        url = self._endpoint_url(resource, "details").replace(ID_PLACEHOLDER, quote(text, safe=""))
        reply = await self._send(
            endpoint.method, url, params=_with_id(self._endpoint_params(resource, "details"), text)
        )
        if reply.empty:
            what = "204 No Content" if reply.status == _NO_CONTENT else "an empty body"
            raise ProviderResponseError(
                endpoint.method,
                self.redactor.url(reply.url),
                f"the answer is {what}, not the record of id {text!r}",
                status=reply.status,
            )
        where = endpoint.dataProperty or "the top level"
        if endpoint.matchBy is not None:
            listed = endpoint.records_in(reply.body)
            if listed is None:
                found_there = _describe(endpoint.record_in(reply.body))
                raise ProviderResponseError(
                    endpoint.method,
                    self.redactor.url(reply.url),
                    f"expected a list of records at {where!r}, found {found_there}",
                    status=reply.status,
                )
            record = endpoint.match(listed, text)
            if record is None:
                raise ProviderRecordNotFoundError(
                    endpoint.method, self.redactor.url(reply.url), text, endpoint.matchBy
                )
            found = f"the item whose {endpoint.matchBy!r} is {text!r} in {where!r}"
        else:
            record = endpoint.record_in(reply.body)
            found = repr(where)
        if not isinstance(record, dict):
            raise ProviderResponseError(
                endpoint.method,
                self.redactor.url(reply.url),
                f"expected a record object at {found}, found {_describe(record)}",
                status=reply.status,
            )
        for field_name, sub in resource.subResources.items():
            try:
                value = await self._sub_resource(resource, field_name, sub, text)
            except ProviderError as exc:
                raise SubResourceError(field_name, text, exc) from exc
            record = {**record, field_name: value}
        return record

    async def _sub_resource(
        self, resource: Resource, field_name: str, sub: SubResource, record_id: str
    ) -> Any:
        """The value a sub-resource's answer gives its field of the record ``record_id``."""
        where = f"sync.resources.{resource.name}.subResources.{field_name}"
        url = fill(sub.url, self._credentials, f"{where}.url")
        url = (self.base_url + url if url.startswith("/") else url).replace(
            ID_PLACEHOLDER, quote(record_id, safe="")
        )
        params = self._filled_params(
            (resource.name, f"subResources.{field_name}"), f"{where}.params", sub.params
        )
        reply = await self._send(sub.method, url, params=_with_id(params, record_id))
        if reply.empty:
            what = "204 No Content" if reply.status == _NO_CONTENT else "an empty body"
            raise ProviderResponseError(
                sub.method,
                self.redactor.url(reply.url),
                f"the answer is {what}, not the {field_name} of id {record_id!r}",
                status=reply.status,
            )
        value = sub.value_in(reply.body)
        if value is None:
            raise ProviderResponseError(
                sub.method,
                self.redactor.url(reply.url),
                f"expected the {field_name} at {sub.dataProperty or 'the top level'!r}, found nothing",
                status=reply.status,
            )
        return value

    async def details_many(
        self, resource_key: str, ids: Iterable[str | int], *, concurrency: int | None = None
    ) -> AsyncIterator[DetailResult]:
        """Details of many ids, at most ``concurrency`` at a time, yielded as they complete.

        A ProviderError for one id is reported in its DetailResult and the others go on. Close the
        iterator (``contextlib.aclosing``) when stopping early, so the remaining calls are cancelled.
        """
        limit = self._details_concurrency if concurrency is None else concurrency
        if limit < 1:
            raise ValueError(f"concurrency must be at least 1, not {limit}")
        self._details_endpoint(self.resource(resource_key))
        pending = iter(ids)
        # Bounded, so a slow consumer holds the workers back instead of piling up records.
        results: asyncio.Queue[DetailResult | BaseException | None] = asyncio.Queue(maxsize=limit)

        async def worker() -> None:
            try:
                for record_id in pending:  # shared: each worker takes the next id
                    try:
                        record = await self.details(resource_key, record_id)
                    except ProviderError as exc:
                        await results.put(DetailResult(str(record_id), None, exc))
                    else:
                        await results.put(DetailResult(str(record_id), record, None))
            except Exception as exc:  # not a provider's answer (a missing credential): stop everything
                await results.put(exc)
                return
            # Only on completion: a cancelled worker must not wait on a full queue nobody reads.
            await results.put(None)

        workers = [asyncio.create_task(worker()) for _ in range(limit)]
        try:
            finished = 0
            while finished < limit:
                item = await results.get()
                if item is None:
                    finished += 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            await _cancel(workers)

    # Checks

    async def probe(self) -> None:
        """One list request of the first enabled resource, at the smallest page size it allows.

        It proves the credentials and the store's address before an integration is stored: the
        provider refusing the credentials (401, 403) raises ProviderCredentialsError with its reason,
        any other failure its ProviderError. Nothing is prefetched and the records are not read.
        """
        resource = next(
            (found for found in self.definition.resources.values() if found.enabled and found.listed), None
        )
        if resource is None:
            raise ValueError(
                f"connector {self.definition.name!r} has no enabled resource with a list endpoint to check "
                "the credentials with"
            )
        strategy = self._strategy(resource)
        try:
            await self._fetch_page(resource, strategy, self._start(resource, strategy, None, None, 1))
        except ProviderHTTPError as exc:
            if exc.status in _CREDENTIALS_REFUSED:
                raise ProviderCredentialsError(
                    exc, exc.store_message or refusal_reason(exc.excerpt)
                ) from None
            raise

    # Writes

    async def update_status(self, record_id: str, status: str) -> None:
        """Set one record's status through the connector's ``sync.actions.updateStatus`` call."""
        endpoint = self.definition.sync.actions.updateStatus
        if endpoint is None:
            raise ValueError(
                f"connector {self.definition.name!r} has no sync.actions.updateStatus: "
                "it cannot set a record's status"
            )
        if not record_id:
            raise ValueError("a record id must not be empty")
        if not status:
            raise ValueError("a status must not be empty")
        url = fill(endpoint.path_for(record_id), self._credentials, "sync.actions.updateStatus.url")
        url = self.base_url + url if url.startswith("/") else url
        await self._send(endpoint.method, url, json=endpoint.body_for(status, record_id))

    # Sending, with the session's current access token

    async def _send(
        self, method: str, url: str, *, params: Mapping[str, str] | None = None, json: Any = None
    ) -> Reply:
        """One provider call; with renewable tokens, renewed before they expire and once after a 401."""
        tokens = self._tokens
        if tokens is None:
            return await self._sender.send(method, url, params=params, headers=self._headers, json=json)
        url, params = self._use(await tokens.fresh(), url, params)
        sent_with = self._credentials.get(ACCESS_TOKEN, "")
        try:
            return await self._sender.send(method, url, params=params, headers=self._headers, json=json)
        except ProviderHTTPError as exc:
            if exc.status != _UNAUTHORIZED:
                raise
            renewed = await tokens.after_rejection(sent_with)
            if renewed is None:
                raise
        url, params = self._use(renewed, url, params)
        return await self._sender.send(method, url, params=params, headers=self._headers, json=json)

    def _use(
        self, credentials: Mapping[str, str], url: str, params: Mapping[str, str] | None
    ) -> tuple[str, Mapping[str, str] | None]:
        """Switch to renewed credentials; ``url`` and ``params``, built with the old ones, rebuilt."""
        if credentials == self._credentials:
            return url, params
        previous = self.redactor
        # Replaced tokens stay masked: a late log line or error may still quote one.
        replaced = [value for name, value in self._credentials.items() if credentials.get(name) != value]
        self._credentials = dict(credentials)
        self.redactor = Redactor(self._credentials, extra=[*self._auth_secrets, *replaced])
        self._headers = self._filled_headers()
        self._params.clear()
        self._sender = self._new_sender()

        def rebuilt(text: str) -> str:
            return fill(previous.templatize(text), self._credentials, "a request built before the renewal")

        return rebuilt(url), None if params is None else {
            name: rebuilt(value) for name, value in params.items()
        }

    def _filled_headers(self) -> dict[str, str]:
        return {
            name: fill(value, self._credentials, f"sync.headers.{name}")
            for name, value in self.definition.sync.headers.items()
        }

    def _new_sender(self) -> RequestSender:
        return RequestSender(
            self._http,
            limiter=self._limiter,
            retry=self._retry,
            redactor=self.redactor,
            timeout=self._timeout,
            auth=self._basic_auth,
            stats=self.stats,
        )

    # Definition lookups

    def resource(self, resource_key: str) -> Resource:
        """A resource of the definition, or a listing its ``deletions`` derive (``orders:deletions``,
        ``orders:sweep``); ValueError naming the valid keys when it has no such one."""
        name, colon, part = resource_key.partition(":")
        found = self.definition.resources.get(name)
        if found is not None and colon:
            found = found.derived(colon + part)
        if found is None:
            valid = ", ".join(self.definition.resources) or "none"
            raise ValueError(
                f"connector {self.definition.name!r} has no resource {resource_key!r}; resources: {valid}"
            )
        return found

    def _list_endpoint(self, resource: Resource) -> Endpoint:
        endpoint = resource.endpoints.list
        if endpoint is None:
            raise ValueError(
                f"resource {resource.name!r} has no endpoints.list to page: its records come only from "
                "webhooks that enrich"
            )
        return endpoint

    def _details_endpoint(self, resource: Resource) -> DetailsEndpoint:
        endpoint = resource.endpoints.details
        if endpoint is None:
            raise ValueError(f"resource {resource.name!r} has no endpoints.details to fetch records with")
        return endpoint

    def _strategy(self, resource: Resource) -> Strategy:
        strategy = self._strategies.get(resource.name)
        if strategy is None:
            strategy = self._strategies[resource.name] = strategy_for(resource)
        return strategy

    def _endpoint(self, resource: Resource, kind: EndpointKind) -> Endpoint:
        return self._list_endpoint(resource) if kind == "list" else self._details_endpoint(resource)

    def _endpoint_url(self, resource: Resource, kind: EndpointKind) -> str:
        where = f"sync.resources.{resource.name}.endpoints.{kind}.url"
        url = fill(self._endpoint(resource, kind).url, self._credentials, where)
        return self.base_url + url if url.startswith("/") else url

    def _endpoint_params(self, resource: Resource, kind: EndpointKind) -> dict[str, str]:
        where = f"sync.resources.{resource.name}.endpoints.{kind}.params"
        return self._filled_params((resource.name, kind), where, self._endpoint(resource, kind).params)

    def _filled_params(
        self, key: tuple[str, str], where: str, written: Mapping[str, QueryValue]
    ) -> dict[str, str]:
        """An endpoint's params with credentials filled in, once per credentials."""
        params = self._params.get(key)
        if params is None:
            params = self._params[key] = {
                name: query_value(fill(value, self._credentials, f"{where}.{name}"))
                if isinstance(value, str)
                else query_value(value)
                for name, value in written.items()
            }
        return params

    def _auth(self) -> tuple[httpx.Auth | None, list[str]]:
        auth = self.definition.auth
        if not isinstance(auth, BasicAuth):
            return None, []
        user = self._credential(auth.username, "auth.username")
        password = self._credential(auth.password, "auth.password")
        # The encoded pair, as it travels in the Authorization header, must never show up either.
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return httpx.BasicAuth(user, password), [encoded]

    def _credential(self, name: str, where: str) -> str:
        value = self._credentials.get(name)
        if value is None or value == "":
            raise MissingCredentialError(name, where)
        return str(value)

    # Next-page URLs: stored without credentials, resolved with them

    def _url_to_stored(self, target: str, answered: str, method: str) -> str:
        url = httpx.URL(target)
        if url.host == self._base.host:
            # Zid links its next pages over http://; never downgrade a call that carries credentials.
            url = url.copy_with(scheme=self._base.scheme, port=self._base.port)
        elif url.host != httpx.URL(answered).host:
            raise ProviderResponseError(
                method,
                self.redactor.url(answered),
                f"the next-page link leads to another host ({self.redactor.text(url.host)}); "
                "Mercator does not send the integration's credentials there",
            )
        text = str(url)
        if text.startswith(self.base_url + "/"):
            text = text[len(self.base_url) :]
        return self.redactor.templatize(text)

    def _older(self, resource: Resource, record: Any, window: datetime) -> bool:
        updated = resource.updated_at(record)
        return updated is not None and updated < window  # an unreadable date does not end the listing

    def _stored_to_url(self, stored: str, resource: Resource) -> str:
        url = fill(stored, self._credentials, "a stored next-page URL")
        if url.startswith("/"):
            return self.base_url + url
        # A checkpoint travels through queues: it must not be able to send credentials anywhere else.
        allowed = {self._base.host, httpx.URL(self._endpoint_url(resource, "list")).host}
        if httpx.URL(url).host not in allowed:
            raise ValueError(
                f"the checkpoint's next-page URL {self.redactor.url(url)!r} leads away from the "
                "connector's hosts; start the listing again"
            )
        return url


def _with_id(params: Mapping[str, str], record_id: str) -> dict[str, str]:
    # The raw id: httpx encodes query values itself, and quoting here would encode it twice.
    return {name: value.replace(ID_PLACEHOLDER, record_id) for name, value in params.items()}


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    pending = list(tasks)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    names: dict[type, str] = {dict: "an object", list: "a list", str: "text"}
    return names.get(type(value), type(value).__name__)
