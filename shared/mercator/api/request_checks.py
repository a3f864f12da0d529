"""The Integrations API's limits, in one place, and how a request body is read within them.

A request with a body is checked before any of it is decoded or parsed: a body that is not sent as
``application/json`` is refused (UnsupportedMediaTypeError, 415), and so is one larger than
``MAX_BODY_BYTES`` (BodyTooLargeError, 413). The body is then read by the bounded JSON reader of
connector definitions (``mercator.connector.documents.parse_json``: at most ``MAX_JSON_NESTING``
levels, integers of at most ``MAX_INT_DIGITS`` digits, no key given twice in one object); what it
refuses is a MalformedBodyError (400) saying where. The request models (``mercator.api.schemas``)
hold the remaining limits: lengths of ids, names and texts, the number and size of credentials,
action headers, and the size of a workflow's conditions (``conditions_problem``).

Within these limits every request the API accepts fits what it is stored in: a workflow fits a
DynamoDB item (400 KB), credentials fit a Secrets Manager secret (64 KiB), an id fits a key. No
message quotes a value the request sent: they may be credentials. README's "Limits" paragraph
documents the same numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from mercator.connector.documents import (
    MAX_INT_DIGITS,
    MAX_NESTING,
    DocumentError,
    JSONSyntaxError,
    Problem,
    parse_json,
)

JSON_MEDIA_TYPE = "application/json"

MAX_BODY_BYTES = 256 * 1024
"""A request body, in bytes as sent (decoded when API Gateway passes it on base64-encoded)."""
MAX_JSON_NESTING = MAX_NESTING
"""Objects and lists nested in one another in a body."""
MAX_JSON_INT_DIGITS = MAX_INT_DIGITS
"""Digits of an integer in a body."""
MAX_ID_CHARS = 128
"""An id or a key: providerId, an integration's, workflow's or execution's id, triggerId."""
MAX_NAME_CHARS = 200
"""A name: a workflow's, a credential's, an action header's, a condition's record path."""
MAX_TEXT_CHARS = 2048
"""Any other text: a URL, a push subscription key, an action's field, a text in conditions."""
MAX_CREDENTIALS = 20
"""Credentials of one integration."""
MAX_CREDENTIALS_BYTES = 32 * 1024
"""Credentials of one integration together, as the JSON stored in Secrets Manager (64 KiB at most)."""
MAX_HEADERS = 20
"""Extra headers of a webhook action."""
MAX_CONDITIONS = 50
"""Record paths a workflow's conditions test."""
MAX_CONDITION_DEPTH = 5
"""Objects and lists nested in one condition's value (``{"in": [...]}`` is two levels)."""
MAX_CONDITION_VALUES = 1000
"""Values in a workflow's conditions together: operators, operands and the items of their lists."""

_SHOWN_CHARS = 60  # of a name or a header quoted in a message
_MAX_MESSAGE_CHARS = 300  # of one problem the JSON reader found


class RequestBodyError(Exception):
    """A request body the API does not read; the message is safe to show (it quotes no value)."""


class UnsupportedMediaTypeError(RequestBodyError):
    """The body is sent as something other than application/json."""


class BodyTooLargeError(RequestBodyError):
    """The body is larger than ``MAX_BODY_BYTES``."""


class MalformedBodyError(RequestBodyError):
    """The body is not JSON, or JSON past the reader's limits (nesting, long integers, repeated keys)."""


def check_body(content_type: str | None, body: str | None, *, base64_encoded: bool) -> None:
    """Refuse a body that is not JSON or too large, before any of it is decoded or parsed.

    A request without a Content-Type is read as JSON; ``application/json`` may carry parameters
    (``; charset=utf-8``) and is matched whatever its case.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type and media_type != JSON_MEDIA_TYPE:
        raise UnsupportedMediaTypeError(
            f"the body is sent as {shown(media_type)}; send it as JSON with Content-Type: {JSON_MEDIA_TYPE}"
        )
    size = body_size(body, base64_encoded=base64_encoded)
    if size > MAX_BODY_BYTES:
        raise BodyTooLargeError(
            f"the body is {size:,} bytes; at most {MAX_BODY_BYTES:,} bytes "
            f"({MAX_BODY_BYTES // 1024} KiB) are read"
        )


def body_size(body: str | None, *, base64_encoded: bool) -> int:
    """The body's size in bytes as sent, without decoding it; past the limit, a lower bound will do."""
    if not body:
        return 0
    if base64_encoded:
        return len(body) * 3 // 4 - body[-2:].count("=")
    if len(body) > MAX_BODY_BYTES:  # every character is at least one byte
        return len(body)
    return len(body.encode("utf-8", "surrogatepass"))


