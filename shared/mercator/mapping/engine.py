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

A record that maps but then fails its content type can be *explained*: ``CompiledMapping.explain``
re-runs one field's rule step by step and tells which paths it read, what the record held there and
which transform turned a value into null. What it needs is kept when the mapping compiles, and it runs
only when asked, so mapping a record costs the same with it as without.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mercator.mapping.catalog import Registry, TransformError
from mercator.mapping.functions import FUNCTIONS
from mercator.mapping.paths import CompiledPath, PathSyntaxError, compile_path
from mercator.mapping.transforms import SPECIAL_TRANSFORMS, TRANSFORMS, coalesce, is_empty

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
class Source:
    """One path a rule read, as the record's author would write it (``data.items[0].qty``)."""

    path: str
    present: bool  # False: the record has nothing at the path (a null is present)
    value: Any
    blocked: tuple[str, Any] | None = None  # not present because this parent is null, text, ...


@dataclass(frozen=True)
class Provenance:
    """How a mapping produced one field of one record; see :meth:`CompiledMapping.explain`."""

    rule: bool = True  # False: the mapping has no rule for the field
    sources: tuple[Source, ...] = ()  # empty for a literal, a nested object or the whole record
    literal: bool = False
    value: Any = None  # what the mapping gives
    nulled_by: str | None = None  # the transform or compute function that turned a value into null
    nulled_input: Any = None  # the value it was given


class _Unset:
    """No default: distinct from ``default: null``."""


_UNSET = _Unset()


@dataclass(frozen=True)
class _Explainer:
    """What a field rule reads and does, kept at compile time to explain a record that failed."""

    paths: tuple[CompiledPath, ...] = ()  # empty: a literal, or compute over the whole record
    many: bool = False  # ``paths: [...]``: the steps get the list of their values
    literal: Any = _UNSET
    steps: tuple[tuple[str, Fn], ...] = ()  # transform (or compute function) name, step
    default: Any = _UNSET
    nested: CompiledMapping | None = None  # an object of fields mapped from the same record
    items: CompiledMapping | None = None  # mapItems: the item mapping

    def explain(self, record: Any, rest: Location, at: str) -> Provenance | None:
        if self.nested is not None:
            if rest:
                return self.nested.explain_at(record, rest, at)
            return Provenance(value=_null_when_empty(self.nested)(record))
        if not isinstance(self.literal, _Unset):
            return Provenance(literal=True, value=_walk(_fresh(self.literal), rest)[1])
        sources = tuple(_source(at, path, record) for path in self.paths)
        if not self.paths:
            value = record
        elif self.many:
            value = [source.value for source in sources]
        else:
            value = sources[0].value
        nulled_by: str | None = None
        nulled_input: Any = None
        for name, step in self.steps:
            if name == "mapItems" and self.items is not None and rest and isinstance(rest[0], int):
                return self._explain_item(value, rest, _base(sources, at))
            result = step(value)
            if result is None and nulled_by is None and name != "coalesce" and _has_content(value):
                nulled_by, nulled_input = name, value
            value = result
        if not isinstance(self.default, _Unset) and (value is None or value == ""):
            value = _fresh(self.default)
        if rest and not self.steps and len(sources) == 1 and not self.paths[0].multi:
            # A plain path that copies an object: the failing part of it is a path of its own.
            present, value = _walk(value, rest) if sources[0].present else (False, None)
            sources = (Source(_joined(sources[0].path, _location_path(rest)), present, value),)
            return Provenance(sources=sources, value=value)
        return Provenance(
            sources=sources, value=_walk(value, rest)[1], nulled_by=nulled_by, nulled_input=nulled_input
        )

    def _explain_item(self, value: Any, rest: Location, base: str) -> Provenance | None:
        assert self.items is not None
        index = rest[0]
        assert isinstance(index, int)
        keys: list[Any] = list(value) if isinstance(value, dict) else []
        elements = list(value.values()) if isinstance(value, dict) else value
        if not isinstance(elements, list) or not -len(elements) <= index < len(elements):
            return None
        element = elements[index]
        at = _joined(base, str(keys[index])) if keys else f"{base}[{index}]"
        if len(rest) == 1:
            return Provenance(sources=(Source(at, True, element),), value=self.items(element))
        return self.items.explain_at(element, rest[1:], at)


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

    def __init__(
        self,
        fields: tuple[tuple[str, Fn, str], ...],
        connector: str,
        scope: str,
        explainers: dict[str, _Explainer] | None = None,
    ) -> None:
        self._fields = fields
        self.connector = connector
        self.scope = scope
        self._explainers = explainers or {}

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

    def explain(self, record: Any, loc: Sequence[str | int]) -> Provenance | None:
        """How this mapping produced the field at ``loc`` of ``record`` (``("items", 0, "quantity")``).

        Re-runs that field's rule one step at a time, for a record whose mapped form failed its
        content type. ``rule`` is False for a field the mapping has no rule for; None when it cannot
        say (a record-level problem, an item the list does not have).
        """
        try:
            return self.explain_at(record, tuple(loc), "")
        except Exception:  # a message about a failure must never fail in its turn
            return None

    def explain_at(self, record: Any, loc: Location, at: str) -> Provenance | None:
        """:meth:`explain` for a record found at ``at`` (``data.items[0]``) in the payload."""
        if not loc or not isinstance(loc[0], str):
            return None
        explainer = self._explainers.get(loc[0])
        if explainer is None:
            return Provenance(rule=False)
        return explainer.explain(record, loc[1:], at)

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
    explainers = {}
    for name, rule in spec.items():
        if not isinstance(name, str) or not name:
            raise MappingDefinitionError(location, f"field names must be non-empty text, got {name!r}")
        fn, source, explainer = _compile_rule(rule, (*location, name), connector, scope)
        fields.append((name, fn, source))
        explainers[name] = explainer
    return CompiledMapping(tuple(fields), connector, scope, explainers)


