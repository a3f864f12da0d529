"""Keep an integration's credentials out of messages, logs and stored checkpoints.

A Redactor knows the integration's credential values and masks them wherever they show up: in URLs
(also URL-encoded), header dicts and free text. Values of query parameters and headers whose names
look secret (``access_token``, ``X-Shopify-Access-Token``, ``consumer_secret``...) are masked even
when Mercator did not know the value, e.g. a token a provider echoes back in a next-page link.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

MASK = "***"

_SECRET_WORDS = (
    "authorization",
    "token",
    "key",
    "secret",
    "signature",
    "password",
    "passwd",
    "cookie",
    "session",
)
_SECRET_NAME = re.compile("|".join(_SECRET_WORDS), re.IGNORECASE)
_NAME_CHARS = r"[A-Za-z0-9_.\-\[\]]"
# name=value pairs of a query string inside free text (an exception message quoting a URL).
_SECRET_PARAM = re.compile(
    rf"(?P<head>[?&;]{_NAME_CHARS}*(?:{'|'.join(_SECRET_WORDS)}){_NAME_CHARS}*=)[^&#\s\"'<>]*",
    re.IGNORECASE,
)
# An Authorization value quoted in text; long enough to be a credential, not the next English word.
_AUTH_SCHEME = re.compile(r"\b(?P<scheme>Bearer|bearer|BEARER|Basic|BASIC)\s+[A-Za-z0-9._~+/=\-]{12,}")
# httpx logs every request URL at INFO, and httpcore the host it connects to, outside Mercator's reach.
_HTTP_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2")
# Shorter values are masked only where they stand alone, so a store id "12" does not mangle "page=120".
_SHORT = 6


def looks_secret(name: str) -> bool:
    """True for parameter and header names that carry secrets (authorization, api_key, ...)."""
    return _SECRET_NAME.search(name) is not None


class Redactor:
    """Masks one integration's credentials; build one per integration and use it for every text."""

    def __init__(self, credentials: Mapping[str, object], *, extra: Iterable[str] = ()) -> None:
        named: dict[str, str | None] = {}
        for name, value in credentials.items():
            text = "" if value is None else str(value)
            if text:
                for variant in (text, quote(text, safe=""), quote_plus(text)):
                    named.setdefault(variant, name)
        for value in extra:
            if value:
                named.setdefault(value, None)
        self._names = named
        self._values = _alternation(named)

    def text(self, text: str) -> str:
        """``text`` with every known credential value and every secret-looking parameter masked."""
        if self._values is not None:
            text = self._values.sub(MASK, text)
        text = _SECRET_PARAM.sub(lambda match: match["head"] + MASK, text)
        return _AUTH_SCHEME.sub(lambda match: f"{match['scheme']} {MASK}", text)

    def url(self, url: object) -> str:
        """A URL fit for a message: user info, secret query parameters and credential values masked."""
        parts = urlsplit(str(url))
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
        query = "&".join(_mask_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """A copy of ``headers`` with secret-looking headers masked whole and credential values masked."""
        return {name: MASK if looks_secret(name) else self.text(value) for name, value in headers.items()}

    def templatize(self, text: str) -> str:
        """Turn credential values back into ``[[name]]`` placeholders (for texts that are stored).

        ``fill`` restores them from the integration's credentials, so a stored next-page URL resumes
        with whatever credentials the integration has by then and never holds one itself.
        """
        if self._values is None:
            return text

        def placeholder(match: re.Match[str]) -> str:
            name = self._names[match.group(0)]
            return f"[[{name}]]" if name is not None else MASK

        return self._values.sub(placeholder, text)


def _alternation(values: Mapping[str, object]) -> re.Pattern[str] | None:
    if not values:
        return None
    parts = []
    for value in sorted(values, key=len, reverse=True):
        escaped = re.escape(value)
        parts.append(escaped if len(value) >= _SHORT else rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])")
    return re.compile("|".join(parts))


def _mask_pair(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    return f"{name}={MASK}" if equals and looks_secret(unquote_plus(name)) else pair


_active: ContextVar[Redactor | None] = ContextVar("mercator_redactor", default=None)


@contextmanager
def redacting(redactor: Redactor) -> Iterator[None]:
    """Redact the HTTP libraries' log lines with ``redactor`` while this task makes its calls."""
    token = _active.set(redactor)
    try:
        yield
    finally:
        _active.reset(token)


class _HttpLogRedaction(logging.Filter):
    """Rewrites httpx and httpcore records with the Redactor of the task that made the call.

    The Redactor travels in a context variable, so concurrent integrations in one process each mask
    their own credentials; outside a call, secret-looking names are still masked.
    """

    _fallback = Redactor({})

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = _active.get() or self._fallback
        record.msg = redactor.text(record.getMessage())
        record.args = None
        return True


def install_http_log_redaction() -> None:
    """Attach the redaction filter to the HTTP libraries' loggers (once; later calls do nothing)."""
    for name in _HTTP_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(existing, _HttpLogRedaction) for existing in target.filters):
            target.addFilter(_HttpLogRedaction())
