"""What every boto3 client an adapter takes has in common, as protocols.

An adapter names the calls it makes in its own protocol (``class SqsClient(AwsClient, Protocol)``) and
catches ``client.exceptions.ClientError``, so any object shaped like a boto3 client will do: the real
one, moto's, or a test double.
"""

from __future__ import annotations

from typing import Protocol


class ClientErrors(Protocol):
    """``client.exceptions``: where boto3 puts the error classes of a client's service."""

    @property
    def ClientError(self) -> type[Exception]: ...  # noqa: N802 - boto3's own attribute name


class AwsClient(Protocol):
    """A boto3 low-level client, of any service."""

    @property
    def exceptions(self) -> ClientErrors: ...
