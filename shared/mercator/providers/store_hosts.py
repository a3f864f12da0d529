"""Which hosts a tenant's own store address may name, checked before any request is made.

A tenant chooses where Mercator calls in two ways: the integration's ``baseUrl`` setting, which
replaces the connector's ``sync.baseUrl``, and the credentials a connector's base URL is made from
(``https://[[shopDomain]]/...``, ``[[storeUrl]]/wp-json/...``). Either host must match the connector's
``sync.allowedHosts`` (``Sync.store_hosts``) or the operator's ``EGRESS_ALLOWED_HOSTS``; loopback
hosts pass only where the policy allows loopback (the local stack). The Integrations API checks this
when an integration is configured, and every provider session again when it opens, so an integration
stored before a connector narrowed its hosts is refused too. The address guard
(mercator.providers.egress) then decides, at connection time, whether the host's addresses are public.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import httpx

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.placeholders import fill, placeholders
from mercator.connector.sync import origin
from mercator.domain.errors import MissingCredentialError
from mercator.providers.egress import EgressPolicy


class HostNotAllowedError(ValueError):
    """A tenant's store address names a host its connector does not allow; the message lists those it does."""


def check_store_hosts(
    definition: ConnectorDefinition,
    base_url: str | None,
    credentials: Mapping[str, str],
    policy: EgressPolicy,
) -> None:
    """Refuse (HostNotAllowedError) a store address whose host the connector does not allow.

    ``base_url`` is the integration's own (its ``baseUrl`` setting), None to use the connector's. An
    address that is not a URL with a host passes here: the client refuses it as it builds its
    requests. MissingCredentialError when the base URL needs a credential that is not given.
    """
    patterns = definition.sync.store_hosts()
    for where, url in _chosen_addresses(definition, base_url, credentials):
        host = _host(url)
        if host is None or policy.allows_store_host(host, patterns):
            continue
        allowed = ", ".join([*patterns, *policy.allowed_hosts]) or "none"
        raise HostNotAllowedError(
            f"{where} names the host {host!r}, which is not one {definition.displayName} stores are "
            f"served from; allowed hosts: {allowed}"
        )


def _chosen_addresses(
    definition: ConnectorDefinition, base_url: str | None, credentials: Mapping[str, str]
) -> Iterator[tuple[str, str]]:
    """Every address a tenant chose, with where it was chosen."""
    written = definition.sync.baseUrl
    if base_url is not None:
        yield "settings.baseUrl", base_url
    names = placeholders(origin(written))
    if not names:
        return
    try:
        # The connector's own host made from the credentials: its absolute endpoint URLs are on it,
        # whatever settings.baseUrl says.
        filled = fill(origin(written), credentials, "sync.baseUrl")
    except MissingCredentialError:
        if base_url is None:
            raise
        return
    shown = ", ".join(sorted(names))
    yield f"the credential{'s' if len(names) > 1 else ''} {shown} (sync.baseUrl {written})", filled


def _host(url: str) -> str | None:
    text = url.strip()
    scheme, separator, rest = text.partition("://")
    if not separator:
        return None
    try:
        # As the client reads it: collapsed slashes (mercator.providers.client), httpx's parser.
        host = httpx.URL(f"{scheme}://{rest.lstrip('/')}").raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        return None
    return host.lower().rstrip(".") or None
