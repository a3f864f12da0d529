"""Function settings: validated once from the environment; every problem names its variable."""

from __future__ import annotations

import pytest

from mercator.settings import EnrichSettings, ObservabilitySettings, SettingsError, SyncSettings
from tests.unit.functions.conftest import ENRICH_ENV, SYNC_ENV


def test_sync_settings_read_every_variable_and_the_margin_as_seconds() -> None:
    settings = SyncSettings.from_environ({**SYNC_ENV, "SYNC_DEADLINE_MARGIN_SECONDS": " 12.5 "})

    assert settings.state_table == "mercator-dev-StateTable"
    assert settings.records_table == "mercator-dev-RecordsTable"
    assert settings.sync_jobs_queue_url.endswith("/mercator-dev-SyncJobsQueue")
    assert settings.enrich_queue_url.endswith("/mercator-dev-EnrichQueue")
    assert settings.trigger_queue_url.endswith("/mercator-dev-TriggerQueue")
    assert settings.deadline_margin_seconds == 12.5


def test_the_deadline_margin_defaults_to_thirty_seconds() -> None:
    env = {name: value for name, value in SYNC_ENV.items() if name != "SYNC_DEADLINE_MARGIN_SECONDS"}

    assert SyncSettings.from_environ(env).deadline_margin_seconds == 30


def test_every_missing_or_malformed_variable_is_named_at_once() -> None:
    env = {
        "STATE_TABLE": "",
        "SYNC_JOBS_QUEUE_URL": "mercator-dev-SyncJobsQueue",
        "SYNC_DEADLINE_MARGIN_SECONDS": "0",
    }

    with pytest.raises(SettingsError) as caught:
        SyncSettings.from_environ(env)

    message = str(caught.value)
    assert message.startswith("ScheduledSync cannot start: ")
    for expected in (
        "environment variable STATE_TABLE: String should have at least 1 character",
        "environment variable RECORDS_TABLE is not set",
        "environment variable SYNC_JOBS_QUEUE_URL: must be an SQS queue URL",
        "environment variable ENRICH_QUEUE_URL is not set",
        "environment variable TRIGGER_QUEUE_URL is not set",
        "environment variable SYNC_DEADLINE_MARGIN_SECONDS: Input should be greater than 0",
    ):
        assert expected in message


def test_enrichment_needs_the_dead_letter_queue_and_not_the_sync_queues() -> None:
    settings = EnrichSettings.from_environ(ENRICH_ENV)
    assert settings.enrich_dlq_url.endswith("/mercator-dev-EnrichDLQ")

    env = {name: value for name, value in ENRICH_ENV.items() if name != "ENRICH_DLQ_URL"}
    with pytest.raises(
        SettingsError,
        match=r"^DetailEnrichment cannot start: environment variable ENRICH_DLQ_URL is not set$",
    ):
        EnrichSettings.from_environ(env)


def test_settings_come_from_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENRICH_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STATE_TABLE", "from-the-process")

    assert EnrichSettings.from_environ().state_table == "from-the-process"


def test_observability_names_default_and_a_log_level_in_any_case_is_accepted() -> None:
    assert ObservabilitySettings.from_environ({}) == ObservabilitySettings.from_environ(
        {"POWERTOOLS_SERVICE_NAME": "mercator", "POWERTOOLS_METRICS_NAMESPACE": "Mercator"}
    )
    settings = ObservabilitySettings.from_environ(
        {"POWERTOOLS_LOG_LEVEL": "debug", "POWERTOOLS_SERVICE_NAME": "m"}
    )
    assert (settings.log_level, settings.service_name, settings.metrics_namespace) == (
        "DEBUG",
        "m",
        "Mercator",
    )

    with pytest.raises(SettingsError, match="POWERTOOLS_LOG_LEVEL: Input should be 'DEBUG', 'INFO'"):
        ObservabilitySettings.from_environ({"POWERTOOLS_LOG_LEVEL": "loud"})
