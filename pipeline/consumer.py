"""Orchestration of one invocation: decode → fetch → render → pack → write → settle."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from pipeline import layout
from pipeline.aws.clients import Clients
from pipeline.aws.ecr import ScanFindings, fetch_findings
from pipeline.aws.logs import LogsLimiters, LogsWriter
from pipeline.batching import LogEvent, pack
from pipeline.concurrency import RateLimiter
from pipeline.config import Settings
from pipeline.errors import PermanentError, PipelineError, RetryableError
from pipeline.events import ImageScan, decode
from pipeline.metrics import Metrics, write_json_line
from pipeline.render import Renderer, image_context, summary_context
from pipeline.settle import Outcome, decide, settle
from pipeline.timestamps import log_timestamp

# Fully logged images remembered across warm invocations, so that a duplicate delivery in the
# same batch (or soon after) is recognised without reading CloudWatch back.
_DONE_CACHE_SIZE = 10_000


class LambdaContext(Protocol):
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


async def _all(coros: Iterable[Awaitable[None]]) -> None:
    """Run concurrently; on failure cancel the rest and raise the first error itself."""
    try:
        async with asyncio.TaskGroup() as group:
            for coro in coros:
                group.create_task(coro)  # type: ignore[arg-type]
    except BaseExceptionGroup as eg:
        errors: list[BaseException] = list(eg.exceptions)
        permanent: list[BaseException] = [e for e in errors if isinstance(e, PermanentError)]
        raise (permanent or errors)[0] from None


class Consumer:
    """Processes SQS batches. One instance lives across warm invocations."""

    def __init__(self, settings: Settings, clients: Clients) -> None:
        self.settings = settings
        self.clients = clients
        self.writer = LogsWriter(
            clients.logs,
            LogsLimiters(
                put=settings.put_log_events_rate,
                create_stream=settings.create_log_stream_rate,
                create_group=settings.create_log_group_rate,
                get_events=settings.get_log_events_rate,
            ),
            retention_days=settings.log_retention_days,
            kms_key_arn=settings.log_kms_key_arn,
        )
        self.ecr_limiter = RateLimiter(settings.ecr_findings_rate)
        self._put_slots = asyncio.Semaphore(settings.max_concurrent_puts)
        self._done: OrderedDict[str, None] = OrderedDict()
        self._image_locks: dict[str, asyncio.Lock] = {}
        self.emit: Callable[[dict[str, Any]], None] = write_json_line

    # ---- one invocation -------------------------------------------------------------------

    async def consume(
        self, event: Mapping[str, Any], context: LambdaContext | None
    ) -> dict[str, list[dict[str, str]]]:
        metrics = self.clients.metrics = Metrics()
        self._image_locks.clear()  # no task of an earlier invocation is still running
        loop = asyncio.get_running_loop()
        deadline = None
        if context is not None:
            budget_ms = context.get_remaining_time_in_millis() - self.settings.deadline_margin_ms
            deadline = loop.time() + budget_ms / 1000

        outcomes = [_outcome(record) for record in event.get("Records") or ()]
        slots = asyncio.Semaphore(self.settings.max_concurrent_images)
        tasks: dict[asyncio.Task[None], Outcome] = {}

        async def run(outcome: Outcome) -> None:
            try:
                await self._process(outcome, metrics)
            finally:
                slots.release()

        for outcome in outcomes:
            if outcome.error is not None:
                continue  # rejected while decoding
            # Take a slot before creating the task, so at most N exist; stop starting work
            # once the deadline is near.
            if not await _acquire_before(slots, deadline, loop):
                break
            tasks[asyncio.create_task(run(outcome))] = outcome
        if tasks:
            timeout = None if deadline is None else max(deadline - loop.time(), 0)
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
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

        response = await settle(outcomes, self.clients.sqs, self.settings.dead_letter_queue_url)
        self._report(outcomes, metrics, response)
        return response

    # ---- one message ----------------------------------------------------------------------

    async def _process(self, outcome: Outcome, metrics: Metrics) -> None:
        started = time.perf_counter()
        assert outcome.scan is not None
        try:
            await self._log_image(outcome.scan, outcome, metrics)
        except PipelineError as err:
            outcome.error = err
        except Exception as exc:  # a bug must not take the batch down with it
            outcome.error = RetryableError("internal_error", f"{type(exc).__name__}: {exc}")
            outcome.notes.append(traceback.format_exc(limit=5))
        finally:
            outcome.duration_ms = (time.perf_counter() - started) * 1000
        # Not reached when cancelled at the deadline: such a message is reported unfinished.
        outcome.completed = True

    async def _log_image(self, scan: ImageScan, outcome: Outcome, metrics: Metrics) -> None:
        group = layout.log_group_name(self.settings.log_group_prefix, scan.repository)
        tag = layout.first_tag(scan.tags)
        summary_stream = layout.stream_name(layout.SUMMARY, tag, scan.digest, scan.time)
        # The account and region are part of an image's identity: stream names leave them out,
        # so one image replicated to two registries and scanned in the same second shares them.
        key = f"{scan.account}|{scan.region}|{group}|{summary_stream}"
        # Two messages for one image in a batch take turns; the second finds it done.
        async with self._image_locks.setdefault(key, asyncio.Lock()):
            if key in self._done:
                outcome.status = "duplicate"
                return
            await self.writer.ensure_group(group)
            # The SUMMARY event is written last: its presence means the image is logged.
            created = await self.writer.ensure_stream(group, summary_stream)
            if not created and await self._summary_written(group, summary_stream, scan):
                outcome.status = "duplicate"
            else:
                await self._write_image(scan, group, tag, summary_stream, outcome, metrics)
            self._remember(key)

    async def _summary_written(self, group: str, stream: str, scan: ImageScan) -> bool:
        """Whether the SUMMARY stream holds this image's event (not another registry's).
        One event per registry that logged this stream: one read sees them all."""
        for message in await self.writer.first_messages(group, stream):
            context = summary_context(message)
            if context is None or scan.account is None:
                return True
            if context.get("account") == scan.account and context.get("region") == scan.region:
                return True
        return False

    async def _write_image(
        self,
        scan: ImageScan,
        group: str,
        tag: str,
        summary_stream: str,
        outcome: Outcome,
        metrics: Metrics,
    ) -> None:
        ecr = await self.clients.ecr(scan.region, scan.account)
        result = await fetch_findings(
            ecr, scan, page_size=self.settings.findings_page_size, limiter=self.ecr_limiter
        )
        context = image_context(
            scan, account=scan.account or result.registry_id, region=scan.region
        )
        renderer = Renderer(context)
        ts = log_timestamp(
            scan.timestamp_ms, int(time.time() * 1000), self.settings.log_retention_days
        )

        streams: dict[str, list[LogEvent]] = {}
        severities: Counter[str] = Counter()
        for finding in result.findings:
            severity = layout.normalize_severity(finding.get("severity"))
            message = renderer.finding(finding)
            streams.setdefault(severity, []).append(LogEvent(ts, message.text, message.size))
            severities[severity] += 1
        await _all(
            self._write_stream(
                group, layout.stream_name(severity, tag, scan.digest, scan.time), events, metrics
            )
            for severity, events in streams.items()
        )
        summary = renderer.summary(_summary_fields(result, severities))
        await self._put(group, summary_stream, [LogEvent(ts, summary.text, summary.size)], metrics)
        outcome.findings = len(result.findings)
        metrics.findings.update(severities)

    async def _write_stream(
        self, group: str, stream: str, events: list[LogEvent], metrics: Metrics
    ) -> None:
        if not await self.writer.ensure_stream(group, stream):
            # A retried message: the stream holds part of the image already. Skip what is
            # there (compared by message text) so the end state is one clean write.
            seen = await self.writer.read_messages(group, stream)
            events = [e for e in events if not _take(seen, e.message)]
        await _all(self._put(group, stream, batch, metrics) for batch in pack(events))

    async def _put(self, group: str, stream: str, batch: list[LogEvent], metrics: Metrics) -> None:
        async with self._put_slots:
            await self.writer.put(group, stream, batch)
        metrics.put_batches += 1
        metrics.log_events += len(batch)

    def _remember(self, key: str) -> None:
        self._done[key] = None
        self._done.move_to_end(key)
        while len(self._done) > _DONE_CACHE_SIZE:
            self._done.popitem(last=False)

    # ---- reporting ------------------------------------------------------------------------

    def _report(
        self, outcomes: list[Outcome], metrics: Metrics, response: dict[str, list[dict[str, str]]]
    ) -> None:
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for o in outcomes:
            metrics.outcomes[o.status] += 1
            scan = o.scan
            line: dict[str, Any] = {
                "level": "INFO" if o.status in ("done", "duplicate") else "WARNING",
                "messageId": o.message_id,
                "outcome": o.status,
                "reason": o.error.code if o.error else None,
                "detail": o.error.message if o.error else None,
                "repository": scan.repository if scan else None,
                "imageDigest": scan.digest if scan else None,
                "imageTag": layout.first_tag(scan.tags) if scan else None,
                "findings": o.findings,
                "durationMs": round(o.duration_ms, 1),
                "receiveCount": o.receive_count,
                "keptOnQueue": o.message_id in failed,
            }
            if o.notes:
                line["notes"] = o.notes
            self.emit(line)
        if self.settings.emit_metrics:
            for doc in metrics.emf(self.settings.metrics_namespace):
                self.emit(doc)


def _outcome(record: Mapping[str, Any]) -> Outcome:
    attributes = record.get("attributes") or {}
    try:
        receive_count = int(attributes.get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        receive_count = 1
    body = record.get("body")
    outcome = Outcome(
        message_id=str(record.get("messageId", "")),
        body=body if isinstance(body, str) else "",
        receive_count=receive_count,
    )
    if not isinstance(body, str) or not body:
        outcome.error = PermanentError("not_an_event", "SQS record has no body")
        return outcome
    try:
        outcome.scan = decode(body)
    except PipelineError as err:
        outcome.error = err
    return outcome


async def _acquire_before(
    slots: asyncio.Semaphore, deadline: float | None, loop: asyncio.AbstractEventLoop
) -> bool:
    if deadline is None:
        await slots.acquire()
        return True
    try:
        await asyncio.wait_for(slots.acquire(), timeout=max(deadline - loop.time(), 0))
    except TimeoutError:
        return False
    return loop.time() < deadline


def _take(seen: Counter[str], message: str) -> bool:
    if seen[message] > 0:
        seen[message] -= 1
        return True
    return False


def _summary_fields(result: ScanFindings, severities: Counter[str]) -> dict[str, Any]:
    return {
        "findingSeverityCounts": result.severity_counts,
        "imageScanStatus": result.status,
        "imageScanCompletedAt": result.completed_at,
        "vulnerabilitySourceUpdatedAt": result.vulnerability_source_updated_at,
        "findingsLogged": sum(severities.values()),
        "findingsLoggedBySeverity": dict(severities),
    }