_Compiled = tuple[Fn, str, _Explainer]


def _compile_rule(rule: Any, location: Location, connector: str, scope: str) -> _Compiled:
    if isinstance(rule, str):
        path = _path(rule, location)
        return path.get, rule, _Explainer(paths=(path,))
    if rule is None or isinstance(rule, bool | int | float):
        return _literal(rule), "", _Explainer(literal=rule)
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
        return _null_when_empty(nested), "", _Explainer(nested=nested)
    if not RULE_KEYS & set(rule):
        nested = compile_mapping(rule, connector=connector, scope=scope, location=location)
        return _null_when_empty(nested), "", _Explainer(nested=nested)
    return _compile_field_rule(rule, location, connector, scope)


def _compile_field_rule(rule: dict[str, Any], location: Location, connector: str, scope: str) -> _Compiled:
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
    paths: tuple[CompiledPath, ...] = ()
    if "path" in rule:
        source_text = str(rule["path"])
        paths = (_path(rule["path"], (*location, "path")),)
        getter = paths[0].get
    elif "paths" in rule:
        getter, source_text, paths = _paths_getter(rule["paths"], (*location, "paths"))
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
    explainer = _Explainer(
        paths=paths,
        many="paths" in rule,
        literal=rule.get("value", _UNSET),
        steps=tuple(
            (str(rule.get("fn")) if name == "compute" else name, step)
            for name, step in zip(transforms, steps, strict=True)
        ),
        default=rule.get("default", _UNSET),
        items=_item_mapping(steps),
    )
    return fn, source_text, explainer


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


def _item_mapping(steps: list[Fn]) -> CompiledMapping | None:
    for step in steps:
        if isinstance(step, partial) and step.func is _map_items:
            item: CompiledMapping = step.args[0]
            return item
    return None


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


def _paths_getter(sources: Any, location: Location) -> tuple[Fn, str, tuple[CompiledPath, ...]]:
    if not isinstance(sources, list) or not sources:
        raise MappingDefinitionError(location, "paths must be a non-empty list of paths")
    paths = tuple(_path(source, (*location, i)) for i, source in enumerate(sources))
    getters = tuple(path.get for path in paths)

    def get_all(record: Any) -> list[Any]:
        return [get(record) for get in getters]

    return get_all, " | ".join(map(str, sources)), paths


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


def _source(at: str, path: CompiledPath, record: Any) -> Source:
    present, value, blocked = path.find(record)
    if blocked is not None:
        where = _joined(at, blocked[0]) if blocked[0] else at  # "": the record (an item) itself
        blocked = (where, blocked[1]) if where else None
    return Source(_joined(at, path.source), present, value, blocked)


def _has_content(value: Any) -> bool:
    """Not empty, nor a list of empties (the values of ``paths``, none of which was found)."""
    if isinstance(value, list):
        return any(not is_empty(item) for item in value)
    return not is_empty(value)


def _walk(value: Any, rest: Location) -> tuple[bool, Any]:
    """The part of ``value`` at ``rest`` (``("email",)``, ``(0, "sku")``), and whether it is there."""
    for part in rest:
        if isinstance(part, int):
            if not isinstance(value, list) or not -len(value) <= part < len(value):
                return False, None
        elif not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _location_path(rest: Location) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest).lstrip(".")


def _joined(at: str, path: str) -> str:
    """``path`` read inside the value found at ``at``: ``data.items[0]`` + ``qty``, ``$.qty`` or ``$``."""
    if not at:
        return path
    inner = path.strip()
    if inner == "$":
        return at
    inner = inner[2:] if inner.startswith("$.") else inner[1:] if inner.startswith("$[") else inner
    return f"{at}{inner}" if inner.startswith("[") else f"{at}.{inner}"


def _base(sources: tuple[Source, ...], at: str) -> str:
    """Where a list that mapItems maps was found: its path, or the first of ``paths`` with a value."""
    for source in sources:
        if _has_content(source.value):
            return source.path
    return sources[0].path if sources else at or "$"
