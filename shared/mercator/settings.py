"""What each Lambda function reads from its environment, validated once at cold start.

This is the only module that reads ``os.environ``: a function builds its settings model when its
module is imported, so a missing or malformed variable stops the cold start with an error that names
every variable at fault instead of failing later, in the middle of a sync.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from mercator.domain import secret_names
from mercator.domain.host_patterns import pattern_problem

LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    BeforeValidator(lambda value: value.strip().upper() if isinstance(value, str) else value),
]


def _queue_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"must be an SQS queue URL (https://sqs.<region>.amazonaws.com/...), got {value!r}")
    return value


Name = Annotated[str, Field(min_length=1)]
QueueUrl = Annotated[str, Field(min_length=1), AfterValidator(_queue_url)]


class SettingsError(ValueError):
    """The environment does not give a function what it needs; the message names each variable."""


class _EnvironmentSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    function: ClassVar[str]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Settings from ``environ`` (the process environment when None)."""
        source = os.environ if environ is None else environ
        try:
            return cls.model_validate(dict(source))
        except ValidationError as exc:
            problems = [_problem(error["loc"], error["type"], error["msg"]) for error in exc.errors()]
            raise SettingsError(f"{cls.function} cannot start: {'; '.join(problems)}") from None


def _problem(location: tuple[int | str, ...], kind: str, message: str) -> str:
    name = str(location[0]) if location else "(environment)"
    if kind == "missing":
        return f"environment variable {name} is not set"
    return f"environment variable {name}: {message.removeprefix('Value error, ')}"


