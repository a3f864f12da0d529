"""The egress settings every function reads: loopback off unless asked for, host patterns checked."""

from __future__ import annotations

import pytest

from mercator.providers.egress import EgressPolicy
from mercator.settings import EgressSettings, ManagementSettings, SettingsError, SyncSettings
from tests.unit.functions.conftest import SYNC_ENV


def test_by_default_loopback_is_refused_and_no_host_is_added() -> None:
    settings = SyncSettings.from_environ(SYNC_ENV)

    assert (settings.egress_allow_loopback, settings.egress_allowed_hosts) == (False, ())
    assert EgressPolicy.from_settings(settings) == EgressPolicy()


@pytest.mark.parametrize(("value", "allowed"), [("true", True), ("1", True), ("false", False), ("", False)])
def test_loopback_is_allowed_only_when_set(value: str, allowed: bool) -> None:
    settings = EgressSettings.from_environ({"EGRESS_ALLOW_LOOPBACK": value})

    assert settings.egress_allow_loopback is allowed


def test_the_operators_host_patterns_are_read_and_checked() -> None:
    settings = EgressSettings.from_environ({"EGRESS_ALLOWED_HOSTS": "*.staging.example.com, api.example.org"})
    assert settings.egress_allowed_hosts == ("*.staging.example.com", "api.example.org")
    assert EgressPolicy.from_settings(settings).allowed_hosts == settings.egress_allowed_hosts

    with pytest.raises(SettingsError) as caught:
        EgressSettings.from_environ(
            {"EGRESS_ALLOWED_HOSTS": "https://x.example.com", "EGRESS_ALLOW_LOOPBACK": "?"}
        )
    message = str(caught.value)
    assert (
        "environment variable EGRESS_ALLOWED_HOSTS: 'https://x.example.com' is not a host pattern" in message
    )
    assert "environment variable EGRESS_ALLOW_LOOPBACK: Input should be a valid boolean" in message


def test_every_function_that_calls_out_reads_them() -> None:
    for model in (SyncSettings, ManagementSettings):
        assert {"EGRESS_ALLOW_LOOPBACK", "EGRESS_ALLOWED_HOSTS"} <= {
            field.alias for field in model.model_fields.values()
        }


def test_the_policy_of_the_environment_is_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGRESS_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("EGRESS_ALLOWED_HOSTS", "*.staging.example.com")

    assert EgressPolicy.from_environment() == EgressPolicy(
        allow_loopback=True, allowed_hosts=("*.staging.example.com",)
    )
