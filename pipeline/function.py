"""The function across warm invocations: one event loop, the AWS clients and the batch runner.

Lambda's Python runtime calls the handler synchronously (it does not await ``async def``
handlers), so one ``asyncio.Runner`` and the clients live as long as the container and are
reused by every warm invocation. Settings are read and validated on the first call.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Mapping
from typing import Any

from pipeline.aws.clients import Clients
from pipeline.aws.logs import logs_writer
from pipeline.aws.sns import Notifier
from pipeline.config import load_settings
from pipeline.runner import BatchRunner, LambdaContext
from pipeline.writers.finding_events import FindingEventWriter
from pipeline.writers.image_scans import ImageScanWriter


class Function:
    def __init__(self) -> None:
        self.loop: asyncio.Runner | None = None
        self.batch_runner: BatchRunner | None = None

    def handle(self, event: Mapping[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """An SQS batch → the partial batch response; one EventBridge event (invoked directly
        by a rule, as the AWS sample is) → logged, or an exception for Lambda's retries."""
        if self.loop is None:
            self.loop = asyncio.Runner()
        if self.batch_runner is None:
            self.batch_runner = self.loop.run(_start())
            # What start-up made (botocore's service models, the clients) lives as long as the
            # container: keep it out of every later full collection (~7 % of a burst's CPU).
            gc.freeze()
        return self.loop.run(self.batch_runner.handle(event, context))

    def reset(self) -> None:
        """Close the clients and the loop; the next call starts afresh (reads settings again)."""
        if self.loop is not None:
            if self.batch_runner is not None:
                self.loop.run(self.batch_runner.clients.close())
            self.loop.close()
            gc.unfreeze()  # collectable again, like any garbage
        self.loop = self.batch_runner = None


async def _start() -> BatchRunner:
    settings = load_settings()
    clients = await Clients(settings).open()
    logs = logs_writer(settings, clients.logs)  # one group cache, one set of rate limits
    notifier = Notifier(settings, clients.sns)  # one notification budget per invocation
    return BatchRunner(
        settings,
        clients,
        ImageScanWriter(settings, clients, logs, notifier),
        FindingEventWriter(settings, clients, logs, notifier),
        notifier,
    )
