"""The batch runner: one invocation's life, whatever the messages announce.

decode every record → start a writer per image scan within bounded fan-out, and one task for
all the batch's finding events (their writer packs them across messages), stopping before the
deadline → settle each message (done, retry, dead) → one outcome line per message and the
invocation's metrics. The image-scan writer knows nothing of batches; the finding-event writer
completes each message on its own; the runner knows nothing of AWS Logs.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson

from pipeline.aws.clients import Clients
from pipeline.aws.sns import Notifier
from pipeline.concurrency import acquire_before
from pipeline.config import Settings
from pipeline.errors import PipelineError, RetryableError, quote
from pipeline.events import ImageScan, decode
from pipeline.metrics import LineWriter, Metrics, outcome_line, write_json_line
from pipeline.outcome import Outcome, receive
from pipeline.settle import decide, settle

BatchResponse = dict[str, list[dict[str, str]]]
# The summary notification is sent after the deadline's work; it may not hold the batch long.
_SUMMARY_TIMEOUT_S = 5.0


class UnsupportedInvocation(ValueError):
    """The function was invoked with something that is neither an SQS batch nor an event."""


class InvocationFailed(Exception):
    """A directly invoked event could not be logged; Lambda retries it, then its on-failure
    destination receives the event with this error."""

    def __init__(self, error: PipelineError) -> None:
        kind = "retryable" if error.retryable else "permanent"
        super().__init__(f"{error.code} ({kind}): {error.message}")
        self.error = error


class LambdaContext(Protocol):
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


class Writer(Protocol):
    """Logs what one message announces; raises PipelineError when it cannot."""

    def begin(self) -> None:
        """A new invocation starts (no task of an earlier one is still running)."""

    async def write(self, scan: ImageScan, outcome: Outcome, metrics: Metrics) -> None: ...


class BatchWriter(Protocol):
    """Logs the finding events of a whole batch at once. Marks each outcome completed (with its
    error, if any) as its own write ends; raises nothing for a single message's failure."""

    async def write_all(self, outcomes: Sequence[Outcome], metrics: Metrics) -> None: ...


