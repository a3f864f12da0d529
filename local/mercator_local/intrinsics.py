"""CloudFormation intrinsic functions, resolved against the local stack's resources.

Covers what a SAM template uses for the properties the local stack needs: ``Ref``, ``Fn::GetAtt``,
``Fn::Sub`` (both forms), ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If`` with the template's
conditions, ``Fn::FindInMap`` and ``AWS::NoValue``. Anything else is an error that names the path of
the value, so an unsupported template fails loudly instead of creating a resource that differs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "123456789012"  # moto's default account: every ARN the server hands out names it


class TemplateError(ValueError):
    """A template the local stack cannot build: the message names the path of the offending value."""


class _NoValue:
    """``AWS::NoValue``: the property it stands for is removed."""


NO_VALUE = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_SUB_LITERAL = re.compile(r"\$\{!")
_REFERRING = ("Ref", "Fn::GetAtt", "Fn::Sub")


@dataclass(frozen=True)
class Physical:
    """What ``Ref`` and ``Fn::GetAtt`` return for one created resource."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def references(value: Any) -> set[str]:
    """Logical ids a value refers to through ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub`` variables."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _REFERRING:
        name, argument = next(iter(value.items()))
        if name == "Ref" and isinstance(argument, str):
            found.add(argument)
        elif name == "Fn::GetAtt":
            found.add(str(argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]))
        elif name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            named = {match.strip().split(".", 1)[0] for match in _SUB_VARIABLE.findall(str(text))}
            found |= (named - set(variables)) | references(variables)
    elif isinstance(value, dict):
        for item in value.values():
            found |= references(item)
    return {name for name in found if not name.startswith("AWS::")}


class Resolver:
    """Resolves intrinsic functions; ``physical`` gives the created resource behind a logical id."""

    def __init__(
        self,
        *,
        stack_name: str,
        region: str,
        parameters: Mapping[str, str],
        conditions: Mapping[str, Any],
        mappings: Mapping[str, Any],
        physical: Callable[[str], Physical | None],
    ) -> None:
        self._pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": region,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self._parameters = dict(parameters)
        self._conditions = conditions
        self._condition_values: dict[str, bool] = {}
        self._mappings = mappings
        self._physical = physical

    def resolve(self, value: Any, path: str) -> Any:
        """``value`` with every intrinsic function replaced by its result; NO_VALUE entries dropped."""
        if isinstance(value, list):
            items = [self.resolve(item, f"{path}[{index}]") for index, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (name, argument), *_ = value.items()
            if name == "Ref" or name.startswith("Fn::") or name == "Condition":
                return self._function(name, argument, path)
        resolved = {key: self.resolve(item, f"{path}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str, path: str) -> bool:
        if name not in self._condition_values:
            if name not in self._conditions:
                raise TemplateError(f"{path}: no condition named {name!r} in the template")
            self._condition_values[name] = self._truth(self._conditions[name], f"Conditions.{name}")
        return self._condition_values[name]

    def _function(self, name: str, argument: Any, path: str) -> Any:
        handlers: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Equals": self._truth_of(name),
            "Fn::Not": self._truth_of(name),
            "Fn::And": self._truth_of(name),
            "Fn::Or": self._truth_of(name),
            "Condition": self._truth_of(name),
        }
        handler = handlers.get(name)
        if handler is None:
            raise TemplateError(
                f"{path}: {name} is not supported by the local stack (supported: {', '.join(handlers)})"
            )
        return handler(argument, f"{path}.{name}")

    def _truth_of(self, name: str) -> Callable[[Any, str], bool]:
        return lambda argument, path: self._truth({name: argument}, path)

    def _ref(self, argument: Any, path: str) -> Any:
        if not isinstance(argument, str):
            raise TemplateError(f"{path}: Ref takes a logical id, got {argument!r}")
        if argument == "AWS::NoValue":
            return NO_VALUE
        if argument in self._pseudo:
            return self._pseudo[argument]
        if argument in self._parameters:
            return self._parameters[argument]
        return self._created(argument, path).ref

    def _get_att(self, argument: Any, path: str) -> str:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{path}: Fn::GetAtt takes [LogicalId, Attribute], got {argument!r}")
        logical_id, attribute = argument[0], self.resolve(argument[1], path)
        created = self._created(str(logical_id), path)
        if attribute not in created.attributes:
            known = ", ".join(sorted(created.attributes)) or "none"
            raise TemplateError(
                f"{path}: {logical_id} has no attribute {attribute!r} locally (known: {known})"
            )
        return created.attributes[attribute]

    def _created(self, logical_id: str, path: str) -> Physical:
        created = self._physical(logical_id)
        if created is None:
            raise TemplateError(
                f"{path}: {logical_id!r} is neither a parameter nor a resource the local stack creates"
            )
        return created

    def _sub(self, argument: Any, path: str) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
            text, variables = argument[0], self.resolve(argument[1], f"{path}[1]")
        else:
            raise TemplateError(f"{path}: Fn::Sub takes a string or [string, {{variables}}]")

        def value_of(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self._parameters:
                return self._get_att(name, path)
            return str(self._ref(name, path))

        substituted = _SUB_VARIABLE.sub(value_of, text)
        return _SUB_LITERAL.sub("${", substituted)

    def _join(self, argument: Any, path: str) -> str:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{path}: Fn::Join takes [delimiter, [values]]")
        items = self.resolve(argument[1], f"{path}[1]")
        if not isinstance(items, list):
            raise TemplateError(f"{path}: Fn::Join needs a list of values, got {items!r}")
        return str(argument[0]).join(str(item) for item in items)

    def _select(self, argument: Any, path: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{path}: Fn::Select takes [index, [values]]")
        index = int(self.resolve(argument[0], f"{path}[0]"))
        items = self.resolve(argument[1], f"{path}[1]")
        if not isinstance(items, list) or not 0 <= index < len(items):
            raise TemplateError(f"{path}: index {index} is outside {items!r}")
        return items[index]

    def _split(self, argument: Any, path: str) -> list[str]:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{path}: Fn::Split takes [delimiter, string]")
        return str(self.resolve(argument[1], f"{path}[1]")).split(str(argument[0]))

    def _if(self, argument: Any, path: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
            raise TemplateError(f"{path}: Fn::If takes [condition, value if true, value if false]")
        chosen = 1 if self.condition(argument[0], path) else 2
        return self.resolve(argument[chosen], f"{path}[{chosen}]")

    def _find_in_map(self, argument: Any, path: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            raise TemplateError(f"{path}: Fn::FindInMap takes [map, top-level key, second-level key]")
        keys = [str(self.resolve(item, f"{path}[{index}]")) for index, item in enumerate(argument)]
        try:
            return self.resolve(self._mappings[keys[0]][keys[1]][keys[2]], path)
        except (KeyError, TypeError):
            raise TemplateError(f"{path}: the mappings have no entry {'.'.join(keys)}") from None

    def _truth(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if not (isinstance(value, dict) and len(value) == 1):
            raise TemplateError(f"{path}: a condition must be one condition function, got {value!r}")
        (name, argument), *_ = value.items()
        if name == "Condition":
            return self.condition(str(argument), path)
        if not isinstance(argument, list):
            raise TemplateError(f"{path}: {name} takes a list")
        if name == "Fn::Equals" and len(argument) == 2:
            left, right = (self.resolve(item, f"{path}.{name}") for item in argument)
            return _canonical(left) == _canonical(right)
        if name == "Fn::Not" and len(argument) == 1:
            return not self._truth(argument[0], f"{path}.{name}")
        if name == "Fn::And":
            return all(self._truth(item, f"{path}.{name}") for item in argument)
        if name == "Fn::Or":
            return any(self._truth(item, f"{path}.{name}") for item in argument)
        raise TemplateError(f"{path}: {name} is not a condition function the local stack knows")


def _canonical(value: Any) -> str:
    # CloudFormation compares parameter strings and literals alike: "5" equals 5.
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
