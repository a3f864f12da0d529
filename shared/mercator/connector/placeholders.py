"""``[[name]]`` placeholders in URLs, headers and params, filled from an integration's credentials."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mercator.domain.errors import MissingCredentialError

PLACEHOLDER = re.compile(r"\[\[([A-Za-z][A-Za-z0-9_]*)\]\]")


def placeholders(text: object) -> list[str]:
    """Names of the placeholders in ``text`` (non-text holds none)."""
    return PLACEHOLDER.findall(text) if isinstance(text, str) else []


def fill(text: str, credentials: Mapping[str, object], where: str = "a template") -> str:
    """Replace every ``[[name]]``; MissingCredentialError when one is absent or empty."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = credentials.get(name)
        if found is None or found == "":
            raise MissingCredentialError(name, where)
        return str(found)

    return PLACEHOLDER.sub(value, text)


# What an author may have meant as a placeholder once the real ones are taken out: mustache braces,
# spaces inside the brackets, a bracket too few on one side.
_LOOKALIKE = re.compile(r"\[\[|\]\]|\{\{|\}\}")
_LOOKALIKE_TOKEN = re.compile(r"\{\{[^{}]*\}\}|\[+[^\[\]]*\]+")


def malformed(text: object) -> str | None:
    """The first placeholder-looking part of ``text`` that is not a ``[[name]]`` the client fills
    (``{{name}}``, ``[[ name ]]``, ``[[name]``, ``[name]]``); None when there is none."""
    if not isinstance(text, str):
        return None
    rest = PLACEHOLDER.sub("", text)
    mark = _LOOKALIKE.search(rest)
    if mark is None:
        return None
    token = _LOOKALIKE_TOKEN.search(rest, max(0, mark.start() - 64))
    return token.group() if token and _LOOKALIKE.search(token.group()) else mark.group()


def placeholder_like(text: object) -> str | None:
    """The first ``[[name]]`` or placeholder-looking part of ``text``; None when it has none."""
    if not isinstance(text, str):
        return None
    found = PLACEHOLDER.search(text)
    return found.group() if found else malformed(text)