def read_json_body(text: str) -> Any:
    """The JSON value of a body; MalformedBodyError says what is wrong and where."""
    try:
        return parse_json(text, "body", unique_keys=True)
    except JSONSyntaxError:
        raise MalformedBodyError("the body is not valid JSON") from None
    except DocumentError as exc:
        raise MalformedBodyError("; ".join(_problem(problem) for problem in exc.problems)) from None


def _problem(problem: Problem) -> str:
    # The reader already shortens a deep path to its two ends; a long key is cut here.
    where = _printable(problem.path, _MAX_MESSAGE_CHARS) if problem.path else "the JSON body"
    at = f" (line {problem.line}, column {problem.column})" if problem.line and problem.column else ""
    message = problem.message  # a duplicate key is quoted in it, and a key may be long
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "..."
    return f"{where}: {message}{at}"


def conditions_problem(conditions: Mapping[str, Any]) -> str | None:
    """What puts a workflow's ``conditions`` past the limits, naming the condition; None when nothing does.

    Counted without recursion: a value deeper than allowed is refused at the first level past it.
    """
    if len(conditions) > MAX_CONDITIONS:
        return f"{len(conditions):,} conditions; at most {MAX_CONDITIONS} record paths are tested"
    values = 0
    for path, value in conditions.items():
        if len(path) > MAX_NAME_CHARS:
            return f"a record path of {len(path):,} characters; at most {MAX_NAME_CHARS} are read"
        pending: list[tuple[Any, int]] = [(value, 0)]
        while pending:
            node, depth = pending.pop()
            values += 1
            if values > MAX_CONDITION_VALUES:
                return (
                    f"more than {MAX_CONDITION_VALUES:,} values in all conditions; at most that many are read"
                )
            problem = _value_problem(node, depth)
            if problem:
                return f"condition on {shown(path)}: {problem}"
            if isinstance(node, dict):
                pending.extend((child, depth + 1) for child in node.values())
            elif isinstance(node, list):
                pending.extend((child, depth + 1) for child in node)
    return None


def _value_problem(node: Any, depth: int) -> str | None:
    if isinstance(node, dict | list):
        if depth >= MAX_CONDITION_DEPTH:
            return f"nested deeper than {MAX_CONDITION_DEPTH} objects and lists"
        if isinstance(node, dict) and any(len(key) > MAX_TEXT_CHARS for key in node):
            return f"a key longer than {MAX_TEXT_CHARS:,} characters"
        return None
    if isinstance(node, str) and len(node) > MAX_TEXT_CHARS:
        return f"a text of {len(node):,} characters; at most {MAX_TEXT_CHARS:,} are read"
    if isinstance(node, float) and not math.isfinite(node):
        return "NaN and Infinity are not JSON numbers"
    return None


def credentials_size(values: Mapping[str, str]) -> int:
    """The credentials' size as stored: the JSON text of the secret, in bytes."""
    return len(json.dumps(dict(values), ensure_ascii=False, sort_keys=True).encode("utf-8", "surrogatepass"))


def shown(text: str) -> str:
    """``text`` quoted for a message: printable ASCII, at most ``_SHOWN_CHARS`` characters of it."""
    return repr(_cut(text)).encode("ascii", "backslashreplace").decode("ascii")


def _printable(text: str, limit: int = _SHOWN_CHARS) -> str:
    """``text`` for a message unquoted: printable ASCII (others escaped), at most ``limit`` characters."""
    return "".join(ch if " " <= ch <= "~" else ascii(ch)[1:-1] for ch in _cut(text, limit))


def _cut(text: str, limit: int = _SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
