"""A workflow's conditions: record path → a value it must equal, or one operator and its operand.

``{"status": "delivered"}`` holds when the record's status is "delivered";
``{"totalAmount": {"gte": 100}, "customer.email": {"exists": true}}`` holds when both parts hold.
Paths are those of the mappings (``customer.email``, ``items[0].sku``), compiled once per process.

Values compare by type: numbers as numbers (``100`` equals ``100.0``), strings exactly (case and
spaces count), booleans only with booleans; a number never equals its text (``"100"``). An absent
field reads as null. The store validates conditions when a workflow is saved; TriggerDispatch
compiles them again, so a workflow stored before a rule changed pauses with the reason instead of
failing its whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mercator.mapping import CompiledPath, PathSyntaxError, compile_path

OPERATORS = ("eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "exists", "contains")
_ORDERING = frozenset({"gt", "gte", "lt", "lte"})


class ConditionError(ValueError):
    """A condition that cannot be evaluated; the message names its path and what is wrong."""


@dataclass(frozen=True)
class Condition:
    path: CompiledPath
    operator: str
    operand: Any

    def holds(self, record: Mapping[str, Any]) -> bool:
        return _TESTS[self.operator](self.path.get(record), self.operand)


@dataclass(frozen=True)
class Conditions:
    """Every condition of a workflow; they hold when each one does (none: always)."""

    items: tuple[Condition, ...]

    def hold(self, record: Mapping[str, Any]) -> bool:
        return all(condition.holds(record) for condition in self.items)


def compile_conditions(conditions: Mapping[str, Any]) -> Conditions:
    """Compile a workflow's ``conditions``; ConditionError names the first one at fault."""
    if not isinstance(conditions, Mapping):
        raise ConditionError(f"conditions must be an object of record path → value, got {conditions!r}")
    return Conditions(tuple(_condition(path, value) for path, value in conditions.items()))


def validate_conditions(conditions: Mapping[str, Any]) -> None:
    """Raise ConditionError when ``conditions`` cannot be evaluated."""
    compile_conditions(conditions)


def _condition(source: str, value: Any) -> Condition:
    try:
        path = _compiled(source)
    except PathSyntaxError as e:
        raise ConditionError(f"condition on {source!r}: {e}") from None
    if not isinstance(value, dict):
        return Condition(path, "eq", value)
    if len(value) != 1:
        found = ", ".join(map(repr, value)) or "none"
        raise ConditionError(
            f"condition on {source!r} needs exactly one operator, got {found}; "
            f"valid operators: {', '.join(OPERATORS)}"
        )
    [(operator, operand)] = value.items()
    if operator not in _TESTS:
        raise ConditionError(
            f"condition on {source!r}: unknown operator {operator!r}; valid operators: {', '.join(OPERATORS)}"
        )
    problem = _operand_problem(operator, operand)
    if problem:
        raise ConditionError(f"condition on {source!r}: {operator} {problem}, got {operand!r}")
    return Condition(path, operator, operand)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> CompiledPath:
    return compile_path(source)


def _operand_problem(operator: str, operand: Any) -> str | None:
    if operator in ("in", "nin") and not isinstance(operand, list):
        return "needs a list of values"
    if operator in _ORDERING and not (_is_number(operand) or isinstance(operand, str)):
        return "needs a number or a string"
    if operator == "exists" and not isinstance(operand, bool):
        return "needs true or false"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(left: Any, right: Any) -> bool:
    """JSON equality by type: 1 == 1.0, but True != 1 and "1" != 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    return type(left) is type(right) and bool(left == right)


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """Numbers with numbers, strings with strings (ISO dates order as text); anything else: False."""

    def test(value: Any, operand: Any) -> bool:
        if _is_number(value) and _is_number(operand):
            return compare(value, operand)
        if isinstance(value, str) and isinstance(operand, str):
            return compare(value, operand)
        return False

    return test


def _contains(value: Any, operand: Any) -> bool:
    if isinstance(value, str):
        return isinstance(operand, str) and operand in value
    if isinstance(value, list):
        return any(_same(member, operand) for member in value)
    return False


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _same,
    "ne": lambda value, operand: not _same(value, operand),
    "in": lambda value, operand: any(_same(value, choice) for choice in operand),
    "nin": lambda value, operand: not any(_same(value, choice) for choice in operand),
    "gt": _ordered(lambda a, b: a > b),
    "gte": _ordered(lambda a, b: a >= b),
    "lt": _ordered(lambda a, b: a < b),
    "lte": _ordered(lambda a, b: a <= b),
    "exists": lambda value, operand: (value is not None) is operand,
    "contains": _contains,
}
