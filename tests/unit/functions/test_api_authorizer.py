"""The ApiAuthorizer handler: bearer API keys in, Allow or Deny policies (or 401) out, keys never logged."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mercator.settings import SettingsError
from mercator.state.api_keys import DynamoApiKeys
from mercator_local.resources import create_template_table
from tests.fake_aws import use_fake_aws
from tests.unit.functions.conftest import LambdaContext, Loader, load_event

REGION = "eu-central-1"
TABLE = "mercator-dev-StateTable"
ENV = {"STATE_TABLE": TABLE}
EVENT = load_event("api_authorizer/request.json")
EVENT_KEY = EVENT["headers"]["Authorization"].removeprefix("Bearer ")
EVENT_KEY_ID, EVENT_SECRET = EVENT_KEY.removeprefix("mk_").split(".")
# The API and stage of the event's methodArn, every method and resource under them
ALL_ROUTES = "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5/dev/*/*"
CONTEXT = LambdaContext(
    function_name="mercator-dev-ApiAuthorizer",
    invoked_function_arn="arn:aws:lambda:eu-central-1:123456789012:function:mercator-dev-ApiAuthorizer",
)


@dataclass
class Authorizer:
    module: ModuleType
    keys: DynamoApiKeys
    dynamodb: Any
    logs: io.StringIO

    def call(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = self.module.lambda_handler(event, CONTEXT)
        return response

    def store_event_key(self, tenant_id: str) -> None:
        """The events file's key, stored as `api-keys create` stores keys: the secret's hash only."""
        self.dynamodb.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": f"APIKEY#{EVENT_KEY_ID}"},
                "sk": {"S": "APIKEY"},
                "gsi1pk": {"S": f"APIKEYS#{tenant_id}"},
                "gsi1sk": {"S": EVENT_KEY_ID},
                "tenant_id": {"S": tenant_id},
                "secret_sha256": {"S": hashlib.sha256(EVENT_SECRET.encode()).hexdigest()},
                "created_at": {"N": "1710320000000"},
                "revoked": {"BOOL": False},
            },
        )


@pytest.fixture
def authorizer(load_app: Loader, monkeypatch: pytest.MonkeyPatch) -> Iterator[Authorizer]:
    use_fake_aws(monkeypatch, REGION)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_template_table(dynamodb, "StateTable", table_name=TABLE)
        keys = DynamoApiKeys(dynamodb, TABLE)
        module = load_app("api_authorizer", ENV)
        module.build_services = lambda settings: keys
        # Every line the function logs, formatted as Powertools writes it (extra keys included).
        logs = io.StringIO()
        handler = logging.StreamHandler(logs)
        handler.setFormatter(module.logger.registered_formatter)
        std_logger = logging.getLogger(module.logger.name)
        std_logger.addHandler(handler)
        try:
            yield Authorizer(module=module, keys=keys, dynamodb=dynamodb, logs=logs)
        finally:
            std_logger.removeHandler(handler)


def with_authorization(*headers: tuple[str, str]) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    kept = {name: value for name, value in event["headers"].items() if name.lower() != "authorization"}
    event["headers"] = {**kept, **dict(headers)}
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    return event


def allow(principal: str, tenant_id: str) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [ALL_ROUTES]}],
        },
        "context": {"tenantId": tenant_id},
    }


def deny(principal: str) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [ALL_ROUTES]}],
        },
    }


def test_the_events_file_key_is_allowed_on_every_route_of_its_stage(authorizer: Authorizer) -> None:
    authorizer.store_event_key("tenant-a")

    assert authorizer.call(EVENT) == allow(EVENT_KEY_ID, "tenant-a")


def test_header_name_and_scheme_are_read_in_any_case(authorizer: Authorizer) -> None:
    issued = authorizer.keys.create("tenant-b")

    response = authorizer.call(with_authorization(("authorization", f"bearer   {issued.key} ")))

    assert response == allow(issued.key_id, "tenant-b")


def test_a_revoked_key_gets_a_deny_policy(authorizer: Authorizer) -> None:
    issued = authorizer.keys.create("tenant-a")
    authorizer.keys.revoke(issued.key_id)

    response = authorizer.call(with_authorization(("Authorization", f"Bearer {issued.key}")))

    assert response == deny(issued.key_id)


def test_a_wrong_secret_or_an_unknown_key_gets_a_deny_policy(authorizer: Authorizer) -> None:
    # The events file's key id is not stored here
    unknown = authorizer.call(EVENT)
    authorizer.store_event_key("tenant-a")
    other_secret = authorizer.keys.create("tenant-a").key.split(".")[1]
    wrong = authorizer.call(with_authorization(("Authorization", f"Bearer mk_{EVENT_KEY_ID}.{other_secret}")))

    assert unknown == wrong == deny(EVENT_KEY_ID)


UNAUTHORIZED = [
    (),  # no header at all
    (("Authorization", ""),),
    (("Authorization", "Bearer"),),
    (("Authorization", f"Basic {EVENT_KEY}"),),  # another scheme
    (("Authorization", EVENT_KEY),),  # no scheme
    (("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"),),  # a token, not a Mercator key
    (("X-Api-Key", EVENT_KEY),),  # another header
]


@pytest.mark.parametrize("headers", UNAUTHORIZED)
def test_a_request_without_a_bearer_key_is_unauthorized(
    authorizer: Authorizer, headers: tuple[tuple[str, str], ...]
) -> None:
    authorizer.store_event_key("tenant-a")

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.call(with_authorization(*headers))


def test_an_event_without_headers_is_unauthorized(authorizer: Authorizer) -> None:
    event = dict(EVENT, headers=None, multiValueHeaders=None)

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.call(event)


def test_no_key_material_reaches_the_logs(authorizer: Authorizer) -> None:
    authorizer.store_event_key("tenant-a")
    revoked = authorizer.keys.create("tenant-a")
    authorizer.keys.revoke(revoked.key_id)

    authorizer.call(EVENT)
    authorizer.call(with_authorization(("Authorization", f"Bearer {revoked.key}")))
    with pytest.raises(Exception, match="Unauthorized"):
        authorizer.call(with_authorization(("Authorization", f"Basic {EVENT_KEY}")))

    lines = [json.loads(line) for line in authorizer.logs.getvalue().splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("INFO", "API key accepted"),
        ("WARNING", "API key refused: unknown, revoked or a wrong secret"),
        ("INFO", "request without a Mercator API key"),
    ]
    # The key ids say which key was used; the tenant is named where the key was accepted
    assert (lines[0]["key_id"], lines[0]["tenant_id"]) == (EVENT_KEY_ID, "tenant-a")
    assert lines[1]["key_id"] == revoked.key_id
    text = authorizer.logs.getvalue()
    for secret in (EVENT_SECRET, revoked.key.split(".")[1]):
        assert secret not in text


def test_the_function_does_not_start_without_its_state_table(load_app: Loader) -> None:
    with pytest.raises(SettingsError, match="ApiAuthorizer cannot start: environment variable STATE_TABLE"):
        load_app("api_authorizer", {})
