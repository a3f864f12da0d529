"""local/cfn_yaml.py: CloudFormation's short tags become their long forms; bad templates fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

import cfn_yaml


def test_short_tags_become_long_forms() -> None:
    # Given a template fragment written with every common short tag
    text = """
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Thing:
    Properties:
      Name: !Sub mercator-${Stage}
      Arn: !GetAtt Queue.Arn
      Listed: !GetAtt [Queue, QueueName]
      Joined: !Join ['-', [a, !Ref AWS::Region]]
      Picked: !Select [0, !Split [',', 'x,y']]
      Chosen: !If [IsProd, 5, !Ref AWS::NoValue]
      Mapped: !FindInMap [Sizes, !Ref Stage, Memory]
      Encoded: !Base64 {"Fn::Sub": "x"}
      Both: !And [!Condition IsProd, !Or [!Equals [a, a], !Equals [b, c]]]
"""
    # When it is loaded
    properties = cfn_yaml.loads(text)["Resources"]["Thing"]["Properties"]
    conditions = cfn_yaml.loads(text)["Conditions"]

    # Then each tag is the long form CloudFormation documents
    assert conditions["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert conditions["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert properties["Name"] == {"Fn::Sub": "mercator-${Stage}"}
    assert properties["Arn"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert properties["Listed"] == {"Fn::GetAtt": ["Queue", "QueueName"]}
    assert properties["Joined"] == {"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]}
    assert properties["Picked"] == {"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]}
    assert properties["Chosen"] == {"Fn::If": ["IsProd", 5, {"Ref": "AWS::NoValue"}]}
    assert properties["Mapped"] == {"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}
    assert properties["Encoded"] == {"Fn::Base64": {"Fn::Sub": "x"}}
    assert properties["Both"] == {
        "Fn::And": [
            {"Condition": "IsProd"},
            {"Fn::Or": [{"Fn::Equals": ["a", "a"]}, {"Fn::Equals": ["b", "c"]}]},
        ]
    }


def test_get_att_splits_at_the_first_dot_only() -> None:
    loaded = cfn_yaml.loads("Value: !GetAtt Nested.Outputs.QueueUrl")
    assert loaded["Value"] == {"Fn::GetAtt": ["Nested", "Outputs.QueueUrl"]}


def test_sub_with_variables_map_keeps_both_parts() -> None:
    loaded = cfn_yaml.loads("Value: !Sub ['${Name}-x', {Name: !Ref Stage}]")
    assert loaded["Value"] == {"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Stage"}}]}


def test_dates_stay_strings_as_cloudformation_reads_them() -> None:
    loaded = cfn_yaml.loads("AWSTemplateFormatVersion: 2010-09-09\nCount: 5\nEnabled: true")
    assert loaded == {"AWSTemplateFormatVersion": "2010-09-09", "Count": 5, "Enabled": True}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Value: !Reference Queue", "unknown tag !Reference"),
        ("Value: !GetAtt QueueArn", "!GetAtt 'QueueArn' needs the form LogicalId.Attribute"),
        ("Value: !GetAtt .Arn", "needs the form LogicalId.Attribute"),
        ("Value: !Ref [a, b]", "!Ref takes a single name"),
        ("Value: !Condition {a: b}", "!Condition takes a single name"),
        ("A: 1\nB: 2\nA: 3", "found duplicate key 'A'"),
        ("Outer:\n  Inner: 1\n  Inner: 2", "found duplicate key 'Inner'"),
        ("- just\n- a list", "a template is a mapping at the top level, not list"),
        ("Value: [unclosed", "while parsing a flow sequence"),
    ],
)
def test_invalid_templates_fail_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(cfn_yaml.CfnYamlError) as raised:
        cfn_yaml.loads(text, source="my-template.yaml")
    assert str(raised.value).startswith("my-template.yaml: ")
    assert message in str(raised.value)


def test_errors_point_at_the_line() -> None:
    with pytest.raises(cfn_yaml.CfnYamlError, match=r"line 3, column 6"):
        cfn_yaml.loads("A: 1\nB:\n  C: !Nope x")


def test_load_reads_a_file_and_names_it_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n", encoding="utf-8")
    assert cfn_yaml.load(good) == {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}

    bad = tmp_path / "bad.yaml"
    bad.write_text("Value: !Bogus x\n", encoding="utf-8")
    with pytest.raises(cfn_yaml.CfnYamlError, match=rf"^{bad}: "):
        cfn_yaml.load(bad)

    with pytest.raises(cfn_yaml.CfnYamlError, match="cannot read the template"):
        cfn_yaml.load(tmp_path / "missing.yaml")


def test_a_merge_key_is_not_a_duplicate() -> None:
    loaded = cfn_yaml.loads("Base: &base {A: 1}\nItem:\n  <<: *base\n  B: 2")
    assert loaded["Item"] == {"A": 1, "B": 2}
