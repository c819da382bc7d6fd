"""Log one image scan: every finding into its severity stream, the SUMMARY event last.

The order of calls is what makes it safe:
1. the first page of findings: a scan that can never be logged (image or repository gone, scan
   failed) fails here, before anything is created for it;
2. the SUMMARY stream is created: that is the claim on the image (see ``pipeline.claims``);
   if it existed, the image is either logged already (its SUMMARY event is there: a duplicate),
   being logged by another consumer (retry later), or abandoned by a dead one (take over);
3. the other pages, then the severity streams (a stream that exists already is read back and
   only what is missing is written), then the archive object (with ``ARCHIVE_BUCKET``), then
   the notification if the image deserves one, then the SUMMARY event: its presence means
   fully logged (archived and notified).
A failure releases the claim (a permanent one also removes the streams this attempt created),
so nothing is left behind and a retry starts clean.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pipeline import layout, notify
from pipeline.aws.clients import Clients
from pipeline.aws.ecr import ScanFindings, ScanReader
from pipeline.aws.logs import LogGroupMissing, LogsWriter
from pipeline.aws.sns import Notifier
from pipeline.batching import LogEvent, pack
from pipeline.claims import holder
from pipeline.concurrency import RateLimiter, run_all
from pipeline.config import Settings
from pipeline.errors import PermanentError, PipelineError, RetryableError
from pipeline.events import ImageScan
from pipeline.metrics import Metrics
from pipeline.outcome import Outcome
from pipeline.render import Renderer, image_context, summary_context
from pipeline.timestamps import log_timestamp
from pipeline.writers.archive import Archiver

# Fully logged images remembered across warm invocations, so that a duplicate delivery in the
# same batch (or soon after) is recognised without reading CloudWatch back.
_DONE_CACHE_SIZE = 10_000
# A claim is released even when the invocation is cut at its deadline, within this long.
_RELEASE_TIMEOUT_S = 3.0


class _Duplicate(Exception):
    """The image is fully logged already."""


@dataclass(slots=True)
class _Claim:
    """This attempt's hold on an image, and the streams it created."""

    group: str
    summary_stream: str
    stream: str  # the stream whose creation is the claim (the SUMMARY or a CLAIM-…-n stream)
    created: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # dead owners' claims, dropped when done


@dataclass(frozen=True, slots=True)
class _Names:
    group: str
    tag: str
    summary_stream: str

    def stream(self, severity: str, scan: ImageScan) -> str:
        return layout.stream_name(severity, self.tag, scan.digest, scan.time)


