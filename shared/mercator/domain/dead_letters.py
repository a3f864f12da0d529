"""Dead letters: what Mercator could not write, with why, for the Enrich DLQ.

Every path that meets a record it cannot write (a list page, a details call, a webhook delivery, a
replay, a buyer extraction) sends one of these and carries on with the rest of its batch. The body
names the integration, the resource, the connector and the event where there is one, the reason, the
field and path the mapping failed at (``detail``) and the raw payload, so an operator can see what
went wrong and send it again once the definition is fixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mercator.domain.messages import MAX_BODY_BYTES


@dataclass(frozen=True)
class DeadLetter:
    """A record that will not succeed on a retry, with why; the Enrich DLQ's body."""

    reason: str
    detail: dict[str, Any]
    raw: Any
    integration_id: str
    resource: str
    run_id: str
    connector: str | None = None
    event: str | None = None

    def body(self) -> str:
        document = {
            "reason": self.reason,
            "detail": self.detail,
            "raw": self.raw,
            "integration_id": self.integration_id,
            "connector": self.connector,
            "resource": self.resource,
            "event": self.event,
            "run_id": self.run_id,
        }
        text = _json(document)
        if len(text.encode()) <= MAX_BODY_BYTES:
            return text
        # An SQS message cannot hold it: keep the reason, say how big the payload was.
        document["raw"] = {"omitted": f"the raw record is {len(_json(self.raw).encode())} bytes"}
        document["detail"] = {"omitted": "too large for a message"}
        return _json(document)


def _json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
