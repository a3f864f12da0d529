"""One mechanism from a configuration's tag to the behaviour that runs it, for every family.

A family (pagination strategies, verification strategies, workflow actions, transforms) keeps one
``Registry``: its entries are added where the behaviour is written (``@PAGINATORS.register(...)``), so
adding a member touches one file, and a tag with no entry is refused naming every tag there is.
A tag is a model type (the definition's discriminated union member) or a name (an action's ``type``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class UnknownEntryError(LookupError):
    """A tag no member of the family is registered under; the message lists the valid choices."""


def tag_name(key: Hashable) -> str:
    return key.__name__ if isinstance(key, type) else str(key)


class Registry(Generic[K, V]):
    """The members of one family, by tag, in the order they were registered."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[K, V] = {}

    def add(self, key: K, value: V) -> V:
        if key in self._entries:
            raise ValueError(f"{self.family} {tag_name(key)!r} is registered twice")
        self._entries[key] = value
        return value

    def register(self, key: K) -> Callable[[V], V]:
        """A decorator that adds the class or function it decorates under ``key``."""

        def decorate(value: V) -> V:
            return self.add(key, value)

        return decorate

    def __getitem__(self, key: K) -> V:
        try:
            return self._entries[key]
        except KeyError:
            choices = ", ".join(tag_name(known) for known in self._entries)
            raise UnknownEntryError(
                f"no {self.family} is registered for {tag_name(key)!r} (registered: {choices})"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterator[tuple[K, V]]:
        return iter(self._entries.items())

    def values(self) -> Iterator[V]:
        return iter(self._entries.values())
