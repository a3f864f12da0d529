"""Every family that turns a definition's tag into behaviour does it through one Registry, completely.

Given the discriminated unions of the definitions (pagination, verification, workflow actions), each
member has exactly one registered behaviour; a tag with none is refused naming every tag there is.
Each verification strategy accepts what it signs itself, refuses another body where it signs one,
and lists every header that would carry its credential.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from pydantic import BaseModel, TypeAdapter

from mercator.connector.pagination import Pagination
from mercator.connector.webhook import Verification
from mercator.domain.registry import Registry, UnknownEntryError
from mercator.domain.workflows import ACTION_MODELS, ACTION_TYPES, Action, ActionRunner
from mercator.mapping import FUNCTIONS, TRANSFORMS
from mercator.mapping.catalog import Registry as MappingRegistry
from mercator.outbound.actions import ACTION_RUNNERS, runners
from mercator.outbound.email import EmailSender
from mercator.outbound.push import PushSender
from mercator.outbound.status import StatusUpdater
from mercator.outbound.webhook_action import WebhookSender
from mercator.providers.paginators import PAGINATORS
from mercator.signatures.strategy import VERIFIERS
from mercator.signatures.verification import (
    VerificationError,
    secret_headers,
    strategy_for,
    verify_delivery,
)
from mercator_local.webhook_signing import signed_headers

NOW = datetime.fromtimestamp(1_700_000_000, UTC)
BODY = b'{"id":1001,"total":"49.90"}'
SW_SECRET = "whsec_" + base64.b64encode(b"thirty-two-bytes-of-signing-key!").decode()


def members(union: Any) -> set[type]:
    """The model types of an ``Annotated[A | B | ..., Field(discriminator=...)]`` union."""
    return set(get_args(get_args(union)[0]))


def verification(**fields: Any) -> Any:
    return TypeAdapter(Verification).validate_python(fields)


# (name, verification, credentials): one case per strategy, both HMAC forms.
SIGNED: list[tuple[str, Any, dict[str, str]]] = [
    ("hmac body", verification(strategy="hmac", header="X-Sig", encoding="hex"), {"webhookSecret": "k1"}),
    (
        "hmac timestamp.body",
        verification(
            strategy="hmac",
            header="X-Sig",
            encoding="base64",
            signedContent="timestamp.body",
            timestampHeader="X-Ts",
            prefix="v0=",
        ),
        {"webhookSecret": "k1"},
    ),
    ("token", verification(strategy="token", header="X-Token", prefix="T "), {"webhookToken": "tk-19"}),
    ("bearer", verification(strategy="bearer"), {"webhookToken": "b-77"}),
    ("basic", verification(strategy="basic"), {"webhookUsername": "mercator", "webhookPassword": "s3cret"}),
    ("standard_webhooks", verification(strategy="standard_webhooks"), {"webhookSecret": SW_SECRET}),
    ("none", verification(strategy="none"), {}),
]
SIGNED_IDS = [case[0] for case in SIGNED]


# --- the mechanism


def test_an_unknown_tag_is_refused_naming_every_registered_one() -> None:
    family: Registry[str, int] = Registry("colour")
    family.add("red", 1)
    family.register("green")(2)

    with pytest.raises(UnknownEntryError) as caught:
        family["blue"]

    assert str(caught.value) == "no colour is registered for 'blue' (registered: red, green)"
    assert list(family) == ["red", "green"]
    assert list(family.values()) == [1, 2]


def test_a_tag_cannot_be_registered_twice() -> None:
    family: Registry[type, str] = Registry("pagination")
    family.add(int, "first")

    with pytest.raises(ValueError, match="pagination 'int' is registered twice"):
        family.add(int, "second")


# --- pagination


def test_every_pagination_model_has_a_strategy() -> None:
    assert set(PAGINATORS) == members(Pagination)


def test_a_pagination_model_without_a_strategy_is_refused_by_name() -> None:
    class Scrolling(BaseModel):
        pass

    with pytest.raises(UnknownEntryError, match=r"'Scrolling' \(registered: PageNumberPagination, "):
        PAGINATORS[Scrolling]


def test_each_pagination_strategy_pages_the_type_it_is_registered_for() -> None:
    for model, strategy in PAGINATORS.items():
        assert issubclass(model, BaseModel)
        tag = get_args(model.model_fields["type"].annotation)[0]
        assert strategy.kind == tag, model.__name__


# --- verification


def test_every_verification_model_has_a_strategy() -> None:
    assert set(VERIFIERS) == members(Verification)


def test_the_cases_here_cover_every_strategy() -> None:
    assert {type(case[1]) for case in SIGNED} == set(VERIFIERS)


def test_a_verification_model_without_a_strategy_is_refused_by_name() -> None:
    class Unheard(BaseModel):
        pass

    with pytest.raises(UnknownEntryError, match=r"'Unheard' \(registered: .*HmacVerification"):
        strategy_for(Unheard())  # type: ignore[arg-type]


def test_no_verification_is_the_none_strategy() -> None:
    assert type(strategy_for(None)) is type(strategy_for(verification(strategy="none")))


@pytest.mark.parametrize(("name", "model", "credentials"), SIGNED, ids=SIGNED_IDS)
def test_each_strategy_accepts_what_it_signs(name: str, model: Any, credentials: dict[str, str]) -> None:
    strategy = strategy_for(model)

    headers = strategy.sign(credentials, BODY, now=NOW, delivery_id="msg_1")

    strategy.verify(credentials, headers, BODY, now=NOW)
    verify_delivery(model, credentials, headers, BODY, now=NOW)
    assert signed_headers(model, credentials, BODY, now=NOW, delivery_id="msg_1") == headers


@pytest.mark.parametrize(
    ("name", "model", "credentials"),
    [case for case in SIGNED if case[0] in ("hmac body", "hmac timestamp.body", "standard_webhooks")],
)
def test_a_signature_does_not_carry_over_to_another_body(
    name: str, model: Any, credentials: dict[str, str]
) -> None:
    strategy = strategy_for(model)
    headers = strategy.sign(credentials, BODY, now=NOW)

    with pytest.raises(VerificationError, match="signature does not match"):
        strategy.verify(credentials, headers, BODY + b" ", now=NOW)


@pytest.mark.parametrize(("name", "model", "credentials"), SIGNED, ids=SIGNED_IDS)
def test_the_secret_headers_are_the_signed_headers_that_carry_a_credential(
    name: str, model: Any, credentials: dict[str, str]
) -> None:
    headers = strategy_for(model).sign(credentials, BODY, now=NOW, delivery_id="msg_1")
    # The id and timestamp headers hold no credential and are kept; everything else signed is secret.
    kept = {"x-ts", "webhook-id", "webhook-timestamp"}

    assert secret_headers(model) == {header.lower() for header in headers} - kept


# --- workflow actions


def test_the_action_types_are_the_tags_of_the_action_union() -> None:
    assert set(ACTION_MODELS) == members(Action)
    assert ACTION_TYPES == ("webhook", "send_email", "send_push", "update_status")


def test_every_action_has_a_runner() -> None:
    assert set(ACTION_RUNNERS) == set(ACTION_MODELS)


class _Unbuilt:
    """A registered runner class whose dependencies these tests do not need: only its class counts."""

    def __init__(self) -> None:
        pass


class _Webhook(_Unbuilt, WebhookSender):
    pass


class _Email(_Unbuilt, EmailSender):
    pass


class _Push(_Unbuilt, PushSender):
    pass


class _Status(_Unbuilt, StatusUpdater):
    pass


def test_the_runners_are_keyed_by_the_action_type_they_run() -> None:
    webhook, email, push, status = _Webhook(), _Email(), _Push(), _Status()

    expected: dict[str, ActionRunner] = {
        "webhook": webhook,
        "send_email": email,
        "send_push": push,
        "update_status": status,
    }

    assert runners(status, push, email, webhook) == expected


def test_an_action_left_without_a_runner_is_refused() -> None:
    with pytest.raises(ValueError, match="no runner is given for 'send_push', 'update_status' actions"):
        runners(_Webhook(), _Email())


def test_an_action_given_two_runners_is_refused() -> None:
    with pytest.raises(ValueError, match="'send_email' actions are given two runners: _Email and _Email"):
        runners(_Webhook(), _Email(), _Email(), _Push(), _Status())


def test_a_runner_registered_for_no_action_is_refused_by_name() -> None:
    class Carrier:
        def run(self, action: Any, event: Any, workflow: Any) -> str:
            return "sent"

    with pytest.raises(UnknownEntryError, match=r"Carrier is not registered .*WebhookSender"):
        runners(Carrier())


# --- transforms and compute functions


@pytest.mark.parametrize("family", [TRANSFORMS, FUNCTIONS], ids=["transforms", "functions"])
def test_an_unknown_transform_or_function_is_refused_naming_the_registered_ones(
    family: MappingRegistry,
) -> None:
    with pytest.raises(UnknownEntryError, match=f"no {family.kind} is registered for 'nope'"):
        family["nope"]


def test_a_transform_name_cannot_be_registered_twice() -> None:
    family = MappingRegistry("transform")

    def first(value: Any) -> Any:
        """Once."""
        return value

    family.register("once")(first)

    with pytest.raises(ValueError, match="transform 'once' is registered twice"):
        family.register("once")(first)
    assert [entry.name for entry in family] == ["once"]
    assert family["once"].doc == "Once."
