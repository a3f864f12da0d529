"""Record paths compiled once into getters.

Two syntaxes are accepted wherever a mapping names a path:

* dot paths: ``price.amount``, ``items[0].sku``, ``data.items[-1]``;
* JSONPath: ``$.data.id``, ``$.items[*].sku``, ``$.items[?(@.qty > 1)].sku``.

A JSONPath made only of fields and indexes is compiled to the same fast getter as a dot path, so
``$.data.id`` costs what ``data.id`` costs. Wildcards, slices, filters and recursive descent go through
jsonpath-ng, parsed here once; they return the list of every match (empty when nothing matches),
while a plain path returns the single value or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as parse_jsonpath

Getter = Callable[[Any], Any]
Step = str | int

_STEP = re.compile(
    r"""
    (?P<name>[^.\[\]]+)          # a field name
    | \[(?P<index>-?\d+)\]       # a list index
    | \[(?P<quoted>'[^']*'|"[^"]*")\]  # a quoted field name: ['user-agent']
    """,
    re.VERBOSE,
)


class PathSyntaxError(ValueError):
    """A path that cannot be compiled; the message says where it breaks."""


@dataclass(frozen=True)
class CompiledPath:
    """A path and the getter it compiled to."""

    source: str
    get: Getter
    multi: bool  # True when the path may match several values (returns a list)
    steps: tuple[Step, ...] | None = None  # the fields and indexes of a plain path; None for JSONPath

    def find(self, obj: Any) -> tuple[bool, Any, tuple[str, Any] | None]:
        """Whether ``obj`` has anything at this path, what ``get`` answers, and where the path breaks.

        ``get`` gives None both for a null and for nothing there; this tells them apart, for messages
        about a record that failed (it is not on the mapping's own path). When a step's parent is there
        but cannot hold it (``data.total`` is null, so ``data.total.amount`` is not there), the third
        item is that parent's path and value (``""`` for ``obj`` itself). A JSONPath is there when it
        matches something.
        """
        if self.steps is None:
            found = self.get(obj)
            return bool(found), found, None
        for depth, step in enumerate(self.steps):
            if type(step) is int:
                if type(obj) is not list or not -len(obj) <= step < len(obj):
                    return False, None, self._blocked(depth, obj, list)
            elif type(obj) is not dict or step not in obj:
                return False, None, self._blocked(depth, obj, dict)
            obj = obj[step]
        return True, obj, None

    def _blocked(self, depth: int, obj: Any, holder: type) -> tuple[str, Any] | None:
        if type(obj) is holder:
            return None  # a parent that simply lacks the step
        assert self.steps is not None
        text = "".join(f"[{step}]" if type(step) is int else f".{step}" for step in self.steps[:depth])
        return text.lstrip("."), obj


def compile_path(source: str) -> CompiledPath:
    """Compile ``source`` (dot path or JSONPath) into a getter; raise PathSyntaxError if invalid."""
    if not isinstance(source, str) or not source.strip():
        raise PathSyntaxError("a path must be a non-empty string")
    text = source.strip()
    if text == "$":
        return CompiledPath(source, _identity, multi=False, steps=())
    if text.startswith("$"):
        rest = text[1:]
        if rest.startswith("."):
            rest = rest[1:]
        steps = _split_simple(rest)
        if steps is not None:
            return CompiledPath(source, _steps_getter(steps), multi=False, steps=steps)
        return CompiledPath(source, _jsonpath_getter(text), multi=True)
    steps = _split_simple(text)
    if steps is None:
        raise PathSyntaxError(
            f"{source!r} is not a dot path (fields and [n] indexes); start it with '$' to use JSONPath"
        )
    return CompiledPath(source, _steps_getter(steps), multi=False, steps=steps)


def _split_simple(text: str) -> tuple[Step, ...] | None:
    """Split a dot path into steps, or return None when it needs full JSONPath."""
    if text == "":
        return ()
    steps: list[Step] = []
    pos = 0
    expect_name = True
    while pos < len(text):
        if text[pos] == ".":
            if expect_name:
                return None  # '..' (recursive descent) or a leading dot
            pos += 1
            expect_name = True
            continue
        match = _STEP.match(text, pos)
        if match is None:
            return None
        if match.group("name") is not None:
            name = match.group("name")
            if not expect_name or name == "*" or any(ch in name for ch in "?@()*'\" "):
                return None
            steps.append(name)
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            steps.append(match.group("quoted")[1:-1])
        expect_name = False
        pos = match.end()
    if expect_name:
        return None  # trailing dot
    return tuple(steps)


def _identity(value: Any) -> Any:
    return value


def _steps_getter(steps: tuple[Step, ...]) -> Getter:
    """A getter for a fixed list of steps; missing keys, bad indexes and wrong types give None."""
    if not steps:
        return _identity
    if all(isinstance(step, str) for step in steps):
        return _field_getter(tuple(str(step) for step in steps))
    return _mixed_getter(steps)


def _field_getter(keys: tuple[str, ...]) -> Getter:
    # Specialised closures for the common short paths: this is the hot loop of every sync.
    if len(keys) == 1:
        (k1,) = keys

        def get1(obj: Any) -> Any:
            return obj.get(k1) if type(obj) is dict else None

        return get1
    if len(keys) == 2:
        k1, k2 = keys

        def get2(obj: Any) -> Any:
            if type(obj) is dict:
                obj = obj.get(k1)
                if type(obj) is dict:
                    return obj.get(k2)
            return None

        return get2
    if len(keys) == 3:
        k1, k2, k3 = keys

        def get3(obj: Any) -> Any:
            if type(obj) is dict:
                obj = obj.get(k1)
                if type(obj) is dict:
                    obj = obj.get(k2)
                    if type(obj) is dict:
                        return obj.get(k3)
            return None

        return get3

    def get_n(obj: Any) -> Any:
        for key in keys:
            if type(obj) is not dict:
                return None
            obj = obj.get(key)
        return obj

    return get_n


def _mixed_getter(steps: tuple[Step, ...]) -> Getter:
    def get(obj: Any) -> Any:
        for step in steps:
            if type(step) is int:
                if type(obj) is not list or not -len(obj) <= step < len(obj):
                    return None
                obj = obj[step]
            else:
                if type(obj) is not dict:
                    return None
                obj = obj.get(step)
        return obj

    return get


def _jsonpath_getter(text: str) -> Getter:
    try:
        expression = parse_jsonpath(text)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:  # the parser raises bare Exception
        raise PathSyntaxError(f"{text!r} is not valid JSONPath: {exc}") from None

    def get(obj: Any) -> list[Any]:
        try:
            return [match.value for match in expression.find(obj)]
        except (TypeError, AttributeError, KeyError, IndexError, ValueError):
            # Filters comparing values of mixed types raise inside jsonpath-ng: treat as no match.
            return []

    return get
