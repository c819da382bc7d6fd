"""Log one image scan: every finding into its severity stream, the SUMMARY event last."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, OrderedDict
from typing import Any

from pipeline import layout
from pipeline.aws.clients import Clients
from pipeline.aws.ecr import ScanFindings, fetch_findings
from pipeline.aws.logs import LogsLimiters, LogsWriter
from pipeline.batching import LogEvent, pack
from pipeline.concurrency import RateLimiter, run_all
from pipeline.config import Settings
from pipeline.events import ImageScan
from pipeline.metrics import Metrics
from pipeline.outcome import Outcome
from pipeline.render import Renderer, image_context, summary_context
from pipeline.timestamps import log_timestamp

# Fully logged images remembered across warm invocations, so that a duplicate delivery in the
# same batch (or soon after) is recognised without reading CloudWatch back.
_DONE_CACHE_SIZE = 10_000


class ImageScanWriter:
    """Writes image scans to CloudWatch Logs. Lives across warm invocations (its caches too)."""

    def __init__(self, settings: Settings, clients: Clients) -> None:
        self.settings = settings
        self.clients = clients
        self.logs = LogsWriter(
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

    def begin(self) -> None:
        self._image_locks.clear()  # no task of an earlier invocation is still running

    async def write(self, scan: ImageScan, outcome: Outcome, metrics: Metrics) -> None:
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
            await self.logs.ensure_group(group)
            # The SUMMARY event is written last: its presence means the image is logged.
            created = await self.logs.ensure_stream(group, summary_stream)
            if not created and await self._summary_written(group, summary_stream, scan):
                outcome.status = "duplicate"
            else:
                await self._write_image(scan, group, tag, summary_stream, outcome, metrics)
            self._remember(key)

    async def _summary_written(self, group: str, stream: str, scan: ImageScan) -> bool:
        """Whether the SUMMARY stream holds this image's event (not another registry's).
        One event per registry that logged this stream: one read sees them all."""
        for message in await self.logs.first_messages(group, stream):
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
        await run_all(
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
        if not await self.logs.ensure_stream(group, stream):
            # A retried message: the stream holds part of the image already. Skip what is
            # there (compared by message text) so the end state is one clean write.
            seen = await self.logs.read_messages(group, stream)
            events = [e for e in events if not _take(seen, e.message)]
        await run_all(self._put(group, stream, batch, metrics) for batch in pack(events))

    async def _put(self, group: str, stream: str, batch: list[LogEvent], metrics: Metrics) -> None:
        async with self._put_slots:
            await self.logs.put(group, stream, batch)
        metrics.put_batches += 1
        metrics.log_events += len(batch)

    def _remember(self, key: str) -> None:
        self._done[key] = None
        self._done.move_to_end(key)
        while len(self._done) > _DONE_CACHE_SIZE:
            self._done.popitem(last=False)


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
