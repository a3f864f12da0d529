"""A stand-in for the context object Lambda passes to a handler, with a deadline on an injectable clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class LocalLambdaContext:
    """What Powertools and Mercator's handlers read of ``context``; the remaining time counts down
    from the function's Timeout on ``clock`` (seconds), so a handler's deadline logic runs locally."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    deadline: float
    clock: Callable[[], float]
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None

    @classmethod
    def start(
        cls,
        *,
        function_name: str,
        arn: str,
        memory_mb: int,
        timeout_seconds: float,
        clock: Callable[[], float],
    ) -> LocalLambdaContext:
        """The context of an invocation that begins now."""
        return cls(
            function_name=function_name,
            invoked_function_arn=arn,
            memory_limit_in_mb=memory_mb,
            deadline=clock() + timeout_seconds,
            clock=clock,
        )

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{datetime.now(UTC):%Y/%m/%d}/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - self.clock()) * 1000))
