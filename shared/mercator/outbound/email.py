"""The ``send_email`` workflow action: an SES templated email about the record.

The template gets ``{"record": ..., "changes": ..., "context": ...}`` as its data, so it can say
``{{record.customer.name}}``, ``{{changes.status.from}}`` or ``{{context.trigger}}``. The recipient
``customer`` is the record's own buyer: a customer record's ``email``, an order's, cart's or
shipment's ``customer.email``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from mercator.domain.messages import ChangeEvent
from mercator.domain.workflows import ActionFailedError, EmailAction, Workflow
from mercator.outbound.actions import ACTION_RUNNERS
from mercator.outbound.context import event_context, expect_action
from mercator.state.aws_protocols import AwsClient
from mercator.state.dynamo import error_code

CUSTOMER = "customer"
# Deliberately loose: SES has the final word; this catches blanks and obvious mistakes early.
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# SES answers that may differ when the same request is sent again.
_PASSING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestTimeout",
    }
)


class SESClient(AwsClient, Protocol):
    """The part of a boto3 SES (v1) client the sender uses."""

    def send_templated_email(self, **request: Any) -> dict[str, Any]: ...


@ACTION_RUNNERS.register(EmailAction)
class EmailSender:
    """ActionRunner for ``send_email`` actions."""

    def __init__(self, ses_client: SESClient, *, sender: str) -> None:
        if not _ADDRESS.match(sender or ""):
            raise ValueError(f"the sender must be an email address SES has verified, not {sender!r}")
        self._ses = ses_client
        self._sender = sender

    def run(self, action: Any, event: ChangeEvent, workflow: Workflow) -> str:
        email = expect_action(action, EmailAction)
        to = recipient(email.recipient, event)
        data = json.dumps(
            {
                "record": event.record,
                "changes": event.changes_json(),
                "context": event_context(event, workflow),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        try:
            response = self._ses.send_templated_email(
                Source=self._sender,
                Destination={"ToAddresses": [to]},
                Template=email.template,
                TemplateData=data,
            )
        except self._ses.exceptions.ClientError as exc:
            code = error_code(exc) or "unknown error"
            raise ActionFailedError(
                f"SES did not send template {email.template!r} to {masked(to)}: {code}: {_message(exc)}",
                retryable=code in _PASSING_CODES,
            ) from None
        message_id = response.get("MessageId", "")
        return f"sent template {email.template!r} to {masked(to)} (SES message {message_id})"


def recipient(configured: str, event: ChangeEvent) -> str:
    """The address a ``send_email`` action writes to; ActionFailedError says why there is none."""
    if configured.strip().lower() != CUSTOMER:
        address = configured.strip()
        if not _ADDRESS.match(address):
            raise ActionFailedError(
                f"the recipient {configured!r} is neither 'customer' nor an email address", retryable=False
            )
        return address
    record = event.record
    if event.content_type == "core:customer":
        found, where = record.get("email"), "email"
    else:
        customer = record.get("customer")
        found = customer.get("email") if isinstance(customer, dict) else None
        where = "customer.email"
    if not isinstance(found, str) or not found.strip():
        raise ActionFailedError(
            f"the {event.content_type} record {event.code!r} has no {where}, so there is no customer "
            "to email",
            retryable=False,
        )
    address = found.strip()
    if not _ADDRESS.match(address):
        raise ActionFailedError(
            f"the {event.content_type} record {event.code!r} has a {where} that is not an email address",
            retryable=False,
        )
    return address


def masked(address: str) -> str:
    """``a***@example.com``: enough to tell recipients apart in a stored outcome, not the whole address."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        message = response.get("Error", {}).get("Message")
        if isinstance(message, str) and message:
            return message
    return type(error).__name__
