"""The requests to one store, shaped from its connector definition and the integration's credentials.

StoreRequests builds what a ProviderClient sends: the store's base URL (an absolute http(s) URL, else
ValueError, or StoreAddressError when httpx cannot parse it), the definition's headers with the
credentials filled in, Basic auth, each list, details, sub-resource and updateStatus call's URL and
params (or body), the incremental filter's query, and the definition's resources and endpoints looked
up by name. It sends nothing itself; when a session's tokens are renewed, ``use`` switches it to the
new credentials and rebuilds a request already built with the old ones.

No credential ever reaches a message: StoreRequests owns the Redactor, which masks every credential,
the encoded Basic pair and, after a renewal, the tokens it replaced; every URL or text that may go
into an error or a log line passes through it.

A next-page URL is stored in a checkpoint, and a checkpoint travels through queues and storage, so it
is stored with its credentials turned back into placeholders and filled again only when the page is
fetched. It is resolved only to the connector's hosts (the base URL's, the list endpoint's): a stored
URL, whoever wrote it, must not be able to carry the integration's credentials anywhere else.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
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
    query_value,
)
from mercator.connector.placeholders import fill
from mercator.connector.sync import Resource
from mercator.domain.errors import MissingCredentialError
from mercator.domain.provider_errors import ProviderResponseError, StoreAddressError
from mercator.providers.paginators import PageRequest
from mercator.providers.redaction import Redactor

EndpointKind = Literal["list", "details"]


class StoreRequests:
    """URLs, params, headers and auth for one integration's store, with the Redactor that masks them."""

    def __init__(
        self, definition: ConnectorDefinition, credentials: Mapping[str, str], base_url: str | None = None
    ) -> None:
        self.definition = definition
        self._credentials = dict(credentials)
        self.basic_auth, self._auth_secrets = self._auth()
        self.redactor = Redactor(self._credentials, extra=self._auth_secrets)
        base = fill(base_url or definition.sync.baseUrl, self._credentials, "sync.baseUrl")
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
        self.headers = self._filled_headers()
        # Filling params is paid once per credentials, not once per page.
        self._params: dict[tuple[str, str], dict[str, str]] = {}

    @property
    def credentials(self) -> Mapping[str, str]:
        return self._credentials

    # Renewed credentials

    def use(
        self, credentials: Mapping[str, str], url: str, params: Mapping[str, str] | None
    ) -> tuple[str, Mapping[str, str] | None] | None:
        """Switch to renewed credentials and rebuild ``url`` and ``params``, built with the old ones;
        None when ``credentials`` are the ones in use already."""
        if credentials == self._credentials:
            return None
        previous = self.redactor
        # Replaced tokens stay masked: a late log line or error may still quote one.
        replaced = [value for name, value in self._credentials.items() if credentials.get(name) != value]
        self._credentials = dict(credentials)
        self.redactor = Redactor(self._credentials, extra=[*self._auth_secrets, *replaced])
        self.headers = self._filled_headers()
        self._params.clear()

        def rebuilt(text: str) -> str:
            return fill(previous.templatize(text), self._credentials, "a request built before the renewal")

        return rebuilt(url), None if params is None else {
            name: rebuilt(value) for name, value in params.items()
        }

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

    def list_endpoint(self, resource: Resource) -> Endpoint:
        endpoint = resource.endpoints.list
        if endpoint is None:
            raise ValueError(
                f"resource {resource.name!r} has no endpoints.list to page: its records come only from "
                "webhooks that enrich"
            )
        return endpoint

    def details_endpoint(self, resource: Resource) -> DetailsEndpoint:
        endpoint = resource.endpoints.details
        if endpoint is None:
            raise ValueError(f"resource {resource.name!r} has no endpoints.details to fetch records with")
        return endpoint

    # URLs and params

    def list_request(self, resource: Resource, request: PageRequest) -> tuple[str, dict[str, str] | None]:
        """A list page's URL and params: the endpoint's with the page's own, or a next-page URL alone."""
        if request.url is not None:
            return self.stored_to_url(request.url, resource), None
        url = self._endpoint_url(resource, "list")
        return url, {**self._endpoint_params(resource, "list"), **request.params}

    def details_request(self, resource: Resource, record_id: str) -> tuple[str, dict[str, str]]:
        url = self._endpoint_url(resource, "details").replace(ID_PLACEHOLDER, quote(record_id, safe=""))
        return url, _with_id(self._endpoint_params(resource, "details"), record_id)

    def sub_resource_request(
        self, resource: Resource, field_name: str, sub: SubResource, record_id: str
    ) -> tuple[str, dict[str, str]]:
        where = f"sync.resources.{resource.name}.subResources.{field_name}"
        url = self._url(sub.url, f"{where}.url").replace(ID_PLACEHOLDER, quote(record_id, safe=""))
        params = self._filled_params(
            (resource.name, f"subResources.{field_name}"), f"{where}.params", sub.params
        )
        return url, _with_id(params, record_id)

    def since_query(self, resource: Resource, since: datetime) -> dict[str, str]:
        """The query of the resource's incremental filter for records changed since ``since``."""
        if resource.incremental is None:
            raise ValueError(
                f"resource {resource.name!r} has no incremental block, so it cannot list records since "
                "a time; list it without since"
            )
        return {name: query_value(value) for name, value in resource.incremental.query(since).items()}

    def status_request(self, record_id: str, status: str) -> tuple[str, str, dict[str, Any]]:
        """The method, URL and JSON body of the ``sync.actions.updateStatus`` call for one record."""
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
        url = self._url(endpoint.path_for(record_id), "sync.actions.updateStatus.url")
        return endpoint.method, url, endpoint.body_for(status, record_id)

    def push_request(
        self, url: str, params: Mapping[str, QueryValue], where: str
    ) -> tuple[str, dict[str, str]]:
        """A push call's URL (its ``{name}`` values already in) and params, credentials filled in."""
        return self._url(url, f"{where}.url"), self._fill_params(f"{where}.params", params)

    def _url(self, written: str, where: str) -> str:
        """A definition's URL with the credentials filled in; a path is taken from the base URL."""
        url = fill(written, self._credentials, where)
        return self.base_url + url if url.startswith("/") else url

    def _endpoint(self, resource: Resource, kind: EndpointKind) -> Endpoint:
        return self.list_endpoint(resource) if kind == "list" else self.details_endpoint(resource)

    def _endpoint_url(self, resource: Resource, kind: EndpointKind) -> str:
        return self._url(
            self._endpoint(resource, kind).url, f"sync.resources.{resource.name}.endpoints.{kind}.url"
        )

    def _endpoint_params(self, resource: Resource, kind: EndpointKind) -> dict[str, str]:
        where = f"sync.resources.{resource.name}.endpoints.{kind}.params"
        return self._filled_params((resource.name, kind), where, self._endpoint(resource, kind).params)

    def _filled_params(
        self, key: tuple[str, str], where: str, written: Mapping[str, QueryValue]
    ) -> dict[str, str]:
        """An endpoint's params with credentials filled in, once per credentials."""
        params = self._params.get(key)
        if params is None:
            params = self._params[key] = self._fill_params(where, written)
        return params

    def _fill_params(self, where: str, written: Mapping[str, QueryValue]) -> dict[str, str]:
        return {
            name: query_value(
                fill(value, self._credentials, f"{where}.{name}") if isinstance(value, str) else value
            )
            for name, value in written.items()
        }

    # Next-page URLs: stored without credentials, resolved with them

    def url_to_stored(self, target: str, answered: str, method: str) -> str:
        """The next-page link ``target`` of a page answered at ``answered``, as a checkpoint keeps it."""
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

    def stored_to_url(self, stored: str, resource: Resource) -> str:
        """The URL to fetch for a next-page URL ``url_to_stored`` made, with the current credentials."""
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

    # Credentials

    def _filled_headers(self) -> dict[str, str]:
        return {
            name: fill(value, self._credentials, f"sync.headers.{name}")
            for name, value in self.definition.sync.headers.items()
        }

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


def _with_id(params: Mapping[str, str], record_id: str) -> dict[str, str]:
    # The raw id: httpx encodes query values itself, and quoting here would encode it twice.
    return {name: value.replace(ID_PLACEHOLDER, record_id) for name, value in params.items()}