class BatchRunner:
    """Processes SQS batches. One instance lives across warm invocations."""

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        writer: Writer,
        finding_writer: BatchWriter,
        notifier: Notifier | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.writer = writer
        self.finding_writer = finding_writer
        self.notifier = notifier  # the writers' own: one budget per invocation for all
        self.emit: LineWriter = write_json_line

    async def handle(self, event: object, context: LambdaContext | None) -> dict[str, Any]:
        """One invocation: an SQS batch from the event source mapping, or one EventBridge
        event delivered straight to the function (the AWS sample's wiring)."""
        if isinstance(event, Mapping) and "Records" in event:
            records = event["Records"]
            if not isinstance(records, list):
                raise UnsupportedInvocation("the event's Records is not a list")
            return await self.consume(records, context)
        if isinstance(event, Mapping) and "detail-type" in event and "source" in event:
            return await self.consume_direct(event, context)
        shape = sorted(event)[:8] if isinstance(event, Mapping) else type(event).__name__
        raise UnsupportedInvocation(
            "expected an SQS batch ({'Records': [...]}) or an EventBridge event "
            f"(with source and detail-type); got {quote(shape)}"
        )

    async def consume(self, records: list[Any], context: LambdaContext | None) -> BatchResponse:
        """An SQS batch: every message settled on its own; the partial batch response."""
        metrics = Metrics()
        outcomes = [receive(record, decode) for record in records]
        await self._run(outcomes, metrics, context)
        response = await settle(outcomes, self.clients.sqs, self.settings.dead_letter_queue_url)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        self._report(outcomes, metrics, failed)
        return response

    async def consume_direct(
        self, event: Mapping[str, Any], context: LambdaContext | None
    ) -> dict[str, Any]:
        """One event invoked asynchronously by an EventBridge rule: no queue to settle on, so a
        failure raises, and Lambda's own retries and on-failure destination take over."""
        metrics = Metrics()
        event_id = event.get("id")
        record = {
            "messageId": event_id if isinstance(event_id, str) and event_id else "direct",
            "body": orjson.dumps(event, default=str).decode(),
            "attributes": {"ApproximateReceiveCount": "1"},
        }
        outcome = receive(record, decode)
        await self._run([outcome], metrics, context)
        self._report([outcome], metrics, set())
        if outcome.error is not None and outcome.status != "duplicate":
            raise InvocationFailed(outcome.error)
        return {"outcome": outcome.status, "findings": outcome.findings}

    async def _run(
        self, outcomes: list[Outcome], metrics: Metrics, context: LambdaContext | None
    ) -> None:
        """Write every decoded message within bounded fan-out and the deadline; decide each."""
        self.clients.metrics = metrics  # API calls are counted into this invocation's metrics
        self.writer.begin()
        if self.notifier is not None:
            self.notifier.begin()
        loop = asyncio.get_running_loop()
        deadline = None
        if context is not None:
            budget_ms = context.get_remaining_time_in_millis() - self.settings.deadline_margin_ms
            deadline = loop.time() + budget_ms / 1000

        slots = asyncio.Semaphore(self.settings.max_concurrent_images)
        tasks: dict[asyncio.Task[None], Outcome] = {}

        async def run(outcome: Outcome) -> None:
            try:
                await self._process(outcome, metrics)
            finally:
                slots.release()

        async def run_findings(batch: list[Outcome]) -> None:
            try:
                await self._process_findings(batch, metrics)
            finally:
                slots.release()

        findings = [o for o in outcomes if o.error is None and o.finding is not None]
        if findings and await acquire_before(slots, deadline):
            # One task for every finding event: they share streams and PutLogEvents calls.
            tasks[asyncio.create_task(run_findings(findings))] = findings[0]
        for outcome in outcomes:
            if outcome.error is not None or outcome.finding is not None:
                continue  # rejected while decoding, or a finding event (written above)
            # Take a slot before creating the task, so at most N exist; stop starting work
            # once the deadline is near.
            if not await acquire_before(slots, deadline):
                break
            tasks[asyncio.create_task(run(outcome))] = outcome
        if tasks:
            timeout = None if deadline is None else max(deadline - loop.time(), 0)
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._notify_held(metrics)
        for outcome in outcomes:
            if outcome.error is None and not outcome.completed:
                outcome.error = RetryableError(
                    "deadline_exceeded", "the invocation ran out of time before this message"
                )
            outcome.status = (
                "duplicate"
                if outcome.status == "duplicate"
                else decide(outcome.error, outcome.receive_count, self.settings.max_receive_count)
            )

    async def _notify_held(self, metrics: Metrics) -> None:
        """The one summary of the images over the notification cap, when the work is done."""
        if self.notifier is None:
            return
        try:
            async with asyncio.timeout(_SUMMARY_TIMEOUT_S):
                problem = await self.notifier.finish(metrics)
        except TimeoutError:
            problem = "the summary notification timed out"
        if problem:
            line = {"level": "WARNING", "notification": "summary not sent", "detail": problem}
            self.emit({**line, "reason": "notify_failed"})

    async def _process(self, outcome: Outcome, metrics: Metrics) -> None:
        started = time.perf_counter()
        assert outcome.scan is not None
        try:
            await self.writer.write(outcome.scan, outcome, metrics)
        except PipelineError as err:
            outcome.error = err
        except Exception as exc:  # a bug must not take the batch down with it
            outcome.error = RetryableError("internal_error", f"{type(exc).__name__}: {exc}")
            outcome.notes.append(traceback.format_exc(limit=5))
        finally:
            outcome.duration_ms = (time.perf_counter() - started) * 1000
        # Not reached when cancelled at the deadline: such a message is reported unfinished.
        outcome.completed = True

    async def _process_findings(self, batch: list[Outcome], metrics: Metrics) -> None:
        started = time.perf_counter()
        try:
            await self.finding_writer.write_all(batch, metrics)
        except Exception as exc:  # the writer settles each message itself; this is a bug
            for outcome in batch:
                if not outcome.completed:
                    outcome.error = RetryableError("internal_error", f"{type(exc).__name__}: {exc}")
                    outcome.completed = True
            batch[0].notes.append(traceback.format_exc(limit=5))
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            for outcome in batch:
                outcome.duration_ms = elapsed

    def _report(self, outcomes: list[Outcome], metrics: Metrics, failed: set[str]) -> None:
        for outcome in outcomes:
            metrics.outcomes[outcome.status] += 1
            metrics.dead_letters_without_reason += outcome.dead_letter_without_reason
            self.emit(outcome_line(outcome, outcome.message_id in failed))
        if self.settings.emit_metrics:
            for doc in metrics.emf(self.settings.metrics_namespace):
                self.emit(doc)
