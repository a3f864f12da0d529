"""Errors Mercator's state adapters raise in place of AWS client errors."""

from __future__ import annotations

from dataclasses import dataclass


class StateError(Exception):
    """Mercator's state in AWS could not be read or written."""


class RateBucketUnavailable(StateError):  # noqa: N818 - names the condition, like HTTP 503
    """An integration's shared rate bucket could not be read or updated.

    Callers must not send the provider request: without the bucket, the integration's rate cannot be
    kept across its concurrent workers. ``code`` is the AWS error code when there was one.
    """

    def __init__(self, message: str, *, integration_id: str, code: str | None = None) -> None:
        super().__init__(message)
        self.integration_id = integration_id
        self.code = code


class StateAccessError(StateError):
    """An AWS call on Mercator's state failed: denied, invalid, or throttled beyond boto3's own retries.

    ``resource`` names the table, queue or secret; ``code`` is the AWS error code when there was one.
    The work that needed the call should fail as a whole so that its SQS message is retried.
    """

    def __init__(self, message: str, *, resource: str, operation: str, code: str | None = None) -> None:
        super().__init__(message)
        self.resource = resource
        self.operation = operation
        self.code = code


class MissingResourceError(StateAccessError):
    """The table, queue or secret does not exist: a wrong name in the environment, or not deployed."""


class ItemTooLargeError(StateAccessError):
    """DynamoDB refused an item over its 400 KB limit: the same write will never succeed, so the work
    that needed it must be set aside (a dead letter), not retried."""


class MalformedItemError(StateError):
    """A stored item does not have the shape Mercator writes (edited by hand, or by another version)."""

    def __init__(self, message: str, *, table: str) -> None:
        super().__init__(message)
        self.table = table


class IntegrationNotFoundError(StateError):
    """No integration has this id."""

    def __init__(self, integration_id: str) -> None:
        super().__init__(f"no integration {integration_id!r}")
        self.integration_id = integration_id


class CredentialsError(StateError):
    """An integration's credentials are missing or malformed.

    Messages name the integration and the secret, never a credential's value.
    """

    def __init__(self, message: str, *, integration_id: str | None, code: str | None = None) -> None:
        super().__init__(message)
        self.integration_id = integration_id
        self.code = code


class MessagesNotSentError(StateAccessError):
    """SQS still refused some messages after retries; ``failed`` says which (indexes into the bodies sent).

    Messages not listed were sent, so sending them all again delivers those twice: consumers must be
    idempotent, as they must be for SQS's at-least-once delivery anyway.
    """

    def __init__(self, message: str, *, queue_url: str, failed: list[RefusedMessage]) -> None:
        code = failed[0].code if failed else None
        super().__init__(message, resource=queue_url, operation="SendMessageBatch", code=code)
        self.failed = failed


@dataclass(frozen=True)
class RefusedMessage:
    """One body SQS refused: its index in the bodies given to ``send``, and why."""

    index: int
    code: str
    message: str
    sender_fault: bool


class ExecutionNotFoundError(StateError):
    """The tenant has no workflow execution with this id."""

    def __init__(self, tenant_id: str, execution_id: str) -> None:
        super().__init__(f"tenant {tenant_id!r} has no workflow execution {execution_id!r}")
        self.tenant_id = tenant_id
        self.execution_id = execution_id


class ConnectorTakenError(StateError):
    """The tenant already has an integration of this connector (``integration_id``)."""

    def __init__(self, tenant_id: str, connector: str, integration_id: str) -> None:
        super().__init__(
            f"tenant {tenant_id!r} already has integration {integration_id!r} of connector {connector!r}"
        )
        self.tenant_id = tenant_id
        self.connector = connector
        self.integration_id = integration_id


class MissingCredentialError(KeyError):
    """A placeholder names a credential the integration does not have."""

    def __init__(self, name: str, where: str) -> None:
        super().__init__(name)
        self.name = name
        self.where = where

    def __str__(self) -> str:
        return f"{self.where} needs credential {self.name!r}, which this integration does not have"


class WorkflowNotFoundError(StateError):
    """The tenant has no workflow with this guid."""

    def __init__(self, tenant_id: str, guid: str) -> None:
        super().__init__(f"tenant {tenant_id!r} has no workflow {guid!r}")
        self.tenant_id = tenant_id
        self.guid = guid


class HostNotAllowedError(ValueError):
    """A tenant's store address names a host its connector does not allow; the message lists those it does."""
