"""A Lambda context for running the handler outside Lambda: a request id and a time budget.

It has what the handler reads from Lambda's context object (``consumer.LambdaContext``); the
queue runner, the demo, the benchmark and the tests all hand the handler one of these.
"""

from __future__ import annotations

import time
import uuid

DEFAULT_FUNCTION_NAME = "ecr-findings-logger-local"


class LocalContext:
    """``budget_ms`` from now until the deadline, as a function timeout gives it."""

    def __init__(self, budget_ms: int, function_name: str = DEFAULT_FUNCTION_NAME) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = function_name
        self._deadline = time.monotonic() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)
