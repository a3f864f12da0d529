"""What each function may do with secrets, the archive bucket and SES, read from template.yaml.

Secrets are granted by kind, one name prefix per kind (mercator.domain.secret_names): the table below
is the whole of it, action by action and prefix by prefix, and nothing grants ``mercator/*``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

import pytest

from mercator.domain import secret_names
from mercator.state.archive import PREFIX as ARCHIVE_PREFIX
from tests.sam.support import FUNCTION, of_type, policy_templates, strings

SECRETS_ARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"

GET = "secretsmanager:GetSecretValue"
DESCRIBE = "secretsmanager:DescribeSecret"
PUT = "secretsmanager:PutSecretValue"
CREATE = "secretsmanager:CreateSecret"
DELETE = "secretsmanager:DeleteSecret"
READ = frozenset({GET, DESCRIBE})

CREDENTIALS = "mercator/credentials/*"
OAUTH_APPS = "mercator/oauth-apps/*"
WEBHOOK_KEYS = "mercator/*/webhook-keys/*"
VAPID = "mercator/vapid/*"
STATE_KEY = "Ref:OAuthStateKeySecret"  # the one secret the template declares, by its own ARN

# Per function: secret name pattern (or the declared secret) → the actions allowed on it. Exactly.
SECRET_ACCESS: dict[str, dict[str, frozenset[str]]] = {
    # Looks up hashed API keys in the state table; no secret at all.
    "ApiAuthorizerFunction": {},
    # Checks signatures with the integration's credentials.
    "WebhookIntakeFunction": {CREDENTIALS: READ},
    # Checks a PIM's app token with the integration's app secret: reads it, nothing else.
    "CatalogEventsFunction": {CREDENTIALS: frozenset({GET})},
    # Applies requests already verified: no secret at all.
    "CatalogApplyFunction": {},
    # Call providers: credentials in, renewed OAuth tokens back out (with the connector's OAuth app).
    "ScheduledSyncFunction": {CREDENTIALS: READ | {PUT}, OAUTH_APPS: READ},
    "DetailEnrichmentFunction": {CREDENTIALS: READ | {PUT}, OAUTH_APPS: READ},
    # Calls stores through the same provider sessions as sync: credentials in, renewed tokens back out.
    "CatalogPushFunction": {CREDENTIALS: READ | {PUT}, OAUTH_APPS: READ},
    # Runs workflow actions: update_status calls providers, webhook and send_push sign.
    "TriggerDispatchFunction": {
        CREDENTIALS: READ | {PUT},
        OAUTH_APPS: READ,
        WEBHOOK_KEYS: READ,
        VAPID: READ,
    },
    # Creates, replaces and removes credentials with their integration, and resumes workflow actions.
    "ManagementApiFunction": {
        CREDENTIALS: READ | {PUT, CREATE, DELETE},
        OAUTH_APPS: READ,
        WEBHOOK_KEYS: READ,
        VAPID: READ,
    },
    # Creates a new integration's credentials (deleted if it lost a race), never reads or replaces any;
    # reads the connector's OAuth app and the key that signs install states.
    "OAuthFunction": {CREDENTIALS: frozenset({CREATE, DELETE}), OAUTH_APPS: READ, STATE_KEY: READ},
}

# Functions that store renewed OAuth tokens are exactly those whose provider sessions renew them
# (mercator.wiring.sessions.provider_sessions): sync, enrichment, catalog push, dispatch and the API's
# resumes.
TOKEN_RENEWERS = {
    "ScheduledSyncFunction",
    "DetailEnrichmentFunction",
    "CatalogPushFunction",
    "TriggerDispatchFunction",
    "ManagementApiFunction",
}


def _statements(template: dict[str, Any], logical_id: str) -> Iterator[dict[str, Any]]:
    """Every IAM statement a function's Policies give it, SAM policy templates for secrets included."""
    for name, parameters in policy_templates(template, logical_id):
        if name == "Statement":
            yield from parameters
        elif name == "AWSSecretsManagerGetSecretValuePolicy":
            yield {"Effect": "Allow", "Action": [GET], "Resource": parameters["SecretArn"]}
        else:
            assert "secret" not in name.lower(), f"{logical_id}: secrets through policy template {name}"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _secret_resource(resource: Any, where: str) -> str:
    """A statement's secret resource as a name pattern, or the declared secret it references."""
    if isinstance(resource, dict) and set(resource) == {"Ref"}:
        return f"Ref:{resource['Ref']}"
    assert isinstance(resource, dict) and set(resource) == {"Fn::Sub"}, f"{where}: {resource!r}"
    text = resource["Fn::Sub"]
    assert isinstance(text, str) and text.startswith(SECRETS_ARN), f"{where}: not a secret ARN: {text!r}"
    return text.removeprefix(SECRETS_ARN)


