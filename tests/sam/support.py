"""Reading a SAM template in tests: functions with their Globals, events, references, dummy values; and
reading the dependency locks the layer and the dev environment are installed from."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / ".aws-sam" / "build"
LAYER_LOCK = ROOT / "shared" / "requirements.txt"
DEV_LOCK = ROOT / "requirements-dev.txt"

FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
SECRET = "AWS::SecretsManager::Secret"
API = "AWS::Serverless::Api"

DUMMY_REGION = "eu-central-1"
DUMMY_ACCOUNT = "123456789012"


def of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Resources of one type by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def function_property(template: Mapping[str, Any], logical_id: str, name: str) -> Any:
    """A function's property as SAM deploys it: its own value, else the Globals one, else None."""
    properties = template["Resources"][logical_id]["Properties"]
    if name in properties:
        return properties[name]
    return template.get("Globals", {}).get("Function", {}).get(name)


def function_environment(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """Globals variables overlaid with the function's own, as SAM merges them."""
    global_variables = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return {**global_variables, **own}


def events(template: Mapping[str, Any], event_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function logical id, event name, event properties) of every event of one type."""
    for logical_id in of_type(template, FUNCTION):
        declared = template["Resources"][logical_id]["Properties"].get("Events", {})
        for name, event in declared.items():
            if event["Type"] == event_type:
                yield logical_id, name, event["Properties"]


def referenced(value: Any) -> str:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return str(value["Ref"])
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return str(value["Fn::GetAtt"][0])
    raise AssertionError(f"expected a Ref or Fn::GetAtt, found {value!r}")


def policy_templates(template: Mapping[str, Any], logical_id: str) -> list[tuple[str, dict[str, Any]]]:
    """A function's Policies as (SAM policy template name, its parameters)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for policy in function_property(template, logical_id, "Policies") or []:
        assert isinstance(policy, dict) and len(policy) == 1, f"{logical_id}: not a policy template: {policy}"
        ((name, parameters),) = policy.items()
        found.append((name, parameters))
    return found


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere inside a parsed template value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def dummy_value(template: Mapping[str, Any], value: Any) -> str:
    """A stand-in for an environment value: literals kept, parameters at their Default, resources faked."""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return _dummy_reference(template, value["Ref"])
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return _SUB_VARIABLE.sub(lambda match: _dummy_reference(template, match[1]), value["Fn::Sub"])
    raise AssertionError(f"no stand-in for the environment value {value!r}")


def _dummy_reference(template: Mapping[str, Any], name: str) -> str:
    parameters = template.get("Parameters", {})
    if name in parameters:
        return str(parameters[name]["Default"])
    resource_type = template["Resources"].get(name, {}).get("Type")
    if resource_type == TABLE:
        return f"mercator-test-{name}"
    if resource_type == QUEUE:
        return f"https://sqs.{DUMMY_REGION}.amazonaws.com/{DUMMY_ACCOUNT}/mercator-test-{name}"
    if resource_type in {"AWS::S3::Bucket", "AWS::Events::EventBus"}:
        return f"mercator-test-{name.lower()}"
    if resource_type == SECRET:
        # Ref of a secret is its ARN: its declared name, then a random suffix Secrets Manager adds.
        declared = template["Resources"][name].get("Properties", {}).get("Name")
        secret = dummy_value(template, declared) if declared is not None else f"mercator/test-{name}"
        return f"arn:aws:secretsmanager:{DUMMY_REGION}:{DUMMY_ACCOUNT}:secret:{secret}-AbCdEf"
    raise AssertionError(f"no stand-in for a reference to {name} ({resource_type or 'undeclared'})")


@dataclass(frozen=True)
class LockEntry:
    """One requirement of a requirements file, its continuation lines joined, and the hashes it allows."""

    requirement: str
    hashes: tuple[str, ...]


def lock_entries(path: Path) -> list[LockEntry]:
    """Every line of a requirements file that is not a comment, as written apart from its hashes."""
    entries: list[LockEntry] = []
    for line in path.read_text().replace("\\\n", " ").splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            hashes = tuple(word.removeprefix("--hash=") for word in words if word.startswith("--hash="))
            rest = " ".join(word for word in words if not word.startswith("--hash="))
            entries.append(LockEntry(rest, hashes))
    return entries


def lock_pins(path: Path) -> dict[str, str]:
    """The version each package of a lock is pinned to, by normalized name."""
    pins: dict[str, str] = {}
    for entry in lock_entries(path):
        requirement = Requirement(entry.requirement)
        (pin,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = pin.version
    return pins