class ObservabilitySettings(_EnvironmentSettings):
    """Powertools names shared by every function; defaults suit a run outside the template."""

    function = "Mercator observability"

    service_name: Name = Field("mercator", alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: Name = Field("Mercator", alias="POWERTOOLS_METRICS_NAMESPACE")
    log_level: LogLevel = Field("INFO", alias="POWERTOOLS_LOG_LEVEL")


DEFAULT_CONNECTORS_DIR = Path("/opt/connectors")


def _connectors_dir(value: Path | None) -> Path | None:
    if value is None:
        return None
    if not value.is_absolute():
        raise ValueError(f"must be an absolute path (a layer's files land under /opt), got {str(value)!r}")
    if value.exists() and not value.is_dir():
        raise ValueError(f"{str(value)!r} is not a folder; give the folder that holds the <name>.yaml files")
    return value


ConnectorsDir = Annotated[
    Path | None,
    # A template passes an empty string for a parameter left unset: no extra connectors then.
    BeforeValidator(lambda value: None if isinstance(value, str) and not value.strip() else value),
    AfterValidator(_connectors_dir),
]


def _host_patterns(value: object) -> object:
    """``EGRESS_ALLOWED_HOSTS``: patterns separated by commas or spaces; unset or blank: none."""
    if not isinstance(value, str):
        return value
    patterns = tuple(part for part in re.split(r"[\s,]+", value) if part)
    for pattern in patterns:
        problem = pattern_problem(pattern)
        if problem:
            raise ValueError(problem)
    return patterns


def _switch(value: object) -> object:
    # A template passes an empty string for a parameter left unset: off then.
    return False if isinstance(value, str) and not value.strip() else value


class _EgressSettings(_EnvironmentSettings):
    """What every request made on a tenant's behalf may reach (mercator.providers.egress)."""

    egress_allow_loopback: Annotated[bool, BeforeValidator(_switch)] = Field(
        False,
        alias="EGRESS_ALLOW_LOOPBACK",
        description="for the local stack and tests only, never in a deployment: let requests reach "
        "loopback addresses (127.0.0.0/8, ::1), over plain http too, as the sandbox stores and "
        "receivers listen there; every other private or reserved address stays refused",
    )
    egress_allowed_hosts: Annotated[tuple[str, ...], BeforeValidator(_host_patterns)] = Field(
        (),
        alias="EGRESS_ALLOWED_HOSTS",
        description="host patterns (api.example.com, *.example.com), separated by commas, that a "
        "tenant's store address may name besides those its connector declares (sync.allowedHosts)",
    )


class EgressSettings(_EgressSettings):
    """The egress settings alone: for a client built without its function's settings at hand."""

    function = "Mercator egress"


# How long one AWS call may take (mercator.state.aws_clients). At its worst a call takes about
# attempts x (connect + read) plus the backoff between attempts (1 s, then 2 s), and that must leave
# room in the function's timeout (template.yaml), so each function has its own defaults.


def _boto_connect_timeout(default: float) -> Any:
    return Field(
        default,
        alias="BOTO_CONNECT_TIMEOUT_SECONDS",
        gt=0,
        le=10,
        description="seconds an AWS call may take to connect before the attempt fails",
    )


def _boto_read_timeout(default: float) -> Any:
    return Field(
        default,
        alias="BOTO_READ_TIMEOUT_SECONDS",
        gt=0,
        le=60,
        description="seconds an AWS call may wait for each read of its answer before the attempt fails",
    )


def _boto_max_attempts(default: int) -> Any:
    return Field(
        default,
        alias="BOTO_MAX_ATTEMPTS",
        ge=1,
        le=10,
        description="attempts of one AWS call, the first included, in botocore's adaptive retry mode",
    )


class _AwsCallSettings(_EnvironmentSettings):
    """Bounds of every AWS call. These defaults, at worst 3 x (2 + 5) + 3 = 24 s, suit the functions
    that run a minute or more; ScheduledSync's deadline margin (30 s) outlasts them, so a run that
    hands over in time is never overtaken by a call it started."""

    boto_connect_timeout_seconds: float = _boto_connect_timeout(2)
    boto_read_timeout_seconds: float = _boto_read_timeout(5)
    boto_max_attempts: int = _boto_max_attempts(3)


class _ConnectorSettings(_EgressSettings, _AwsCallSettings):
    """What every function that reads connector definitions shares: where a deployment's own are,
    what the requests it makes on tenants' behalf may reach, and how long its AWS calls may take."""

    connectors_dir: ConnectorsDir = Field(
        DEFAULT_CONNECTORS_DIR,
        alias="CONNECTORS_DIR",
        description="folder of the deployment's extra connector definitions (<name>.yaml, with their "
        "samples), read at cold start beside the shipped ones; absent or empty: none",
    )


class SyncSettings(_ConnectorSettings):
    """ScheduledSync: fans out SyncJobs, lists resources, hands records to enrichment or writes them."""

    function = "ScheduledSync"

    state_table: Name = Field(alias="STATE_TABLE")
    records_table: Name = Field(alias="RECORDS_TABLE")
    sync_jobs_queue_url: QueueUrl = Field(alias="SYNC_JOBS_QUEUE_URL")
    enrich_queue_url: QueueUrl = Field(alias="ENRICH_QUEUE_URL")
    enrich_dlq_url: QueueUrl = Field(alias="ENRICH_DLQ_URL")
    trigger_queue_url: QueueUrl = Field(alias="TRIGGER_QUEUE_URL")
    deadline_margin_seconds: float = Field(
        30,
        alias="SYNC_DEADLINE_MARGIN_SECONDS",
        gt=0,
        le=900,
        description="a run stops and continues elsewhere when less than this is left of the invocation",
    )
    deletion_guard_fraction: float = Field(
        0.25,
        alias="DELETION_GUARD_FRACTION",
        ge=0,
        le=1,
        description="a whole listing may delete at most this share of a resource's tracked records at "
        "once (or DELETION_GUARD_MIN, when more); above it every deletion is held and counted",
    )
    deletion_guard_min: int = Field(
        10,
        alias="DELETION_GUARD_MIN",
        ge=0,
        le=1_000_000,
        description="deletions a whole listing may always make, however small the resource",
    )


class EnrichSettings(_ConnectorSettings):
    """DetailEnrichment: fetches details, maps, writes changed records, dead-letters poison records."""

    function = "DetailEnrichment"

    state_table: Name = Field(alias="STATE_TABLE")
    records_table: Name = Field(alias="RECORDS_TABLE")
    enrich_dlq_url: QueueUrl = Field(alias="ENRICH_DLQ_URL")
    trigger_queue_url: QueueUrl = Field(alias="TRIGGER_QUEUE_URL")


class PushSettings(_ConnectorSettings):
    """CatalogPush: fans out PushJobs and pushes the canonical catalog into stores."""

    function = "CatalogPush"

    state_table: Name = Field(alias="STATE_TABLE")
    records_table: Name = Field(alias="RECORDS_TABLE")
    push_jobs_queue_url: QueueUrl = Field(alias="PUSH_JOBS_QUEUE_URL")
    push_dlq_url: QueueUrl = Field(alias="PUSH_DLQ_URL")
    deadline_margin_seconds: float = Field(
        30,
        alias="PUSH_DEADLINE_MARGIN_SECONDS",
        gt=0,
        le=900,
        description="a push run stops and continues elsewhere when less than this is left",
    )


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]+$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"must be an email address SES may send from (name@example.com), got {value!r}")
    return value


def _secret_arn(value: str | None) -> str | None:
    if value is not None and not _SECRET_ARN.match(value):
        raise ValueError(
            f"must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:...), "
            f"got {value!r}"
        )
    return value