def secret_access(template: dict[str, Any], logical_id: str) -> dict[str, set[str]]:
    """What the function may do with secrets: name pattern → actions."""
    granted: dict[str, set[str]] = {}
    for statement in _statements(template, logical_id):
        actions = {action for action in _listed(statement["Action"]) if action.startswith("secretsmanager:")}
        if not actions:
            continue
        assert statement["Effect"] == "Allow", logical_id
        assert "Condition" not in statement, f"{logical_id}: a secret grant must not hang on a condition"
        for resource in _listed(statement["Resource"]):
            granted.setdefault(_secret_resource(resource, logical_id), set()).update(actions)
    return granted


def test_the_table_covers_every_function(template: dict[str, Any]) -> None:
    assert set(SECRET_ACCESS) == set(of_type(template, FUNCTION))


@pytest.mark.parametrize("logical_id", sorted(SECRET_ACCESS))
def test_each_function_has_exactly_its_secret_actions_on_exactly_its_prefixes(
    template: dict[str, Any], logical_id: str
) -> None:
    expected = {pattern: set(actions) for pattern, actions in SECRET_ACCESS[logical_id].items()}
    assert secret_access(template, logical_id) == expected


def test_no_policy_grants_every_secret_under_mercator(template: dict[str, Any]) -> None:
    for logical_id in of_type(template, FUNCTION):
        for pattern in secret_access(template, logical_id):
            assert pattern not in {"mercator/*", "mercator*", "*"}, logical_id
            assert not pattern.startswith("*"), logical_id
    # Nor anywhere else in the template (Globals, other resources), in any spelling.
    everything = [text for text in strings(template) if ":secret:" in text or text.startswith("mercator/")]
    assert everything, "the template names no secret at all"
    for text in everything:
        assert not text.endswith((":secret:mercator/*", ":secret:*", ":secret:mercator*")), text
    assert not any(action == "secretsmanager:*" for action in strings(template))


def test_only_the_token_renewers_put_credentials_and_only_the_api_and_oauth_create_or_delete(
    template: dict[str, Any],
) -> None:
    putting = {f for f in SECRET_ACCESS if PUT in secret_access(template, f).get(CREDENTIALS, set())}
    creating = {f for f in SECRET_ACCESS if CREATE in secret_access(template, f).get(CREDENTIALS, set())}
    deleting = {f for f in SECRET_ACCESS if DELETE in secret_access(template, f).get(CREDENTIALS, set())}

    assert putting == TOKEN_RENEWERS
    assert creating == deleting == {"ManagementApiFunction", "OAuthFunction"}
    # No other kind of secret is ever written by a function.
    for logical_id in SECRET_ACCESS:
        for pattern, actions in secret_access(template, logical_id).items():
            if pattern != CREDENTIALS:
                assert actions <= READ, (logical_id, pattern)


def test_the_state_key_is_read_by_the_oauth_function_alone(template: dict[str, Any]) -> None:
    readers = {f for f in SECRET_ACCESS if STATE_KEY in secret_access(template, f)}
    assert readers == {"OAuthFunction"}
    name = template["Resources"]["OAuthStateKeySecret"]["Properties"]["Name"]["Fn::Sub"]
    assert name.startswith(secret_names.OAUTH_STATE)


# --- The code's names fall under the template's prefixes, each under its own kind's only -------------

KIND_PATTERNS = {
    "credentials": CREDENTIALS,
    "oauth-apps": OAUTH_APPS,
    "webhook-keys": WEBHOOK_KEYS,
    "vapid": VAPID,
}
SUFFIX = "-AbCdEf"  # Secrets Manager ends every ARN with six random characters after the name


