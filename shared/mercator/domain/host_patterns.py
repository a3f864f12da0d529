"""Host patterns: which hosts a tenant's own store address may name.

A pattern is one of

- a host name, matched exactly: ``api.salla.dev``;
- ``*.<domain>``: any host under the domain, at any depth (``*.myshopify.com`` matches
  ``acme.myshopify.com``, never ``myshopify.com`` itself nor ``evilmyshopify.com``);
- ``*`` alone: any host at all (a self-hosted platform such as WooCommerce), the address guard
  (``mercator.providers.egress``) still refusing every address that is not public.

Hosts and patterns compare in lower case and in their ASCII form (``xn--`` for international
names). A pattern holds no scheme, port, path, IPv6 literal or wildcard other than a leading ``*.``.
Connector definitions (``sync.allowedHosts``) and the operator's ``EGRESS_ALLOWED_HOSTS`` are both
checked with :func:`pattern_problem`, so a bad pattern is refused where it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ANY_HOST = "*"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_MAX_HOST = 253


def pattern_problem(pattern: str) -> str | None:
    """What is wrong with ``pattern`` as a host pattern, or None when it is one."""
    if pattern == ANY_HOST:
        return None
    shown = repr(pattern)
    if not pattern or pattern != pattern.strip():
        return f"{shown} is not a host pattern: it is empty or has spaces around it"
    if "://" in pattern or any(mark in pattern for mark in "/:?#@[]"):
        return (
            f"{shown} is not a host pattern: give the host alone (api.example.com), without a scheme, "
            "port, path or IPv6 literal"
        )
    domain = pattern[2:] if pattern.startswith("*.") else pattern
    if "*" in domain:
        return (
            f"{shown} is not a host pattern: '*' stands alone (any host) or as the first label "
            "('*.example.com', any host under example.com)"
        )
    if domain != domain.lower():
        return f"{shown} is not a host pattern: write it in lower case ({pattern.lower()!r})"
    labels = domain.split(".")
    if len(domain) > _MAX_HOST or not all(_LABEL.match(label) for label in labels):
        return (
            f"{shown} is not a host pattern: each dot-separated label holds letters, digits and '-' "
            "(international names in their xn-- form), with no empty label or trailing dot"
        )
    if pattern.startswith("*.") and len(labels) < 2:
        return f"{shown} is too wide: '*.' must be followed by a domain of at least two labels"
    return None


def host_matches(host: str, pattern: str) -> bool:
    """Whether ``host`` (a host name or IP literal, any case) matches one valid ``pattern``."""
    host = host.lower().rstrip(".")
    if pattern == ANY_HOST:
        return bool(host)
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def matching(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` matches any of ``patterns``."""
    return any(host_matches(host, pattern) for pattern in patterns)
