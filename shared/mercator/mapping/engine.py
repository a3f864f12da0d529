"""The mapping engine: a mapping definition compiled once into a callable over records.

A mapping is an object whose keys are destination fields and whose values are *rules*:

=======================================  ======================================================
``"data.id"`` / ``"$.data.id"``          the value at a path (dot path or JSONPath)
``12``, ``true``, ``null``               a literal (use ``{value: "text"}`` for a literal string)
``{path, transform, default}``           a path through a chain of transforms, then a default
``{paths: [...], transform: coalesce}``  the first non-empty of several paths
``{transform: compute, fn, args}``       a named compute function (over ``path``, ``paths`` or
                                         the whole record)
``{path, transform: mapItems, mapping}`` each element of a list mapped with an item mapping
``{value: ...}``                         a literal of any type
an object with none of the rule keys     a nested object, itself a mapping (``{object: {...}}``
                                         spells one out when a field is named like a rule key);
                                         null when none of its fields is found
=======================================  ======================================================

Compilation checks every name, and every argument value a registry entry has a check for (time
zones, date formats), and raises MappingDefinitionError with the location of the offending key;
applying a mapping raises only MappingError, which names the connector, the resource or event, the
destination field and its path.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mercator.mapping.functions import FUNCTIONS
from mercator.mapping.paths import PathSyntaxError, compile_path
from mercator.mapping.registry import Registry, TransformError
from mercator.mapping.transforms import SPECIAL_TRANSFORMS, TRANSFORMS, coalesce

Fn = Callable[[Any], Any]
Location = tuple[str | int, ...]

RULE_KEYS = frozenset({"path", "paths", "value", "transform", "fn", "args", "mapping", "default"})
_SOURCE_KEYS = ("path", "paths", "value")


class MappingDefinitionError(ValueError):
    """A mapping that cannot compile. ``location`` is the key path inside the mapping."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.message = message

    def __str__(self) -> str:
        where = format_location(self.location)
        return f"{where}: {self.message}" if where else self.message


class MappingError(Exception):
    """One record that could not be mapped; the other records of its batch are unaffected."""

    def __init__(self, reason: str, *, field: str = "", path: str = "", connector: str = "", scope: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.path = path
        self.connector = connector
        self.scope = scope

    def within(self, prefix: str) -> MappingError:
        """The same error seen from the enclosing field (``items`` + ``[2].qty`` → ``items[2].qty``)."""
        joined = (
            prefix
            if not self.field
            else (f"{prefix}{self.field}" if self.field.startswith("[") else f"{prefix}.{self.field}")
        )
        return MappingError(
            self.reason, field=joined, path=self.path, connector=self.connector, scope=self.scope
        )

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.connector and f"connector {self.connector}",
                self.scope,
                self.field and f"field {self.field}",
                self.path and f"path {self.path!r}",
            )
            if part
        )
        return f"{where}: {self.reason}" if where else self.reason

    def as_dict(self) -> dict[str, str]:
        return {
            "connector": self.connector,
            "scope": self.scope,
            "field": self.field,
            "path": self.path,
            "reason": self.reason,
        }


