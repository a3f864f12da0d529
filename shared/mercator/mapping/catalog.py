"""Named, documented functions that mappings refer to by name.

Two registries share this shape: *transforms* (generic coercions chained with ``transform:``) and
*compute functions* (platform helpers called with ``transform: compute`` + ``fn:``). Each entry keeps
its docstring and the arguments it accepts, so definitions are checked at load time and
``mercator functions`` can list them. An argument whose value can be wrong (a time zone, a date
format) registers a check, so a bad value is refused when the definition loads, not record by record.
The table itself is Mercator's one tag-to-behaviour mechanism, ``mercator.domain.registry.Registry``;
this one adds what a mapping needs on top: the entry's docs, its arguments and their checks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mercator.domain.registry import Registry as TagRegistry

ArgCheck = Callable[[Any], None]
"""Raises ValueError naming what would be valid when an argument's value cannot work."""


class TransformError(ValueError):
    """A value a transform or compute function cannot handle; the message says why."""


@dataclass(frozen=True)
class Entry:
    name: str
    func: Callable[..., Any]
    doc: str
    params: dict[str, str] = field(default_factory=dict)  # argument name -> one-line description
    required: frozenset[str] = frozenset()
    checks: dict[str, ArgCheck] = field(default_factory=dict)  # argument name -> its value check


class Registry:
    """A name → function table with docs and argument checks, listed by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: TagRegistry[str, Entry] = TagRegistry(kind)

    def register(
        self,
        name: str,
        *,
        params: dict[str, str] | None = None,
        checks: dict[str, ArgCheck] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            unchecked = sorted(set(checks or {}) - set(params or {}))
            if unchecked:
                raise ValueError(f"{self.kind} {name!r} checks undeclared argument(s) {unchecked}")
            signature = inspect.signature(func)
            required = frozenset(
                p.name
                for p in list(signature.parameters.values())[1:]
                if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY
            )
            self._entries.add(
                name,
                Entry(
                    name=name,
                    func=func,
                    doc=inspect.cleandoc(func.__doc__ or "").strip(),
                    params=dict(params or {}),
                    required=required,
                    checks=dict(checks or {}),
                ),
            )
            return func

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> Entry:
        """The entry ``name``; UnknownEntryError, a LookupError listing every name, when there is none."""
        return self._entries[name]

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda entry: entry.name))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def check_args(self, name: str, args: dict[str, Any]) -> str | None:
        """Return a message when ``args`` do not fit the entry's parameters, else None."""
        entry = self._entries[name]
        unknown = sorted(set(args) - set(entry.params))
        if unknown:
            valid = ", ".join(sorted(entry.params)) or "none"
            return f"{self.kind} {name!r} takes no argument {', '.join(map(repr, unknown))}; valid: {valid}"
        missing = sorted(entry.required - set(args))
        if missing:
            return f"{self.kind} {name!r} needs argument(s) {', '.join(map(repr, missing))}"
        return None

    def check_values(self, name: str, args: dict[str, Any]) -> tuple[str, str] | None:
        """The first argument whose value the entry refuses, with why; None when all can work."""
        entry = self._entries[name]
        for arg, check in entry.checks.items():
            if arg not in args:
                continue
            try:
                check(args[arg])
            except ValueError as exc:
                return arg, f"{self.kind} {name!r} argument {arg!r}: {exc}"
        return None