def _secret_of_kind(prefix: str) -> AfterValidator:
    """A secret id (name or ARN) whose name has ``prefix``: the only ones the function may read."""

    def check(value: str | None) -> str | None:
        if value is not None and not secret_names.is_under(prefix, value):
            raise ValueError(
                f"must name a secret under {prefix} (the functions read no other), got {value!r}"
            )
        return value

    return AfterValidator(check)


class _ActionSettings(_ConnectorSettings):
    """What running workflow actions needs: TriggerDispatch's, and the API's when it resumes one."""

    state_table: Name = Field(alias="STATE_TABLE")
    records_table: Name = Field(alias="RECORDS_TABLE")
    event_bus_name: Name = Field(alias="EVENT_BUS_NAME")
    sender_email: Annotated[str, AfterValidator(_email)] = Field(alias="SENDER_EMAIL")
    vapid_secret_arn: Annotated[
        str | None,
        # A template passes an empty string for a parameter left unset.
        BeforeValidator(lambda value: None if isinstance(value, str) and not value.strip() else value),
        AfterValidator(_secret_arn),
        _secret_of_kind(secret_names.VAPID),
    ] = Field(
        None,
        alias="VAPID_SECRET_ARN",
        description="the VAPID key pair for Web Push (a secret under mercator/vapid/); without it send_push "
        "actions pause with the reason",
    )


class DispatchSettings(_ActionSettings):
    """TriggerDispatch: fires triggers on the event bus and runs the tenants' workflow actions."""

    function = "TriggerDispatch"

    idempotency_ttl_seconds: int = Field(
        86400,
        alias="IDEMPOTENCY_TTL_SECONDS",
        gt=0,
        description="how long a dispatched change event is remembered, so its re-announcements are skipped",
    )


class WebhookSettings(_ConnectorSettings):
    """WebhookIntake: verifies, deduplicates, archives and writes provider deliveries."""

    function = "WebhookIntake"

    state_table: Name = Field(alias="STATE_TABLE")
    records_table: Name = Field(alias="RECORDS_TABLE")
    archive_bucket: Name = Field(alias="ARCHIVE_BUCKET")
    enrich_queue_url: QueueUrl = Field(alias="ENRICH_QUEUE_URL")
    enrich_dlq_url: QueueUrl = Field(alias="ENRICH_DLQ_URL")
    trigger_queue_url: QueueUrl = Field(alias="TRIGGER_QUEUE_URL")
    max_body_bytes: int = Field(
        1024 * 1024,
        alias="WEBHOOK_MAX_BODY_BYTES",
        gt=0,
        le=6 * 1024 * 1024,
        description="larger deliveries are refused with 413 (a Lambda request holds at most 6 MB)",
    )
    lookup_cache_seconds: float = Field(
        15,
        alias="WEBHOOK_LOOKUP_CACHE_SECONDS",
        ge=0,
        le=300,
        description="how long a warm function remembers an integration and its credentials",
    )
    dedupe_days: int = Field(
        3, alias="WEBHOOK_DEDUPE_DAYS", ge=1, le=30, description="how long a delivery's claim is kept"
    )
    # 25 s for a delivery that makes several AWS calls: one takes at most 3 x (1 + 3) + 3 = 15 s.
    boto_connect_timeout_seconds: float = _boto_connect_timeout(1)
    boto_read_timeout_seconds: float = _boto_read_timeout(3)


class CatalogEventsSettings(_ConnectorSettings):
    """CatalogEvents: a PIM's requests verified, validated and queued in order per entity."""

    function = "CatalogEvents"

    state_table: Name = Field(alias="STATE_TABLE")
    records_table: Name = Field(alias="RECORDS_TABLE")
    trigger_queue_url: QueueUrl = Field(alias="TRIGGER_QUEUE_URL")
    catalog_events_queue_url: QueueUrl = Field(
        alias="CATALOG_EVENTS_QUEUE_URL", description="the FIFO queue requests are applied from"
    )
    lookup_cache_seconds: float = Field(
        30,
        ge=0,
        le=300,
        alias="LOOKUP_CACHE_SECONDS",
        description="how long an integration and its app secret are kept between requests",
    )
    boto_connect_timeout_seconds: float = _boto_connect_timeout(1)
    boto_read_timeout_seconds: float = _boto_read_timeout(3)


class CatalogReadSettings(_AwsCallSettings):
    """``mercator catalog``: reads a PIM integration's catalog state."""

    function = "mercator catalog"

    state_table: Name = Field(alias="STATE_TABLE")


