"""boto3 clients as the functions make them: adaptive retries, and bounds that fit each function's timeout."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from mercator.settings import (
    AuthorizerSettings,
    DispatchSettings,
    EnrichSettings,
    ManagementSettings,
    OAuthSettings,
    SyncSettings,
    WebhookSettings,
)
from mercator.state.aws_clients import AwsClients, aws_client
from mercator_local.stack import DEFAULT_TEMPLATE
from mercator_local.template import Template
from tests.fake_aws import use_fake_aws

REGION = "eu-west-1"
SETTINGS_OF_FUNCTION: dict[str, type[BaseModel]] = {
    "ApiAuthorizerFunction": AuthorizerSettings,
    "ManagementApiFunction": ManagementSettings,
    "OAuthFunction": OAuthSettings,
    "WebhookIntakeFunction": WebhookSettings,
    "TriggerDispatchFunction": DispatchSettings,
    "ScheduledSyncFunction": SyncSettings,
    "DetailEnrichmentFunction": EnrichSettings,
}


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch, REGION)


def default_budget(settings: type[BaseModel]) -> AwsClients:
    fields = settings.model_fields
    return AwsClients(
        connect_timeout=fields["boto_connect_timeout_seconds"].default,
        read_timeout=fields["boto_read_timeout_seconds"].default,
        max_attempts=fields["boto_max_attempts"].default,
    )


def test_a_client_retries_in_adaptive_mode_with_the_timeouts_asked_for() -> None:
    client = aws_client("dynamodb", connect_timeout=1, read_timeout=3, max_attempts=2)

    config = client.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 2}
    assert (config.connect_timeout, config.read_timeout) == (1, 3)


def test_the_default_bounds_are_far_below_botocores_sixty_seconds() -> None:
    config = aws_client("sqs").meta.config

    assert config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (2, 5)
    assert AwsClients().worst_case_seconds() == 3 * (2 + 5) + 1 + 2


def test_the_config_goes_to_whatever_takes_one() -> None:
    config = AwsClients(connect_timeout=1.5, read_timeout=4, max_attempts=5).config()

    assert config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert (config.connect_timeout, config.read_timeout) == (1.5, 4)


def test_clients_take_a_functions_bounds_from_its_settings() -> None:
    settings = AuthorizerSettings.from_environ(
        {
            "STATE_TABLE": "mercator-state",
            "BOTO_CONNECT_TIMEOUT_SECONDS": "0.5",
            "BOTO_READ_TIMEOUT_SECONDS": "1.5",
            "BOTO_MAX_ATTEMPTS": "4",
        }
    )

    clients = AwsClients.of(settings)

    assert clients == AwsClients(connect_timeout=0.5, read_timeout=1.5, max_attempts=4)
    config = clients.client("dynamodb").meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 4}
    assert (config.connect_timeout, config.read_timeout) == (0.5, 1.5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"connect_timeout": 0}, "connect_timeout must be a finite number of seconds above 0"),
        ({"read_timeout": float("inf")}, "read_timeout must be a finite number of seconds above 0"),
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
    ],
)
def test_bounds_that_would_never_end_or_never_try_are_refused(
    options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        AwsClients(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("function", sorted(SETTINGS_OF_FUNCTION))
def test_one_call_at_its_worst_leaves_room_in_the_functions_timeout(function: str) -> None:
    timeout = Template.load(DEFAULT_TEMPLATE).function_properties(function)["Timeout"]
    worst = default_budget(SETTINGS_OF_FUNCTION[function]).worst_case_seconds()

    assert worst <= 0.7 * timeout, f"{function}: {worst} s of {timeout} s"


def test_a_sync_run_hands_over_before_a_call_it_started_could_outlast_the_invocation() -> None:
    margin = SyncSettings.model_fields["deadline_margin_seconds"].default

    assert default_budget(SyncSettings).worst_case_seconds() < margin
