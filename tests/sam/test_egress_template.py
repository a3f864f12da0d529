"""The deployed functions never let requests made on a tenant's behalf reach loopback."""

from __future__ import annotations

from typing import Any

from tests.sam.conftest import ROOT

LOCAL_ONLY = "EGRESS_ALLOW_LOOPBACK"


def test_no_function_is_given_the_local_stacks_loopback_permission(template: dict[str, Any]) -> None:
    # Not in the globals, not in any function's environment, not as a parameter that could set it
    environments = [template.get("Globals", {}).get("Function", {}).get("Environment", {})]
    environments += [
        resource.get("Properties", {}).get("Environment", {})
        for resource in template["Resources"].values()
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    ]
    for environment in environments:
        assert LOCAL_ONLY not in environment.get("Variables", {})
    assert LOCAL_ONLY not in (ROOT / "template.yaml").read_text(encoding="utf-8")
