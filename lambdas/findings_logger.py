"""Lambda entry point: SQS batches of ECR scan events (or one event invoked straight from
EventBridge) → CloudWatch Logs. The function's state lives as long as the container."""

from __future__ import annotations

import atexit

from pipeline.function import Function

function = Function()
handler = function.handle
reset = function.reset

# Outside Lambda (the queue consumer, tests) close the HTTP sessions cleanly at exit.
atexit.register(reset)
