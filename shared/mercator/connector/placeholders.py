"""``[[name]]`` placeholders in URLs, headers and params, filled from an integration's credentials."""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\[\[([A-Za-z][A-Za-z0-9_]*)\]\]")


class MissingCredentialError(KeyError):
    """A placeholder names a credential the integration does not have."""

    def __init__(self, name: str, where: str) -> None:
        super().__init__(name)
        self.name = name
        self.where = where

    def __str__(self) -> str:
        return f"{self.where} needs credential {self.name!r}, which this integration does not have"


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