def format_location(location: Sequence[str | int]) -> str:
    """``("items", "mapping", "sku")`` → ``items.mapping.sku``; integers become ``[n]``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part or any(ch in part for ch in ".[] "):
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True)
class RecordFailure:
    index: int
    record: Any
    error: MappingError


@dataclass
class BatchResult:
    """Mapped records in input order, and the records that failed with why."""

    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)


class CompiledMapping:
    """A mapping ready to apply; build it with :func:`compile_mapping`."""

    def __init__(self, fields: tuple[tuple[str, Fn, str], ...], connector: str, scope: str) -> None:
        self._fields = fields
        self.connector = connector
        self.scope = scope

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self._fields)

    def __call__(self, record: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, fn, source in self._fields:
            try:
                out[name] = fn(record)
            except MappingError as exc:
                raise self._contextual(exc.within(name)) from None
            except TransformError as exc:
                raise self._contextual(MappingError(str(exc), field=name, path=source)) from None
            except Exception as exc:  # a compute function's bug must not escape as a foreign type
                reason = f"{type(exc).__name__}: {exc}"
                raise self._contextual(MappingError(reason, field=name, path=source)) from None
        return out

    def map_all(self, records: Iterable[Any]) -> BatchResult:
        """Map every record; a failing record is reported and the rest carry on."""
        result = BatchResult()
        for index, record in enumerate(records):
            try:
                result.records.append((index, self(record)))
            except MappingError as exc:
                result.failures.append(RecordFailure(index, record, exc))
        return result

    def _contextual(self, error: MappingError) -> MappingError:
        error.connector = error.connector or self.connector
        error.scope = error.scope or self.scope
        return error


def compile_mapping(
    spec: Any, *, connector: str = "", scope: str = "", location: Location = ()
) -> CompiledMapping:
    """Compile a mapping definition; MappingDefinitionError names the offending location."""
    if not isinstance(spec, dict):
        raise MappingDefinitionError(location, f"a mapping must be an object of fields, got {_kind(spec)}")
    if not spec:
        raise MappingDefinitionError(location, "a mapping needs at least one field")
    fields = []
    for name, rule in spec.items():
        if not isinstance(name, str) or not name:
            raise MappingDefinitionError(location, f"field names must be non-empty text, got {name!r}")
        fn, source = _compile_rule(rule, (*location, name), connector, scope)
        fields.append((name, fn, source))
    return CompiledMapping(tuple(fields), connector, scope)


def _compile_rule(rule: Any, location: Location, connector: str, scope: str) -> tuple[Fn, str]:
    if isinstance(rule, str):
        return _path(rule, location).get, rule
    if rule is None or isinstance(rule, bool | int | float):
        return _literal(rule), ""
    if isinstance(rule, list):
        raise MappingDefinitionError(
            location, "a list is not a rule; write {value: [...]} for a literal list"
        )
    if not isinstance(rule, dict):
        raise MappingDefinitionError(location, f"unsupported rule of type {_kind(rule)}")
    if set(rule) == {"object"}:
        nested = compile_mapping(
            rule["object"], connector=connector, scope=scope, location=(*location, "object")
        )
        return _null_when_empty(nested), ""
    if not RULE_KEYS & set(rule):
        nested = compile_mapping(rule, connector=connector, scope=scope, location=location)
        return _null_when_empty(nested), ""
    return _compile_field_rule(rule, location, connector, scope)


def _compile_field_rule(
    rule: dict[str, Any], location: Location, connector: str, scope: str
) -> tuple[Fn, str]:
    unknown = sorted(set(rule) - RULE_KEYS)
    if unknown:
        raise MappingDefinitionError(
            (*location, unknown[0]),
            f"unknown rule key {unknown[0]!r}; valid: {', '.join(sorted(RULE_KEYS))}",
        )
    sources = [key for key in _SOURCE_KEYS if key in rule]
    if len(sources) > 1:
        raise MappingDefinitionError(
            location, f"use one of path, paths or value, not {' and '.join(sources)}"
        )
    transforms = _transform_names(rule.get("transform"), location)
    source_text = ""

    getter: Fn
    if "path" in rule:
        source_text = str(rule["path"])
        getter = _path(rule["path"], (*location, "path")).get
    elif "paths" in rule:
        getter, source_text = _paths_getter(rule["paths"], (*location, "paths"))
        if not transforms or transforms[0] not in {"coalesce", "compute"}:
            raise MappingDefinitionError(
                (*location, "transform"),
                "paths needs transform: coalesce (first non-empty) or compute (to combine them)",
            )
    elif "value" in rule:
        getter = _literal(rule["value"])
    elif "compute" in transforms:
        getter = _identity  # compute over the whole record
    else:
        raise MappingDefinitionError(
            location, "a rule needs path, paths or value (or transform: compute with fn)"
        )

    if "coalesce" in transforms and (transforms[0] != "coalesce" or "paths" not in rule):
        raise MappingDefinitionError(
            (*location, "transform"), "coalesce must come first and needs paths: [...]"
        )
    if "fn" in rule and "compute" not in transforms:
        raise MappingDefinitionError((*location, "fn"), "fn is only used with transform: compute")
    if "mapping" in rule and "mapItems" not in transforms:
        raise MappingDefinitionError(
            (*location, "mapping"), "mapping (an item mapping) is only used with transform: mapItems"
        )

    args = rule.get("args", {})
    if not isinstance(args, dict):
        raise MappingDefinitionError((*location, "args"), f"args must be an object, got {_kind(args)}")

    steps = [
        _compile_step(
            name, rule, args, transforms, location=(*location, "transform"), connector=connector, scope=scope
        )
        for name in transforms
    ]
    if args and not any(name == "compute" or TRANSFORMS[name].params for name in transforms):
        raise MappingDefinitionError(
            (*location, "args"), "args given but no transform or fn of this rule takes any"
        )
    fn = _chain(getter, steps)
    if "default" in rule:
        fn = _with_default(fn, rule["default"])
    return fn, source_text


def _compile_step(
    name: str,
    rule: dict[str, Any],
    args: dict[str, Any],
    transforms: list[str],
    *,
    location: Location,
    connector: str,
    scope: str,
) -> Fn:
    if name == "coalesce":
        return coalesce
    if name == "mapItems":
        if "mapping" not in rule:
            raise MappingDefinitionError(location, "mapItems needs mapping: {...} to map each item")
        item = compile_mapping(
            rule["mapping"], connector=connector, scope=scope, location=(*location[:-1], "mapping")
        )
        return partial(_map_items, item)
    if name == "compute":
        fn_name = rule.get("fn")
        if not isinstance(fn_name, str) or fn_name not in FUNCTIONS:
            raise MappingDefinitionError(
                (*location[:-1], "fn"),
                f"unknown compute function {fn_name!r}; valid: {', '.join(FUNCTIONS.names())}",
            )
        problem = FUNCTIONS.check_args(fn_name, args)
        if problem:
            raise MappingDefinitionError((*location[:-1], "args"), problem)
        _check_values(FUNCTIONS, fn_name, args, location)
        return partial(FUNCTIONS[fn_name].func, **args) if args else FUNCTIONS[fn_name].func
    entry = TRANSFORMS[name]
    if not entry.params:
        return entry.func
    if "compute" in transforms:
        return entry.func  # args belong to the compute function; this transform keeps its defaults
    takes_args = [t for t in transforms if t not in SPECIAL_TRANSFORMS and TRANSFORMS[t].params]
    if len(takes_args) > 1 and args:
        raise MappingDefinitionError(
            location, f"args is ambiguous: {', '.join(takes_args)} all take arguments"
        )
    problem = TRANSFORMS.check_args(name, args)
    if problem:
        raise MappingDefinitionError((*location[:-1], "args"), problem)
    _check_values(TRANSFORMS, name, args, location)
    return partial(entry.func, **args) if args else entry.func


def _check_values(registry: Registry, name: str, args: dict[str, Any], location: Location) -> None:
    refused = registry.check_values(name, args)
    if refused is not None:
        arg, problem = refused
        raise MappingDefinitionError((*location[:-1], "args", arg), problem)


def _transform_names(value: Any, location: Location) -> list[str]:
    if value is None:
        return []
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list):
        raise MappingDefinitionError((*location, "transform"), "transform must be a name or a list of names")
    for index, name in enumerate(names):
        if not isinstance(name, str) or name not in TRANSFORMS:
            at = (*location, "transform") if isinstance(value, str) else (*location, "transform", index)
            raise MappingDefinitionError(
                at, f"unknown transform {name!r}; valid: {', '.join(TRANSFORMS.names())}"
            )
    return names


def _path(source: Any, location: Location) -> Any:
    if not isinstance(source, str):
        raise MappingDefinitionError(location, f"a path must be text, got {_kind(source)}")
    try:
        return compile_path(source)
    except PathSyntaxError as exc:
        raise MappingDefinitionError(location, str(exc)) from None


def _paths_getter(sources: Any, location: Location) -> tuple[Fn, str]:
    if not isinstance(sources, list) or not sources:
        raise MappingDefinitionError(location, "paths must be a non-empty list of paths")
    getters = tuple(_path(source, (*location, i)).get for i, source in enumerate(sources))

    def get_all(record: Any) -> list[Any]:
        return [get(record) for get in getters]

    return get_all, " | ".join(map(str, sources))


def _chain(getter: Fn, steps: list[Fn]) -> Fn:
    # Unrolled for the usual short chains: a mapping runs once per field per record.
    if not steps:
        return getter
    if len(steps) == 1:
        (step,) = steps
        return lambda record: step(getter(record))
    if len(steps) == 2:
        first, second = steps
        return lambda record: second(first(getter(record)))

    def run(record: Any) -> Any:
        value = getter(record)
        for step in steps:
            value = step(value)
        return value

    return run


def _with_default(fn: Fn, default: Any) -> Fn:
    def apply(record: Any) -> Any:
        value = fn(record)
        return _fresh(default) if value is None or value == "" else value

    return apply


def _null_when_empty(nested: CompiledMapping) -> Fn:
    # A nested object none of whose fields were found (a guest order's customer) is absent, not {}.
    def apply(record: Any) -> dict[str, Any] | None:
        value = nested(record)
        return value if any(field is not None for field in value.values()) else None

    return apply


def _map_items(item_mapping: CompiledMapping, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        raise TransformError(f"mapItems expects a list, got {_kind(value)}")
    out = []
    for index, item in enumerate(value):
        try:
            out.append(item_mapping(item))
        except MappingError as exc:
            raise MappingError(exc.reason, field=_item_field(index, exc.field), path=exc.path) from None
    return out


def _item_field(index: int, inner: str) -> str:
    return f"[{index}].{inner}" if inner else f"[{index}]"


def _literal(value: Any) -> Fn:
    if isinstance(value, dict | list):
        return lambda _record: copy.deepcopy(value)
    return lambda _record: value


def _fresh(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _identity(record: Any) -> Any:
    return record


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
