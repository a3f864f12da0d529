"""The send_email action on moto's SES: the templated email, its recipient and its data."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from mercator.domain.workflows import ActionFailedError, EmailAction
from mercator.outbound.email import EmailSender
from tests.unit.outbound.conftest import ORDER, REGION, change_event, make_workflow

SENDER = "orders@shop.example"
TEMPLATE = "delivery_confirmation"


@pytest.fixture
def ses(aws: None) -> Any:
    client = boto3.client("ses", region_name=REGION)
    client.verify_email_identity(EmailAddress=SENDER)
    client.create_template(
        Template={
            "TemplateName": TEMPLATE,
            "SubjectPart": "Order {{record.code}}",
            "TextPart": "Hello {{record.customer.name}}",
            "HtmlPart": "<p>Hello {{record.customer.name}}</p>",
        }
    )
    return client


def sent(ses: Any) -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def email_action(recipient: str = "customer", template: str = TEMPLATE) -> EmailAction:
    return EmailAction(type="send_email", recipient=recipient, template=template)


def test_the_order_customer_gets_the_template_with_record_and_context(ses: Any) -> None:
    # Given an order whose customer has an email
    action = email_action()
    event = change_event()

    # When the action runs
    outcome = EmailSender(ses, sender=SENDER).run(action, event, make_workflow(action))

    # Then SES sent the template to the order's customer, with the record and context as data
    (message,) = sent(ses)
    assert message.source == SENDER
    assert message.template == TEMPLATE
    assert message.destinations == {"ToAddresses": ["sara@example.com"]}
    data = json.loads(message.template_data)
    assert data["record"] == ORDER
    assert data["context"]["eventId"] == event.id
    assert data["context"]["trigger"] == "order.created"
    assert outcome.startswith(f"sent template {TEMPLATE!r} to s***@example.com (SES message ")
    assert message.id in outcome


def test_a_customer_record_is_written_to_its_own_email(ses: Any) -> None:
    record = {"code": "7", "email": " Buyer@Example.com ", "firstName": "Sara"}
    event = change_event(record, content_type="core:customer", code="7")

    EmailSender(ses, sender=SENDER).run(email_action(), event, make_workflow(email_action()))

    (message,) = sent(ses)
    assert message.destinations == {"ToAddresses": ["Buyer@Example.com"]}


def test_a_cart_customer_is_reached_through_customer_email(ses: Any) -> None:
    record = {"code": "55", "customer": {"email": "cart.owner@example.org"}, "items": []}
    event = change_event(record, content_type="ecommerce:carts", code="55")

    EmailSender(ses, sender=SENDER).run(email_action(), event, make_workflow(email_action()))

    assert sent(ses)[0].destinations == {"ToAddresses": ["cart.owner@example.org"]}


def test_a_fixed_recipient_is_used_as_given(ses: Any) -> None:
    action = email_action("warehouse@shop.example")

    EmailSender(ses, sender=SENDER).run(action, change_event(), make_workflow(action))

    assert sent(ses)[0].destinations == {"ToAddresses": ["warehouse@shop.example"]}


@pytest.mark.parametrize(
    ("record", "content_type", "where"),
    [
        ({"code": "981", "customer": None}, "ecommerce:orders", "customer.email"),
        ({"code": "981", "customer": {"name": "Guest"}}, "ecommerce:orders", "customer.email"),
        ({"code": "7", "phone": "+966500000001"}, "core:customer", "email"),
        ({"code": "7", "email": "   "}, "core:customer", "email"),
    ],
)
def test_no_customer_address_fails_for_good_saying_why(
    ses: Any, record: dict[str, Any], content_type: str, where: str
) -> None:
    event = change_event(record, content_type=content_type, code=str(record["code"]))

    with pytest.raises(ActionFailedError) as caught:
        EmailSender(ses, sender=SENDER).run(email_action(), event, make_workflow(email_action()))

    assert caught.value.retryable is False
    assert f"has no {where}" in caught.value.reason
    assert "no customer to email" in caught.value.reason
    assert sent(ses) == []


def test_a_customer_value_that_is_no_address_fails_for_good(ses: Any) -> None:
    event = change_event({"code": "981", "customer": {"email": "not an address"}})

    with pytest.raises(ActionFailedError) as caught:
        EmailSender(ses, sender=SENDER).run(email_action(), event, make_workflow(email_action()))

    assert caught.value.retryable is False
    assert "not an email address" in caught.value.reason


def test_an_unknown_template_fails_for_good(ses: Any) -> None:
    action = email_action(template="no_such_template")

    with pytest.raises(ActionFailedError) as caught:
        EmailSender(ses, sender=SENDER).run(action, change_event(), make_workflow(action))

    assert caught.value.retryable is False
    assert "TemplateDoesNotExist" in caught.value.reason
    assert sent(ses) == []


class ThrottledSES:
    """An SES client whose every send is throttled, as SES answers past the sending rate."""

    class exceptions:  # noqa: N801 - boto3's own attribute name
        ClientError = ClientError

    def send_templated_email(self, **request: Any) -> dict[str, Any]:
        raise ClientError(
            {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}},
            "SendTemplatedEmail",
        )


def test_throttling_is_retryable() -> None:
    with pytest.raises(ActionFailedError) as caught:
        EmailSender(ThrottledSES(), sender=SENDER).run(
            email_action(), change_event(), make_workflow(email_action())
        )

    assert caught.value.retryable is True
    assert "Throttling: Maximum sending rate exceeded." in caught.value.reason


@pytest.mark.parametrize("sender", ["", "orders", "orders@shop", "two words@shop.example"])
def test_the_sender_must_be_an_address(sender: str) -> None:
    with pytest.raises(ValueError, match="the sender must be an email address"):
        EmailSender(ThrottledSES(), sender=sender)
