"""boto3 client wrappers for the adapter tests: they record requests and stage partial failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Recording:
    """Passes every call to ``client`` and records (operation, request) in ``requests``."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Callable[..., dict[str, Any]]:
        method = getattr(self._client, operation)

        def call(**request: Any) -> dict[str, Any]:
            self.requests.append((operation, request))
            response: dict[str, Any] = method(**request)
            return response

        return call

    def calls(self, operation: str) -> list[dict[str, Any]]:
        return [request for name, request in self.requests if name == operation]


class UnprocessedKeys(Recording):
    """BatchGetItem sends only the first ``serve`` keys of each of its first ``rounds`` requests to
    DynamoDB and answers the rest as UnprocessedKeys, as DynamoDB does under throttling."""

    def __init__(self, client: Any, *, serve: int, rounds: int) -> None:
        super().__init__(client)
        self.serve = serve
        self.rounds = rounds

    def batch_get_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("batch_get_item", request))
        (table, wanted), *_ = request["RequestItems"].items()
        if self.rounds <= 0:
            response: dict[str, Any] = self._client.batch_get_item(**request)
            return response
        self.rounds -= 1
        served, left = wanted["Keys"][: self.serve], wanted["Keys"][self.serve :]
        response = self._client.batch_get_item(RequestItems={table: {**wanted, "Keys": served}})
        response["UnprocessedKeys"] = {table: {**wanted, "Keys": left}} if left else {}
        return response


class FailingEntries(Recording):
    """SendMessageBatch fails the entries ``fail`` picks by body: ``fail(body)`` gives the error code
    and whether it is the sender's fault, or None to send the entry. Each failure is counted."""

    def __init__(self, client: Any, fail: Callable[[str], tuple[str, bool] | None]) -> None:
        super().__init__(client)
        self._fail = fail
        self.failures: list[str] = []

    def send_message_batch(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("send_message_batch", request))
        sent, failed = [], []
        for entry in request["Entries"]:
            verdict = self._fail(entry["MessageBody"])
            if verdict is None:
                sent.append(entry)
                continue
            code, sender_fault = verdict
            self.failures.append(entry["MessageBody"])
            failed.append(
                {"Id": entry["Id"], "SenderFault": sender_fault, "Code": code, "Message": "refused"}
            )
        response: dict[str, Any] = {"Successful": [], "Failed": failed}
        if sent:
            response = self._client.send_message_batch(QueueUrl=request["QueueUrl"], Entries=sent)
            response.setdefault("Failed", []).extend(failed)
        return response
