"""CloudFormation YAML: a loader that understands the short intrinsic tags (``!Ref``, ``!GetAtt``...).

Each tag becomes the long form CloudFormation itself uses (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), so
whatever reads Mercator's ``template.yaml`` (the template tests, the local stack that builds its tables and
queues from it) handles one shape. As CloudFormation does, it refuses duplicate keys and keeps unquoted
dates as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# Short tag (without "!") → the key of its long form.
INTRINSIC_FUNCTIONS: Mapping[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Not": "Fn::Not",
    "FindInMap": "Fn::FindInMap",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Base64": "Fn::Base64",
    "Cidr": "Fn::Cidr",
    "Transform": "Fn::Transform",
    "Length": "Fn::Length",
    "ToJsonString": "Fn::ToJsonString",
}

# Tags whose argument is a name, never a list or a mapping.
_NAME_ONLY = frozenset({"Ref", "Condition"})

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class CfnYamlError(ValueError):
    """A template that is not valid CloudFormation YAML; the message names the file, line and column."""


class CfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus CloudFormation's short tags, duplicate-key refusal and string dates."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# SafeLoader would turn AWSTemplateFormatVersion: 2010-09-09 into a date; CloudFormation reads a string.
CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: Node) -> dict[str, Any]:
    name = tag_suffix
    if name not in INTRINSIC_FUNCTIONS:
        raise ConstructorError(
            None,
            None,
            f"unknown tag !{name}; CloudFormation's short tags are "
            + ", ".join(f"!{known}" for known in INTRINSIC_FUNCTIONS),
            node.start_mark,
        )
    argument: Any
    if isinstance(node, ScalarNode):
        argument = loader.construct_scalar(node)
        if name == "GetAtt":
            argument = _split_get_att(argument, node)
    elif name in _NAME_ONLY:
        raise ConstructorError(
            None, None, f"!{name} takes a single name, not a list or a mapping", node.start_mark
        )
    elif isinstance(node, SequenceNode):
        argument = loader.construct_sequence(node, deep=True)
    elif isinstance(node, MappingNode):
        argument = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kinds
        raise ConstructorError(None, None, f"!{name}: unexpected YAML node", node.start_mark)
    return {INTRINSIC_FUNCTIONS[name]: argument}


def _split_get_att(argument: str, node: Node) -> list[str]:
    # CloudFormation splits at the first dot only: !GetAtt Stack.Outputs.Name → [Stack, Outputs.Name].
    resource, dot, attribute = argument.partition(".")
    if not dot or not resource or not attribute:
        raise ConstructorError(
            None,
            None,
            f"!GetAtt {argument!r} needs the form LogicalId.Attribute",
            node.start_mark,
        )
    return [resource, attribute]


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def loads(text: str, *, source: str = "<template>") -> dict[str, Any]:
    """Parse a CloudFormation YAML document whose top level is a mapping; ``source`` names it in errors."""
    try:
        document = yaml.load(text, Loader=CfnLoader)  # CfnLoader is a SafeLoader: no arbitrary objects
    except yaml.YAMLError as error:
        raise CfnYamlError(f"{source}: {error}") from error
    if not isinstance(document, dict):
        raise CfnYamlError(
            f"{source}: a template is a mapping at the top level, not {type(document).__name__}"
        )
    return document


def load(path: str | Path) -> dict[str, Any]:
    """Read and parse a CloudFormation YAML template file."""
    location = Path(path)
    try:
        text = location.read_text(encoding="utf-8")
    except OSError as error:
        raise CfnYamlError(f"{location}: cannot read the template: {error.strerror or error}") from error
    return loads(text, source=str(location))
