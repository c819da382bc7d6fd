"""Lambda entry point: SQS batch of ECR scan events → CloudWatch Logs.

Lambda's Python runtime calls ``handler`` synchronously, so one event loop (an
``asyncio.Runner``) and the AWS clients are kept at module level and reused by every warm
invocation. Settings are read and validated on the first call.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Mapping
from typing import Any

from pipeline.aws.clients import Clients
from pipeline.config import load_settings
from pipeline.runner import BatchRunner, LambdaContext
from pipeline.writers.image_scans import ImageScanWriter

_runner: asyncio.Runner | None = None
_consumer: BatchRunner | None = None


async def _start() -> BatchRunner:
    settings = load_settings()
    clients = await Clients(settings).open()
    return BatchRunner(settings, clients, ImageScanWriter(settings, clients))


def handler(event: Mapping[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """An SQS batch → the partial batch response; one EventBridge event (invoked directly by
    a rule, as the AWS sample is) → logged, or an exception for Lambda's retries."""
    global _runner, _consumer
    if _runner is None:
        _runner = asyncio.Runner()
    if _consumer is None:
        _consumer = _runner.run(_start())
    return _runner.run(_consumer.handle(event, context))


def reset() -> None:
    """Close the clients and the loop; the next call starts afresh (reads settings again)."""
    global _runner, _consumer
    if _runner is not None:
        if _consumer is not None:
            _runner.run(_consumer.clients.close())
        _runner.close()
    _runner = _consumer = None


# Outside Lambda (driver, demo, tests) close the HTTP sessions cleanly at exit.
atexit.register(reset)
