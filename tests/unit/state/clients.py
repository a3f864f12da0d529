"""DynamoDB client wrappers that stage what real concurrent workers do to the rate bucket."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


class SerializedClient:
    """A boto3 client whose calls run one at a time.

    DynamoDB evaluates each conditional write atomically; moto in-process does not across threads, so
    the simulated Lambdas share this lock around every single request (never around a read-then-write).
    """

    def __init__(self, client: Any, lock: threading.Lock) -> None:
        self._client = client
        self._lock = lock
        self.exceptions = client.exceptions
        self.calls: list[str] = []

    def get_item(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append("GetItem")
            response: dict[str, Any] = self._client.get_item(**request)
            return response

    def put_item(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append("PutItem")
            response: dict[str, Any] = self._client.put_item(**request)
            return response


class RivalWorker(SerializedClient):
    """After each of our reads, another worker of the integration takes one slot before we write."""

    def __init__(self, client: SerializedClient, *, rivals: int, rate: float, clock: Callable[[], float]):
        super().__init__(client, threading.Lock())
        self.rivals = rivals
        self._interval = 1.0 / rate
        self._clock = clock

    def get_item(self, **request: Any) -> dict[str, Any]:
        response = super().get_item(**request)
        if self.rivals > 0:
            self.rivals -= 1
            item = response.get("Item")
            tat = float(item["tat"]["N"]) if item else -math.inf
            version = int(item["version"]["N"]) if item else 0
            self._client.put_item(
                TableName=request["TableName"],
                Item={
                    **request["Key"],
                    "tat": {"N": repr(max(tat, self._clock()) + self._interval)},
                    "version": {"N": str(version + 1)},
                },
            )
        return response


class ThrottledClient(SerializedClient):
    """Fails the first ``throttles`` reads with DynamoDB's throttling error."""

    def __init__(self, client: SerializedClient, *, throttles: int):
        super().__init__(client, threading.Lock())
        self.throttles = throttles

    def get_item(self, **request: Any) -> dict[str, Any]:
        if self.throttles > 0:
            self.throttles -= 1
            self.calls.append("GetItem")
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed"}},
                "GetItem",
            )
        return super().get_item(**request)
