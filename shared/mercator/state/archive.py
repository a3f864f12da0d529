"""Accepted webhook deliveries kept in S3, so any of them can be replayed.

One object per delivery, written once whatever the number of copies received (the key is the
delivery's dedupe key)::

    deliveries/<integration_id>/<dedupe key>.json   ArchivedDelivery as JSON

The bucket's lifecycle rule expires them (template.yaml); the objects hold no credential headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from pydantic import ValidationError

from mercator.domain.deliveries import ArchivedDelivery
from mercator.domain.errors import MissingResourceError, StateAccessError, StateError
from mercator.state.aws_protocols import AwsClient
from mercator.state.dynamo import error_code

PREFIX = "deliveries"
_NO_KEY = frozenset({"NoSuchKey", "404"})
_NO_BUCKET = "NoSuchBucket"


class S3Client(AwsClient, Protocol):
    """The part of a boto3 S3 client the archive uses."""

    def put_object(self, **request: Any) -> dict[str, Any]: ...

    def get_object(self, **request: Any) -> dict[str, Any]: ...

    def get_paginator(self, operation: str) -> Any: ...


class ArchivedDeliveryNotFoundError(StateError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no archived delivery at {key!r}")
        self.key = key


def archive_key(integration_id: str, dedupe_key: str) -> str:
    return f"{PREFIX}/{integration_id}/{dedupe_key}.json"


class S3DeliveryArchive:
    """DeliveryArchive over one S3 bucket."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        if not bucket:
            raise ValueError("an archive bucket name must not be empty")
        self._client = client
        self._bucket = bucket

    def put(self, delivery: ArchivedDelivery) -> str:
        object_key = archive_key(delivery.integration_id, delivery.dedupe_key)
        self._call(
            "PutObject",
            object_key,
            Body=delivery.model_dump_json().encode(),
            ContentType="application/json",
        )
        return object_key

    def get(self, object_key: str) -> ArchivedDelivery:
        response = self._call("GetObject", object_key)
        try:
            return ArchivedDelivery.model_validate_json(response["Body"].read())
        except ValidationError as e:
            raise StateAccessError(
                f"s3://{self._bucket}/{object_key} is not an archived delivery: {e.errors()[0]['msg']}",
                resource=self._bucket,
                operation="GetObject",
            ) from e

    def keys(self, integration_id: str) -> Iterator[str]:
        """The keys of an integration's archived deliveries, in key order."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self._bucket, Prefix=f"{PREFIX}/{integration_id}/"):
                for entry in page.get("Contents", []):
                    yield entry["Key"]
        except self._client.exceptions.ClientError as e:
            raise self._error("ListObjectsV2", integration_id, e) from e

    def _call(self, operation: str, object_key: str, **request: Any) -> dict[str, Any]:
        method = self._client.put_object if operation == "PutObject" else self._client.get_object
        try:
            return method(Bucket=self._bucket, Key=object_key, **request)
        except self._client.exceptions.ClientError as e:
            raise self._error(operation, object_key, e) from e

    def _error(self, operation: str, object_key: str, e: Exception) -> StateError:
        code = error_code(e)
        if code in _NO_KEY:
            return ArchivedDeliveryNotFoundError(object_key)
        if code == _NO_BUCKET:
            return MissingResourceError(
                f"{operation}: S3 bucket {self._bucket!r} does not exist",
                resource=self._bucket,
                operation=operation,
                code=code,
            )
        return StateAccessError(
            f"{operation} on s3://{self._bucket}/{object_key} failed: {code or 'unknown error'}: {e}",
            resource=self._bucket,
            operation=operation,
            code=code,
        )
