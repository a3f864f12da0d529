"""The Integrations API's OpenAPI document: every answer a route gives, declared with its status code.

The resolver generates the document from the routes and their models; ``documented`` gives each
route its answers (the success envelope, the error envelopes it can return, the authorizer's 401
and 403 and the 500 every route may give; a route that reads a body also gives 413 and 415), and
``openapi_document`` drops the 422 the resolver declares by default: a request that fails validation
is answered 400 CONFIGURATION_ERROR here. ``validation_message`` says what failed validation without
quoting a value, in a bounded message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from mercator.api.request_checks import MAX_BODY_BYTES, shown
from mercator.api.schemas import Done, Envelope, ErrorEnvelope

_VALIDATION_STATUS = "422"
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_ERRORS = {
    400: "CONFIGURATION_ERROR: the request is invalid (the message names the field) or cannot be carried out",
    401: "UNAUTHORIZED: no valid API key (Authorization: Bearer mk_<key id>.<secret>)",
    403: "FORBIDDEN: the API key is unknown or revoked",
    404: "NOT_FOUND: no such item for this tenant",
    409: "CONFLICT: the request clashes with what exists",
    413: f"REQUEST_TOO_LARGE: the body is larger than {MAX_BODY_BYTES // 1024} KiB",
    415: "UNSUPPORTED_MEDIA_TYPE: the body is not sent as application/json",
    500: "INTERNAL_ERROR: the request could not be completed",
}
# The statuses of a route that reads a body, besides its own.
BODY_ERRORS = (400, 413, 415)
# Problems named in one message, and the characters of a field's name shown as they are.
_MAX_PROBLEMS = 10
_PLAIN_NAME_CHARS = 60
_ALWAYS = (401, 403, 500)
SECURITY_SCHEME = "mercatorApiKey"

OPENAPI_INFO: dict[str, Any] = {
    "title": "Mercator Integrations API",
    "version": "1",
    "description": (
        "Configure, disable and remove a tenant's storefront integrations, save push subscriptions, "
        "and configure the workflows their triggers run. Every request is made with a tenant's API key."
    ),
    "security_schemes": {SECURITY_SCHEME: HTTPBearer(bearerFormat="mk_<key id>.<secret>")},
    "security": [{SECURITY_SCHEME: []}],
}


def documented(data: Any, *errors: int, accepted: str | None = None) -> dict[int, Any]:
    """A route's answers: 200 with ``data`` in the envelope (``{"success": true}`` alone when None),
    the error envelope for each status of ``errors`` and for 401, 403 and 500; with ``accepted`` (what
    202 means for the route), 202 with the same envelope too."""
    ok = Done if data is None else Envelope[data]
    answers: dict[int, Any] = {
        200: {"description": "success", "content": {"application/json": {"model": ok}}},
    }
    if accepted is not None:
        answers[202] = {"description": accepted, "content": {"application/json": {"model": ok}}}
    for status in sorted({*errors, *_ALWAYS}):
        answers[status] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
    return answers


def openapi_document(generated: str) -> dict[str, Any]:
    """The resolver's document without the validation answer this API never gives."""
    document: dict[str, Any] = json.loads(generated)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop(_VALIDATION_STATUS, None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in _VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """``invalid request: <field>: <problem>; ...`` from pydantic's errors, never quoting a value.

    At most ``_MAX_PROBLEMS`` problems are named, then how many more there are; a field name the
    request made up (an unknown key) is cut short.
    """
    problems = [
        "the body is not valid JSON"
        if error.get("type") == "json_invalid"
        else f"{_location(error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in errors[:_MAX_PROBLEMS]
    ]
    if len(errors) > _MAX_PROBLEMS:
        problems.append(f"and {len(errors) - _MAX_PROBLEMS:,} more")
    return "invalid request: " + ("; ".join(problems) or "the request does not match the API")


def _location(location: Iterable[Any]) -> str:
    parts = [_part(part) for part in location]
    if not parts:
        return "the request"
    where, *path = parts
    if where == "body":
        return ".".join(path) if path else "the JSON body"
    if where == "query":
        return f"query parameter {'.'.join(path)}"
    if where == "path":
        return f"path parameter {'.'.join(path)}"
    return ".".join(parts)


def _part(part: Any) -> str:
    text = str(part)
    # A plain name reads as itself; one with other or many characters, quoted, escaped and cut short.
    return text if len(text) <= _PLAIN_NAME_CHARS and text.isascii() and text.isprintable() else shown(text)