class ImageScanWriter:
    """Writes image scans to CloudWatch Logs. Lives across warm invocations (its caches too)."""

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        logs: LogsWriter,
        notifier: Notifier | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.logs = logs
        self.archive = Archiver.of(settings, clients)
        self.notifier = notifier or Notifier(settings, None)  # None: the watch list counts
        self.ecr_limiter = RateLimiter(settings.ecr_findings_rate)
        self._put_slots = asyncio.Semaphore(settings.max_concurrent_puts)
        self._done: OrderedDict[str, None] = OrderedDict()
        self._image_locks: dict[str, asyncio.Lock] = {}

    def begin(self) -> None:
        self._image_locks.clear()  # no task of an earlier invocation is still running

    async def write(self, scan: ImageScan, outcome: Outcome, metrics: Metrics) -> None:
        if scan.region is None:
            # No region in the event or its ARNs: the registry read is the client's default
            # region's, and the image is logged as that region's (never as "no region").
            ecr = await self.clients.ecr(None, scan.account)
            scan = replace(scan, region=ecr.meta.region_name)
        tag = layout.first_tag(scan.tags)
        names = _Names(
            group=layout.log_group_name(self.settings.log_group_prefix, scan.repository),
            tag=tag,
            summary_stream=layout.stream_name(layout.SUMMARY, tag, scan.digest, scan.time),
        )
        # The account and region are part of an image's identity: stream names leave them out,
        # so one image replicated to two registries and scanned in the same second shares them.
        streams = f"{names.group}|{names.summary_stream}"
        key = f"{scan.account}|{scan.region}|{streams}"
        # Messages that write the same streams take turns (a duplicate finds the image done;
        # another registry's copy finds its SUMMARY and claims the image after it).
        async with self._image_locks.setdefault(streams, asyncio.Lock()):
            if key in self._done:
                outcome.status = "duplicate"
                return
            try:
                await self._write_once_more_if_the_group_vanished(scan, names, outcome, metrics)
            except _Duplicate:
                outcome.status = "duplicate"
            self._remember(key)

    async def _write_once_more_if_the_group_vanished(
        self, scan: ImageScan, names: _Names, outcome: Outcome, metrics: Metrics
    ) -> None:
        try:
            await self._write_image(scan, names, outcome, metrics)
        except LogGroupMissing as err:
            # Deleted while cached (or mid-write, taking what was written with it): create it
            # again and write the whole image, within this attempt.
            outcome.notes.append(f"log group recreated: {err.message}")
            self.logs.forget_group(names.group)
            await self._write_image(scan, names, outcome, metrics)

    async def _write_image(
        self, scan: ImageScan, names: _Names, outcome: Outcome, metrics: Metrics
    ) -> None:
        ecr = await self.clients.ecr(scan.region, scan.account)
        reader = ScanReader(
            ecr, scan, page_size=self.settings.findings_page_size, limiter=self.ecr_limiter
        )
        claim = await self._claim(names, scan, reader)
        try:
            # Nothing is left behind for a scan that can never be logged (the image or the
            # repository is gone): the first page says so, and the claim is then released.
            result = await reader.rest()
            await self._write_findings(scan, names, result, claim, outcome, metrics)
        except (Exception, asyncio.CancelledError) as err:
            await self._release(claim, permanent=isinstance(err, PermanentError), outcome=outcome)
            raise
        if claim.stream != names.summary_stream:
            # Taken over and done: the SUMMARY event speaks for the image, claims are noise.
            for stream in (claim.stream, *claim.stale):
                await self._quietly(self.logs.delete_stream(names.group, stream), outcome)

    # ---- the claim -----------------------------------------------------------------------

    async def _create_summary_stream(self, names: _Names, reader: ScanReader) -> bool:
        """Create the SUMMARY stream (True) or find it there (False). A group that does not
        exist is created only after the first page of findings is read: an event for a
        repository that does not exist, or never had a readable scan, leaves no group."""
        group, summary = names.group, names.summary_stream
        created = await self.logs.create_stream_if_group(group, summary)
        if created is not None:
            return created
        await reader.first()
        await self.logs.ensure_group(group)
        return await self.logs.ensure_stream(group, summary)

    async def _claim(self, names: _Names, scan: ImageScan, reader: ScanReader) -> _Claim:
        group, summary = names.group, names.summary_stream
        if await self._create_summary_stream(names, reader):
            return _Claim(group, summary, summary, created=[summary])
        logged = await self._summary_contexts(names)
        if _is_logged(logged, scan):
            raise _Duplicate
        # Begun by someone else: still at it, or dead (then whoever creates the next claim
        # stream first takes over; the others back off). A SUMMARY stream that holds another
        # registry's event (the same image replicated) is that registry's finished claim.
        streams = [] if logged else await self.logs.streams(group, summary)
        streams += await self.logs.streams(group, layout.claim_stream_prefix(summary))
        held = holder(summary, streams)
        now_ms = int(time.time() * 1000)
        if held is None and not logged:  # released since we looked: claim it afresh
            if await self.logs.ensure_stream(group, summary):
                return _Claim(group, summary, summary, created=[summary])
            raise _claimed("another consumer claimed it a moment ago")
        generation = 0
        if held is not None:
            if held.is_fresh(now_ms, self.settings.claim_timeout_seconds * 1000):
                since = _iso(held.created_ms)
                raise _claimed(f"another consumer has been logging it since {since}")
            if held.generation >= layout.MAX_TAKEOVERS:
                raise _claimed(f"taken over {held.generation} times already")
            generation = held.generation
        stream = layout.claim_stream(summary, generation + 1)
        if not await self.logs.ensure_stream(group, stream):
            raise _claimed("another consumer took it over a moment ago")
        stale = [s["logStreamName"] for s in streams if s["logStreamName"] != summary]
        return _Claim(group, summary, stream, created=[stream], stale=stale)

    async def _release(self, claim: _Claim, *, permanent: bool, outcome: Outcome) -> None:
        """Give the image back: its claim, and for a permanent failure every stream this
        attempt created (a retry keeps them: it resumes where this one stopped)."""
        streams = claim.created if permanent else [claim.stream]
        try:
            async with asyncio.timeout(_RELEASE_TIMEOUT_S):
                for stream in streams:
                    await self._quietly(self.logs.delete_stream(claim.group, stream), outcome)
        except TimeoutError:
            outcome.notes.append("claim not released in time: it lapses after the timeout")

    async def _quietly(self, call: Any, outcome: Outcome) -> None:
        try:
            await call
        except PipelineError as err:
            outcome.notes.append(f"clean-up failed: {err.message}")

    async def _summary_contexts(self, names: _Names) -> list[dict[str, Any] | None]:
        """The image contexts of the SUMMARY stream's events (None: an event without one).
        One event per registry that logged this stream: one read sees them all."""
        try:
            messages = await self.logs.first_messages(names.group, names.summary_stream)
        except LogGroupMissing:
            return []
        return [summary_context(message) for message in messages]

    # ---- the findings --------------------------------------------------------------------

    async def _write_findings(
        self,
        scan: ImageScan,
        names: _Names,
        result: ScanFindings,
        claim: _Claim,
        outcome: Outcome,
        metrics: Metrics,
    ) -> None:
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
            self._write_stream(names.group, names.stream(severity, scan), events, claim, metrics)
            for severity, events in streams.items()
        )
        summary = renderer.summary(summary_fields(result, severities))
        # Archived before the SUMMARY event: a failed put fails the message for a retry, and an
        # image whose SUMMARY is logged is never archived again. Every message, even when a
        # retry wrote only what was missing. Before the notification, so that a failed archive
        # write does not make its retry notify twice.
        logged = (event.message for events in streams.values() for event in events)
        await self.archive.scan(scan, context["account"], logged, summary.text, metrics)
        # Notified before the SUMMARY event: a failed publish retries the whole image (and
        # notifies again), a redelivery of a logged image finds its SUMMARY and sends nothing.
        picked = notify.select(self.notifier.policy, result.findings)
        notice = notify.scan_notice(context, names.group, picked.entries, severities)
        await self.notifier.send(notice, metrics)
        await self._put(
            names.group, names.summary_stream, [LogEvent(ts, summary.text, summary.size)], metrics
        )
        outcome.findings = len(result.findings)
        metrics.findings.update(severities)
        metrics.count_watched(picked.watched)

    async def _write_stream(
        self, group: str, stream: str, events: list[LogEvent], claim: _Claim, metrics: Metrics
    ) -> None:
        if await self.logs.ensure_stream(group, stream):
            claim.created.append(stream)
        else:
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


def _is_logged(contexts: list[dict[str, Any] | None], scan: ImageScan) -> bool:
    """Whether one of the SUMMARY events is this image's (not another registry's)."""
    for context in contexts:
        if context is None or scan.account is None:
            return True
        if context.get("account") == scan.account and context.get("region") == scan.region:
            return True
    return False


def _claimed(why: str) -> RetryableError:
    return RetryableError("image_claimed", f"not written now: {why}; retried later")


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _take(seen: Counter[str], message: str) -> bool:
    if seen[message] > 0:
        seen[message] -= 1
        return True
    return False


def summary_fields(result: ScanFindings, severities: Counter[str]) -> dict[str, Any]:
    """The SUMMARY event: the AWS sample's severity counts map at top level (metric filters
    such as ``{ $.CRITICAL > 0 }`` read it), with what we add beside it."""
    return {
        **result.severity_counts,
        "imageScanStatus": result.status,
        "imageScanCompletedAt": result.completed_at,
        "vulnerabilitySourceUpdatedAt": result.vulnerability_source_updated_at,
        "findingsLogged": sum(severities.values()),
        "findingsLoggedBySeverity": dict(severities),
    }
