"""Intrinsic functions resolved the way CloudFormation resolves them, and SAM's Globals merge."""

from __future__ import annotations

from typing import Any

import pytest

from mercator_local.intrinsics import Physical, Resolver, TemplateError, references
from mercator_local.template import merge_globals

CREATED = {
    "Jobs": Physical(
        ref="http://127.0.0.1:5000/123456789012/st-Jobs",
        attributes={"Arn": "arn:aws:sqs:eu-central-1:123456789012:st-Jobs", "QueueName": "st-Jobs"},
    ),
    "State": Physical(
        ref="st-State", attributes={"Arn": "arn:aws:dynamodb:eu-central-1:123456789012:table/st-State"}
    ),
}


def _resolver(**parameters: str) -> Resolver:
    return Resolver(
        stack_name="st",
        region="eu-central-1",
        parameters={"Stage": "dev", "Size": "5", **parameters},
        conditions={
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "IsBig": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Size"}, 5]}]},
            "ProdOrBig": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsBig"}]},
        },
        mappings={"Sizes": {"dev": {"Memory": 256}, "prod": {"Memory": 1024}}},
        physical=CREATED.get,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "State"}, "st-State"),
        ({"Ref": "Stage"}, "dev"),
        ({"Ref": "AWS::Region"}, "eu-central-1"),
        ({"Fn::GetAtt": ["Jobs", "Arn"]}, "arn:aws:sqs:eu-central-1:123456789012:st-Jobs"),
        ({"Fn::GetAtt": "Jobs.QueueName"}, "st-Jobs"),
        ({"Fn::Sub": "Mercator/${Stage}"}, "Mercator/dev"),
        ({"Fn::Sub": "${AWS::StackName}-${Jobs.QueueName}"}, "st-st-Jobs"),
        ({"Fn::Sub": "arn:${AWS::Partition}:x:${!Literal}"}, "arn:aws:x:${Literal}"),
        ({"Fn::Sub": ["${Name}-${Stage}", {"Name": {"Ref": "State"}}]}, "st-State-dev"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, "b"]]}, "a-dev-b"),
        ({"Fn::Select": [1, ["zero", "one", "two"]]}, "one"),
        ({"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]}, "x"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}, 256),
        ({"Fn::If": ["IsProd", "loud", "quiet"]}, "quiet"),
        ({"Fn::If": ["ProdOrBig", "yes", "no"]}, "no"),
        ({"Outer": {"Inner": [{"Ref": "Stage"}, 3]}}, {"Outer": {"Inner": ["dev", 3]}}),
    ],
)
def test_values_resolve(value: Any, expected: Any) -> None:
    assert _resolver().resolve(value, "Here") == expected


def test_conditions_follow_parameter_values() -> None:
    resolver = _resolver(Stage="prod", Size="9")

    assert resolver.condition("IsProd", "Here") is True
    assert resolver.condition("IsBig", "Here") is True
    assert resolver.resolve({"Fn::If": ["ProdOrBig", "yes", "no"]}, "Here") == "yes"


def test_no_value_removes_the_property_and_the_list_item() -> None:
    value = {
        "Keep": 1,
        "Drop": {"Fn::If": ["IsProd", 30, {"Ref": "AWS::NoValue"}]},
        "Items": ["a", {"Ref": "AWS::NoValue"}, "b"],
    }

    assert _resolver().resolve(value, "Here") == {"Keep": 1, "Items": ["a", "b"]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::Base64": "x"}, r"Here: Fn::Base64 is not supported by the local stack"),
        ({"Ref": "Nowhere"}, r"Here\.Ref: 'Nowhere' is neither a parameter nor a resource"),
        (
            {"Fn::GetAtt": ["State", "StreamArn"]},
            r"State has no attribute 'StreamArn' locally \(known: Arn\)",
        ),
        ({"Fn::Select": [3, ["a"]]}, r"index 3 is outside"),
        ({"Fn::FindInMap": ["Sizes", "qa", "Memory"]}, r"the mappings have no entry Sizes\.qa\.Memory"),
        ({"Fn::If": ["Unknown", 1, 2]}, r"no condition named 'Unknown'"),
        ({"Fn::Join": ["-"]}, r"Fn::Join takes \[delimiter, \[values\]\]"),
        ({"List": [{"Ref": ["not", "a", "name"]}]}, r"Here\.List\[0\]\.Ref: Ref takes a logical id"),
    ],
)
def test_what_cannot_be_resolved_is_named(value: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        _resolver().resolve(value, "Here")


def test_references_find_the_logical_ids_a_value_needs() -> None:
    value = {
        "A": {"Ref": "Jobs"},
        "B": {"Fn::GetAtt": ["State", "Arn"]},
        "C": {"Fn::Sub": "${Other.Arn}-${AWS::Region}-${!Escaped}"},
        "D": {"Fn::Sub": ["${Local}-${Third}", {"Local": {"Ref": "Fourth"}}]},
        "E": {"Ref": "AWS::StackName"},
    }

    assert references(value) == {"Jobs", "State", "Other", "Third", "Fourth"}


def test_globals_merge_the_way_sam_merges_them() -> None:
    globals_ = {
        "Timeout": 20,
        "Layers": ["shared"],
        "Environment": {"Variables": {"A": "global", "B": "global"}},
        "Tracing": {"Ref": "TracingMode"},
    }
    own = {
        "Timeout": 7,
        "Layers": ["own"],
        "Environment": {"Variables": {"B": "own", "C": "own"}},
        "Tracing": {"Fn::If": ["IsProd", "Active", "PassThrough"]},
    }

    assert merge_globals(globals_, own) == {
        "Timeout": 7,
        "Layers": ["shared", "own"],
        "Environment": {"Variables": {"A": "global", "B": "own", "C": "own"}},
        "Tracing": {"Fn::If": ["IsProd", "Active", "PassThrough"]},
    }
