"""The SAM template as the local stack reads it: resources by type, parameters, SAM Globals merged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mercator_local.cfn import read_template
from mercator_local.intrinsics import TemplateError

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
EVENT_BUS = "AWS::Events::EventBus"
SECRET = "AWS::SecretsManager::Secret"
FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"


@dataclass(frozen=True)
class Template:
    """A parsed template; ``directory`` is where its relative CodeUri paths start."""

    path: Path
    body: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path) -> Template:
        body = read_template(path)
        if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
            raise TemplateError(f"{path}: a template needs a Resources mapping")
        return cls(path=path, body=body)

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.body["Resources"]
        return resources

    @property
    def conditions(self) -> Mapping[str, Any]:
        return self._section("Conditions")

    @property
    def mappings(self) -> Mapping[str, Any]:
        return self._section("Mappings")

    def of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        """Resources of one type by logical id, in template order."""
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if isinstance(resource, Mapping) and resource.get("Type") == resource_type
        }

    def parameter_values(self, overrides: Mapping[str, str]) -> dict[str, str]:
        """Every parameter's value: the override, else its Default; AllowedValues enforced."""
        declared = self._section("Parameters")
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(
                f"{self.path}: no parameter named {', '.join(unknown)} "
                f"(parameters: {', '.join(declared) or 'none'})"
            )
        values: dict[str, str] = {}
        for name, declaration in declared.items():
            if name in overrides:
                value = str(overrides[name])
            elif "Default" in declaration:
                value = _parameter_string(declaration["Default"])
            else:
                raise TemplateError(f"{self.path}: parameter {name} has no Default; pass a value for it")
            allowed = [str(item) for item in declaration.get("AllowedValues", [])]
            if allowed and value not in allowed:
                raise TemplateError(f"Parameters.{name}: {value!r} is not one of {', '.join(allowed)}")
            values[name] = value
        return values

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """A function's Properties with the template's Globals.Function merged the way SAM merges them."""
        resource = self.of_type(FUNCTION).get(logical_id)
        if resource is None:
            functions = ", ".join(self.of_type(FUNCTION)) or "none"
            raise TemplateError(f"{self.path}: no function {logical_id!r} (functions: {functions})")
        globals_ = self._section("Globals").get("Function", {})
        merged = merge_globals(globals_, resource.get("Properties", {}))
        return dict(merged)

    def _section(self, name: str) -> Mapping[str, Any]:
        section = self.body.get(name) or {}
        if not isinstance(section, Mapping):
            raise TemplateError(f"{self.path}: {name} must be a mapping")
        return section


def merge_globals(globals_: Any, own: Any) -> Any:
    """SAM's Globals rule: maps merge key by key, lists append (globals first), the function's scalar wins."""
    if _is_intrinsic(globals_) or _is_intrinsic(own):
        return own
    if isinstance(globals_, Mapping) and isinstance(own, Mapping):
        merged = dict(globals_)
        for key, value in own.items():
            merged[key] = merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(own, list):
        return [*globals_, *own]
    return own


def _is_intrinsic(value: Any) -> bool:
    if not (isinstance(value, Mapping) and len(value) == 1):
        return False
    name = next(iter(value))
    return name in {"Ref", "Condition"} or str(name).startswith("Fn::")


def _parameter_string(value: Any) -> str:
    # CloudFormation hands every parameter to Ref as a string ("CommaDelimitedList" included).
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)