def _code_names() -> dict[str, list[str]]:
    tenants = ["acme", "tenant-1", "shop.example.com", "a@b", "Credentials-2", "x"]
    return {
        "credentials": [
            secret_names.credentials_secret_name(t, i) for t in tenants for i in ("shop-1", "x.y")
        ],
        "oauth-apps": [secret_names.oauth_app_secret_name(c) for c in ("salla", "shopify", "woo_commerce")],
        "webhook-keys": [f"{secret_names.webhook_key_prefix(t)}warehouse" for t in tenants],
        "vapid": [f"{secret_names.VAPID}push"],
    }


def _matches(pattern: str, name: str) -> bool:
    # IAM's * matches any characters, / included, as fnmatch's does; the names hold no ? or [.
    return fnmatch.fnmatchcase(name + SUFFIX, pattern)


@pytest.mark.parametrize("kind", sorted(KIND_PATTERNS))
def test_names_the_code_builds_are_granted_by_their_kind_and_no_other(kind: str) -> None:
    for name in _code_names()[kind]:
        matching = {other for other, pattern in KIND_PATTERNS.items() if _matches(pattern, name)}
        assert matching == {kind}, name


def test_the_template_grants_the_prefixes_the_code_uses() -> None:
    granted = (CREDENTIALS, OAUTH_APPS, VAPID, WEBHOOK_KEYS)
    assert granted == (
        f"{secret_names.CREDENTIALS}*",
        f"{secret_names.OAUTH_APPS}*",
        f"{secret_names.VAPID}*",
        f"{secret_names.ROOT}/*/{secret_names.WEBHOOK_KEYS}/*",
    )


# --- S3 and SES: only what the code calls, only where ----------------------------------------------


def _actions(template: dict[str, Any], logical_id: str, service: str) -> list[tuple[set[str], Any, Any]]:
    found = []
    for statement in _statements(template, logical_id):
        actions = {a for a in _listed(statement["Action"]) if a.startswith(f"{service}:")}
        if actions:
            found.append((actions, statement["Resource"], statement.get("Condition")))
    return found


def test_only_intake_writes_the_archive_and_only_put_object_under_deliveries(
    template: dict[str, Any],
) -> None:
    for logical_id in of_type(template, FUNCTION):
        names = [name for name, _ in policy_templates(template, logical_id)]
        assert not [name for name in names if name.startswith("S3")], logical_id
        grants = _actions(template, logical_id, "s3")
        if logical_id != "WebhookIntakeFunction":
            assert grants == [], logical_id
            continue
        # S3DeliveryArchive.put is the function's only S3 call: PutObject under deliveries/.
        assert grants == [
            ({"s3:PutObject"}, {"Fn::Sub": f"${{DeliveryArchiveBucket.Arn}}/{ARCHIVE_PREFIX}/*"}, None)
        ]


SEND_TEMPLATED = [
    (
        {"ses:SendTemplatedEmail"},
        [
            {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderEmail}"},
            {
                "Fn::Sub": [
                    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderDomain}",
                    {"SenderDomain": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "SenderEmail"}]}]}},
                ]
            },
            {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:template/*"},
        ],
        {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}},
    )
]


def test_only_the_action_runners_send_email_and_only_templated_from_the_sender(
    template: dict[str, Any],
) -> None:
    # EmailSender calls SendTemplatedEmail with Source=SENDER_EMAIL and nothing else of SES.
    for logical_id in of_type(template, FUNCTION):
        names = [name for name, _ in policy_templates(template, logical_id)]
        assert not [name for name in names if name.startswith("SES")], logical_id
        expected = (
            SEND_TEMPLATED if logical_id in {"TriggerDispatchFunction", "ManagementApiFunction"} else []
        )
        assert _actions(template, logical_id, "ses") == expected, logical_id


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),  # no Web Push
        ("arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/vapid/push-Ab12Cd", True),
        ("arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/push-Ab12Cd", False),
        ("arn:aws:secretsmanager:eu-central-1:123456789012:secret:mercator/credentials/t/i-Ab12Cd", False),
        ("mercator/vapid/push", False),  # an ARN, as the settings want
    ],
)
def test_the_vapid_parameter_takes_a_secret_of_its_kind_only(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    pattern = template["Parameters"]["VapidSecretArn"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is accepted
