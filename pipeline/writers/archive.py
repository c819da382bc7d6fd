"""Archive what was logged into S3 (``ARCHIVE_BUCKET``): one object per image scan, one per
invocation and repository for finding events. Off when no bucket is set.

Image scans are archived after their findings are logged and before their SUMMARY event: a
failed put fails the message for a retry, and an image whose SUMMARY is logged is never
archived again. The object holds every finding's message (a retry renders them all, even when
it writes only what is missing), then the SUMMARY message.

Finding events are archived after their puts succeeded, grouped by account, region,
repository and UTC day of the events (the ``date`` partition is exact), and named by their
event ids. A retry archives what it logs and what it finds logged by an earlier attempt, so a
redelivered subset lands as another object: readers dedupe finding events by
``imageContext.eventId``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from pipeline import archive
from pipeline.aws.clients import Clients
from pipeline.aws.s3 import ObjectStore
from pipeline.config import Settings
from pipeline.errors import PipelineError, RetryableError
from pipeline.events import ImageScan
from pipeline.metrics import Metrics


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    """One logged finding event, as the archive needs it."""

    account: str | None
    region: str | None
    repository: str
    event_id: str
    timestamp_ms: int  # the event's own time: it picks the date partition
    message: str  # exactly as logged


# About 12 ms of compression a megabyte: beyond this, off the event loop.
_COMPRESS_IN_THREAD_CHARS = 256 * 1024

_Where = tuple[str | None, str | None, str, date]  # account, region, repository, day


class Archiver:
    """Lives across warm invocations, as the writers that hold it do."""

    def __init__(self, store: ObjectStore | None, prefix: str, concurrency: int = 16) -> None:
        self._store = store
        self._prefix = prefix
        self._slots = asyncio.Semaphore(concurrency)

    @classmethod
    def of(cls, settings: Settings, clients: Clients) -> Archiver:
        """The archive the settings ask for (a disabled one without ``ARCHIVE_BUCKET``)."""
        store = None
        if settings.archive_bucket:
            store = ObjectStore(clients.s3, settings.archive_bucket, settings.archive_kms_key_arn)
        return cls(store, settings.archive_prefix, settings.max_concurrent_puts)

    @property
    def enabled(self) -> bool:
        return self._store is not None

    async def scan(
        self,
        scan: ImageScan,
        account: str | None,
        findings: Iterable[str],
        summary: str,
        metrics: Metrics,
    ) -> None:
        """Archive one image scan: its findings' messages, then its SUMMARY message."""
        if self._store is None:
            return
        key = archive.scan_key(
            self._prefix,
            account=account,
            region=scan.region or archive.UNKNOWN,
            repository=scan.repository,
            digest=scan.digest,
            time_ms=scan.timestamp_ms,
        )
        await self._put(key, [*findings, summary], metrics)

    async def finding_events(
        self, events: Sequence[ArchivedEvent], metrics: Metrics
    ) -> list[PipelineError | None]:
        """Archive logged finding events; one result per event: None (archived, or the archive
        is off) or the error that failed its object."""
        results: list[PipelineError | None] = [None] * len(events)
        if self._store is None or not events:
            return results
        groups: dict[_Where, list[int]] = {}
        for index, event in enumerate(events):
            where = (event.account, event.region, event.repository)
            groups.setdefault((*where, archive.utc_day(event.timestamp_ms)), []).append(index)

        async def put(where: _Where, indices: list[int]) -> None:
            # In time order (ties by id), so the same events always give the same bytes.
            members = sorted(indices, key=lambda i: (events[i].timestamp_ms, events[i].event_id))
            account, region, repository, day = where
            key = archive.finding_key(
                self._prefix,
                account=account,
                region=region or archive.UNKNOWN,
                repository=repository,
                day=day,
                event_ids=[events[i].event_id for i in members],
            )
            try:
                await self._put(key, [events[i].message for i in members], metrics)
            except Exception as exc:  # each object fails its own messages, and only those
                err = exc if isinstance(exc, PipelineError) else _internal(exc)
                for i in members:
                    results[i] = err

        await asyncio.gather(*(put(where, indices) for where, indices in groups.items()))
        return results

    async def _put(self, key: archive.ObjectKey, lines: list[str], metrics: Metrics) -> None:
        assert self._store is not None
        if sum(len(line) for line in lines) > _COMPRESS_IN_THREAD_CHARS:
            # zlib releases the GIL: other images' I/O goes on while a large one compresses.
            body = await asyncio.to_thread(archive.encode_lines, lines)
        else:
            body = archive.encode_lines(lines)
        async with self._slots:
            written = await self._store.put_new(key.key, body)
        if written:
            metrics.archive_objects += 1


def _internal(exc: Exception) -> RetryableError:
    return RetryableError("internal_error", f"archive: {type(exc).__name__}: {exc}")