class CatalogApplySettings(_ConnectorSettings):
    """CatalogApply: each PIM request applied to the catalog state, the changed products written."""

    function = "CatalogApply"

    state_table: Name = Field(alias="STATE_TABLE")
    records_table: Name = Field(alias="RECORDS_TABLE")
    trigger_queue_url: QueueUrl = Field(alias="TRIGGER_QUEUE_URL")
    catalog_events_queue_url: QueueUrl = Field(
        alias="CATALOG_EVENTS_QUEUE_URL", description="the FIFO queue requests are applied from"
    )
    catalog_dlq_url: QueueUrl = Field(
        alias="CATALOG_DLQ_URL",
        description="where requests that cannot be applied, and products that do not map, go with why",
    )
    max_attempts: int = Field(
        6,
        ge=1,
        le=11,
        alias="CATALOG_MAX_ATTEMPTS",
        description="how many times a request waiting for an entity the catalog does not know is tried "
        "before it is dead-lettered (10 + 20 + 40 + 80 + 160 s of waits at the default base: about five "
        "minutes, as long as a PIM takes to send what a request waits for); below the queue's "
        "maxReceiveCount (12)",
    )
    retry_base_seconds: int = Field(
        10,
        ge=1,
        le=300,
        alias="CATALOG_RETRY_BASE_SECONDS",
        description="the wait before a waiting request is tried again, doubled at each attempt (at most "
        "15 minutes)",
    )


class AuthorizerSettings(_AwsCallSettings):
    """ApiAuthorizer: checks the Integrations API's bearer keys against the hashes in the state table."""

    function = "ApiAuthorizer"

    state_table: Name = Field(alias="STATE_TABLE")
    # 10 s for one key lookup: it takes at most 2 x (1 + 2) + 1 = 7 s.
    boto_connect_timeout_seconds: float = _boto_connect_timeout(1)
    boto_read_timeout_seconds: float = _boto_read_timeout(2)
    boto_max_attempts: int = _boto_max_attempts(2)


def _https_base_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.username is not None:
        raise ValueError(f"must be an https address (https://<host>[/<base path>]), got {value!r}")
    if parts.query or parts.fragment or value.endswith("?") or "#" in value:
        raise ValueError(f"must not carry a query or fragment, got {value!r}")
    return value.rstrip("/")


class OAuthSettings(_ConnectorSettings):
    """OAuth: sends tenants to a platform's consent page and turns the callback into an integration."""

    function = "OAuth"

    state_table: Name = Field(alias="STATE_TABLE")
    state_key_secret: Annotated[Name, _secret_of_kind(secret_names.OAUTH_STATE)] = Field(
        alias="OAUTH_STATE_KEY_SECRET",
        description="name or ARN of the secret (under mercator/oauth-state/) whose text, at least 32 bytes, "
        "signs install states",
    )
    state_ttl_seconds: int = Field(
        600, alias="OAUTH_STATE_TTL_SECONDS", ge=60, le=3600, description="how long an install may take"
    )
    base_url: Annotated[
        str | None,
        # A template passes an empty string for a parameter left unset.
        BeforeValidator(lambda value: None if isinstance(value, str) and not value.strip() else value),
        AfterValidator(_https_base_url),
    ] = Field(
        None,
        alias="OAUTH_BASE_URL",
        description="public https address the OAuth routes answer under (the IntegrationsApiUrl output, or "
        "a custom domain with its base path); every callback's redirect_uri is "
        "<it>/oauth/<connector>/callback. Unset: installs are refused, saying so",
    )
    # API Gateway waits 29 s for a callback that makes several AWS calls: one takes at most 15 s.
    boto_connect_timeout_seconds: float = _boto_connect_timeout(1)
    boto_read_timeout_seconds: float = _boto_read_timeout(3)


class ManagementSettings(_ActionSettings):
    """ManagementApi: the Integrations API; it resumes paused workflow executions with their actions."""

    function = "ManagementApi"

    push_jobs_queue_url: QueueUrl = Field(
        alias="PUSH_JOBS_QUEUE_URL", description="where POST /api/shipments queues a shipment's write"
    )
    credentials_check_attempts: int = Field(
        2,
        alias="CREDENTIALS_CHECK_ATTEMPTS",
        ge=1,
        le=5,
        description="tries of the one store request that checks new credentials (API Gateway waits 29 s)",
    )
    # API Gateway waits 29 s for a request that makes several AWS calls: one takes at most 15 s.
    boto_connect_timeout_seconds: float = _boto_connect_timeout(1)
    boto_read_timeout_seconds: float = _boto_read_timeout(3)
