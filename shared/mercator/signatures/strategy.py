"""What a webhook verification strategy is, and the registry that finds one for a connector's definition.

A strategy is one class per scheme that verifies what a platform sends, signs a body the same way
(Mercator signs its own outgoing webhooks and, locally, the deliveries it posts to itself), and names
the headers that carry a secret. It is built from the definition's verification model and
registers its class under that model's type with ``@VERIFIERS.register(<Model>)``, so adding a scheme
touches one class. Look strategies up with ``mercator.signatures.verification.strategy_for``, which
has loaded every module that registers one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from mercator.domain.registry import Registry

__all__ = ["VERIFIERS", "Outgoing", "Received", "VerificationStrategy"]

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class Received:
    """A delivery as it arrived, as a strategy checks it."""

    headers: Mapping[str, str]
    body: bytes
    now: datetime
    check_timestamp: bool = True


@dataclass(frozen=True)
class Outgoing:
    """A body to sign, when, and the message id of schemes that sign one (a fresh one when None)."""

    body: bytes
    now: datetime
    delivery_id: str | None = None


class VerificationStrategy(ABC, Generic[Model]):
    """One scheme, configured by the verification model of a connector's definition.

    A scheme implements ``_verify``, ``_sign`` and ``secret_headers``; ``verify`` and ``sign`` are
    what callers use.
    """

    def __init__(self, verification: Model) -> None:
        self.verification = verification

    def verify(
        self,
        credentials: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        *,
        now: datetime,
        check_timestamp: bool = True,
    ) -> None:
        """Return if the delivery is authentic; raise VerificationError, with a reason safe to log,
        if not (CredentialError when the integration's credentials are at fault).

        ``check_timestamp=False`` skips the freshness check of a signed timestamp, never the signature.
        """
        self._verify(credentials, Received(headers, body, now, check_timestamp))

    def sign(
        self,
        credentials: Mapping[str, str],
        body: bytes,
        *,
        now: datetime,
        delivery_id: str | None = None,
    ) -> dict[str, str]:
        """The headers a sender holding ``credentials`` puts on ``body`` at ``now``; ``verify`` accepts them.

        ``delivery_id`` is the message id of schemes that sign one; without it a fresh one is made.
        """
        return self._sign(credentials, Outgoing(body, now, delivery_id))

    @abstractmethod
    def _verify(self, credentials: Mapping[str, str], delivery: Received) -> None: ...

    @abstractmethod
    def _sign(self, credentials: Mapping[str, str], message: Outgoing) -> dict[str, str]: ...

    @abstractmethod
    def secret_headers(self) -> frozenset[str]:
        """The headers (lower case) carrying a credential, or a signature made with one: read to
        verify a delivery, never stored with it. Abstract so that no scheme leaks one by omission."""


VERIFIERS: Registry[type[BaseModel], type[VerificationStrategy[Any]]] = Registry("verification strategy")
