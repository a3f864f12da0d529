"""What every action runner shares: the change's context, safe URL display and secret failures."""

from __future__ import annotations

from typing import Any, TypeVar

from mercator.domain.errors import CredentialsError
from mercator.domain.messages import ChangeEvent
from mercator.domain.workflows import ActionFailedError, Workflow
from mercator.providers.redaction import Redactor

# Secrets Manager answers that the same request will get again until someone changes something.
_LASTING_SECRET_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "DecryptionFailure",
        "InvalidParameterException",
        "InvalidRequestException",
    }
)
_URLS = Redactor({})

A = TypeVar("A")


def event_context(event: ChangeEvent, workflow: Workflow) -> dict[str, Any]:
    """Where a change came from and which workflow it ran, as receivers and templates see it."""
    return {
        **event.context(),
        "trigger": workflow.trigger,
        "workflow": {"guid": workflow.guid, "name": workflow.name},
    }


def shown_url(url: str) -> str:
    """``url`` fit for a stored reason: user info and secret-looking query values masked."""
    return _URLS.url(url)


def secret_failure(error: CredentialsError, purpose: str) -> ActionFailedError:
    """The action failure for a secret that could not be read; retryable when AWS may answer otherwise."""
    lasting = error.code is None or error.code in _LASTING_SECRET_CODES
    return ActionFailedError(f"{purpose}: {error}", retryable=not lasting)


def expect_action(action: object, kind: type[A]) -> A:
    """``action`` as the model this runner handles; a TypeError names both when it is another."""
    if not isinstance(action, kind):
        raise TypeError(f"this runner runs {kind.__name__} actions, not {type(action).__name__}")
    return action
