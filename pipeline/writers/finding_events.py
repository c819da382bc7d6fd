"""Log a batch's finding events ("Inspector2 Finding"): one log event per finding event.

All finding events of one SQS batch are written together, because at volume the cost is in
the calls: each goes to its repository's group, into that group's stream of the UTC day
(``FINDING-EVENTS-<YYYY-MM-DD>``; at most one new stream per repository per day), and the
events of a whole batch that share a stream are packed into the fewest PutLogEvents calls.

A message is done when the put holding its event succeeded; a failed put fails only the
messages in it. The same event (same EventBridge ``id``) is logged once:
- twice in one batch: the later copy is acknowledged as a duplicate;
- logged earlier by this container: remembered (bounded), acknowledged as a duplicate;
- redelivered (receive count > 1: an earlier attempt may have written it): the day stream is
  read back in the window of those messages' timestamps and ids found there are skipped.

Findings that become ACTIVE at or above NOTIFY_MIN_SEVERITY (or naming a watched
vulnerability) are notified per image just before their puts: the logged event is what makes
a redelivery a duplicate, so a notification after it could never be retried. A failed publish
fails that image's notified messages, unwritten; their retry notifies again.
"""

from __future__ import annotations

import asyncio
import functools
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Container, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from pipeline import layout, notify
from pipeline.aws.clients import Clients
from pipeline.aws.logs import LogsWriter
from pipeline.aws.sns import Notifier
from pipeline.batching import LogEvent, pack
from pipeline.config import Settings
from pipeline.errors import PipelineError, RetryableError
from pipeline.events import FindingEvent
from pipeline.finding_time import parse_finding_time
from pipeline.metrics import Metrics
from pipeline.outcome import Outcome
from pipeline.render import CONTEXT_KEY, finding_message
from pipeline.timestamps import DAY_MS, log_timestamp
from pipeline.writers.archive import ArchivedEvent, Archiver

# Event ids this container logged, and the last known state of findings it saw.
_LOGGED_IDS_MAX = 100_000
_FINDING_STATES_MAX = 100_000
_KNOWN_STREAMS_MAX = 10_000
EVENT_KIND = "finding"

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def dedupe(
    items: Iterable[T], key: Callable[[T], str], known: Container[str] = ()
) -> tuple[list[T], list[T]]:
    """Split ``items`` into the first occurrence of each key not in ``known`` (kept, in order)
    and everything else (duplicates, in order)."""
    kept: list[T] = []
    duplicates: list[T] = []
    seen: set[str] = set()
    for item in items:
        k = key(item)
        if k in seen or k in known:
            duplicates.append(item)
        else:
            seen.add(k)
            kept.append(item)
    return kept, duplicates


def group_chronologically(
    items: Iterable[T], group: Callable[[T], K], timestamp: Callable[[T], int]
) -> dict[K, list[T]]:
    """Items by group, each group in timestamp order (ties keep their order: a stable sort),
    as PutLogEvents needs them."""
    groups: dict[K, list[T]] = {}
    for item in items:
        groups.setdefault(group(item), []).append(item)
    return {k: sorted(v, key=timestamp) for k, v in groups.items()}


_GMTIME_MAX_MS = 253_402_300_800_000  # 10000-01-01: four-digit years only


def iso_ms(epoch_ms: int) -> str:
    if 0 <= epoch_ms < _GMTIME_MAX_MS:
        return f"{_iso_second(epoch_ms // 1000)}{epoch_ms % 1000:03d}Z"
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


# Cached: a burst's updates share their seconds. strftime is the slow part.
@functools.lru_cache(maxsize=1024)
def _iso_second(epoch_s: int) -> str:
    t = time.gmtime(epoch_s)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}."
    )


@functools.lru_cache(maxsize=64)
def _day_stream(day: int) -> str:
    """The day stream of every timestamp of that UTC day (``timestamp // DAY_MS``)."""
    return layout.finding_events_stream(day * DAY_MS)


def finding_context(finding: FindingEvent, region: str | None) -> dict[str, Any]:
    """The image context of a finding event's log event, with the event's own identity."""
    return {
        "account": finding.account,
        "region": region,
        "repository": finding.repository,
        "imageDigest": finding.digest,
        "imageTags": list(finding.tags),
        "eventKind": EVENT_KIND,
        "eventId": finding.event_id,
        "eventTime": finding.time,
        "updatedAt": iso_ms(finding.updated_at_ms),  # detail.updatedAt, as ISO 8601
    }


def logged_event_id(message: str) -> str | None:
    """The event id of a finding event's log message (None: not one of ours)."""
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    key = CONTEXT_KEY
    while key in data:  # a finding with its own "imageContext" pushes ours to "_imageContext"
        context = data[key]
        if isinstance(context, dict) and context.get("eventKind") == EVENT_KIND:
            event_id = context.get("eventId")
            return event_id if isinstance(event_id, str) else None
        key = "_" + key
    return None


# An update this long after the finding was first observed is not its creation: after a cold
# start, a re-scored long-standing finding must not count (or notify) as a new one.
NEW_FINDING_WINDOW_MS = 60 * 60 * 1000


def first_observed_now(finding: FindingEvent) -> bool:
    """Whether this change is the finding's creation, by its ``firstObservedAt`` (an event
    without a readable one is taken for a creation, as before)."""
    try:
        first = parse_finding_time(finding.detail.get("firstObservedAt"))
    except ValueError:
        return True
    return finding.updated_at_ms - first <= NEW_FINDING_WINDOW_MS


@dataclass(slots=True)
class _Item:
    outcome: Outcome
    finding: FindingEvent
    group: str
    stream: str
    event: LogEvent
    region: str | None
    logged: bool = False  # by this attempt, or found logged by a redelivery's read-back
    duplicate: bool = False  # found logged: an earlier attempt wrote it


class FindingEventWriter:
    """Writes the finding events of a batch. Lives across warm invocations (its memory too)."""

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        logs: LogsWriter,
        notifier: Notifier | None = None,
    ):
        self.settings = settings
        self.clients = clients
        self.logs = logs
        self.archive = Archiver.of(settings, clients)
        self.notifier = notifier or Notifier(settings, None)  # None: the watch list counts
        self._put_slots = asyncio.Semaphore(settings.max_concurrent_puts)
        self._logged: OrderedDict[str, None] = OrderedDict()
        self._states: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self._streams: set[tuple[str, str]] = set()

    async def write_all(self, outcomes: Sequence[Outcome], metrics: Metrics) -> None:
        """Log every finding event of the batch; each outcome is completed (or errs) on its own."""
        kept, duplicates = dedupe(outcomes, _event_id, self._logged)
        for outcome in duplicates:
            _finish(outcome, duplicate=True)
        now_ms = int(time.time() * 1000)
        # No region in the event or its ARNs: logged as the client's region, as scans are.
        meta = getattr(self.clients.logs, "meta", None)
        client_region = getattr(meta, "region_name", None)
        items: list[_Item] = []
        for outcome in kept:
            try:
                items.append(self._item(outcome, now_ms, client_region))
            except Exception as exc:  # a bug must not take the other messages with it
                _fail([outcome], _internal(exc, outcome))
        streams = group_chronologically(
            items, lambda i: (i.group, i.stream), lambda i: i.event.timestamp
        )
        await asyncio.gather(
            *(self._write_stream(g, s, batch, metrics) for (g, s), batch in streams.items())
        )
        await self._archive(items, metrics)

    def _item(self, outcome: Outcome, now_ms: int, client_region: str | None) -> _Item:
        finding = outcome.finding
        assert finding is not None
        region = finding.region or client_region
        ts = log_timestamp(
            finding.timestamp_ms, now_ms, self.settings.log_retention_days, outcome.sent_ms
        )
        message = finding_message(finding.detail, finding_context(finding, region))
        return _Item(
            outcome=outcome,
            finding=finding,
            group=layout.log_group_name(self.settings.log_group_prefix, finding.repository),
            stream=_day_stream(ts // DAY_MS),
            event=LogEvent(ts, message.text, message.size),
            region=region,
        )

    async def _archive(self, items: list[_Item], metrics: Metrics) -> None:
        """Archive what is logged: by this attempt, or found logged by a redelivery (its
        earlier attempt may have failed to archive it). A failed object fails its messages."""
        if not self.archive.enabled:
            return
        logged = [i for i in items if i.logged and not i.outcome.completed]
        events = [
            ArchivedEvent(
                i.finding.account,
                i.region,
                i.finding.repository,
                i.finding.event_id,
                i.finding.timestamp_ms,
                i.event.message,
            )
            for i in logged
        ]
        for item, error in zip(
            logged, await self.archive.finding_events(events, metrics), strict=True
        ):
            if error is not None:
                self._logged.pop(item.finding.event_id, None)  # a retry reads it back instead
                _fail([item.outcome], error)
            else:
                _finish(item.outcome, duplicate=item.duplicate)

    async def _write_stream(
        self, group: str, stream: str, items: list[_Item], metrics: Metrics
    ) -> None:
        try:
            items = await self._not_logged_yet(group, stream, items)
        except PipelineError as err:
            _fail([i.outcome for i in items], err)
            return
        except Exception as exc:
            _fail([i.outcome for i in items], _internal(exc, items[0].outcome))
            return
        items = await self._notify(group, stream, items, metrics)
        batches: list[list[_Item]] = []
        rest = items
        for batch in pack(i.event for i in items):
            batches.append(rest[: len(batch)])
            rest = rest[len(batch) :]
        if len(batches) == 1:  # the usual case: no task to spare
            await self._put(group, stream, batches[0], metrics)
        else:
            await asyncio.gather(*(self._put(group, stream, b, metrics) for b in batches))

    async def _not_logged_yet(self, group: str, stream: str, items: list[_Item]) -> list[_Item]:
        """Make sure the stream exists; for redelivered messages, drop the events an earlier
        attempt logged already (read back in the window of their timestamps)."""
        if not await self._ensure_stream(group, stream):
            return items
        redelivered = [i for i in items if i.outcome.receive_count > 1]
        if not redelivered:
            return items
        start = min(i.event.timestamp for i in redelivered)
        end = max(i.event.timestamp for i in redelivered) + 1  # endTime is exclusive
        messages = await self.logs.messages_between(group, stream, start, end)
        present = {logged_event_id(m) for m in messages}
        fresh = []
        for item in items:
            if item.finding.event_id in present:
                item.duplicate = True
                self._logged_now(item)
                self._remember(item.finding.event_id)
            else:
                fresh.append(item)
        return fresh

    async def _notify(
        self, group: str, stream: str, items: list[_Item], metrics: Metrics
    ) -> list[_Item]:
        """Notify, one message per image, the changes worth it; the items still to write (an
        image whose publish failed has its notified messages failed instead)."""
        if not self.notifier.policy.enabled:
            return items
        # A change a later one of the same batch supersedes (created, then closed) is not news.
        latest: dict[str, int] = {}
        for i in items:
            arn, at = i.finding.finding_arn, i.finding.updated_at_ms
            latest[arn] = max(at, latest.get(arn, at))
        changes = [
            (
                i.finding,
                i.region,
                i.finding.updated_at_ms >= latest[i.finding.finding_arn]
                and self._would_become_active(i.finding),
            )
            for i in items
        ]
        failed: set[int] = set()

        async def send(notice: notify.Notice, which: list[int]) -> None:
            try:
                await self.notifier.send(notice, metrics)
            except PipelineError as err:
                _fail([items[k].outcome for k in which], err)
                failed.update(which)

        notices = notify.events_notices(self.notifier.policy, group, stream, changes)
        await asyncio.gather(*(send(notice, which) for notice, which in notices))
        return [item for k, item in enumerate(items) if k not in failed]

    async def _ensure_stream(self, group: str, stream: str) -> bool:
        """True when the stream may hold events already (it existed before this call)."""
        if (group, stream) in self._streams:
            return True
        # The group usually exists (the image's scan was logged into it): probe with the
        # stream's creation, and create the group only when that finds none.
        created = await self.logs.create_stream_if_group(group, stream)
        if created is None:
            await self.logs.ensure_group(group)
            created = await self.logs.ensure_stream(group, stream)
        if len(self._streams) >= _KNOWN_STREAMS_MAX:
            self._streams.clear()
        self._streams.add((group, stream))
        return not created

    async def _put(self, group: str, stream: str, batch: list[_Item], metrics: Metrics) -> None:
        outcomes = [i.outcome for i in batch]
        try:
            async with self._put_slots:
                await self.logs.put(group, stream, [i.event for i in batch])
        except PipelineError as err:
            if err.code == "log_group_missing":
                # Deleted under us: create it (and the stream) again on the next delivery.
                self._streams.discard((group, stream))
            _fail(outcomes, err)
            return
        except Exception as exc:
            _fail(outcomes, _internal(exc, outcomes[0]))
            return
        metrics.put_batches += 1
        metrics.log_events += len(batch)
        watch = self.notifier.policy.watch
        if watch:
            metrics.count_watched(watch.watched_in(i.finding.detail) for i in batch)
        for item in batch:
            finding = item.finding
            self._remember(finding.event_id)
            metrics.finding_events[finding.status] += 1
            if self._becomes_active(finding):
                metrics.findings[finding.severity] += 1
            if finding.status == "CLOSED":
                metrics.findings_closed[finding.severity] += 1
            item.outcome.findings = 1
            self._logged_now(item)

    def _logged_now(self, item: _Item) -> None:
        """The item's event is in its stream. Its message is done now, or, with the archive on,
        once its object is written: a message cut off (deadline) before that is retried."""
        item.logged = True
        if not self.archive.enabled:
            _finish(item.outcome, duplicate=item.duplicate)

    def _would_become_active(self, finding: FindingEvent) -> bool:
        """Whether this change makes the finding ACTIVE as far as this container knows (a new
        or reopened finding). An update older than the one known changes nothing."""
        known = self._states.get(finding.finding_arn)
        if known is not None and known[1] > finding.updated_at_ms:
            return False
        if known is None:  # unknown here (a cold start): new only if Inspector just found it
            return finding.status == "ACTIVE" and first_observed_now(finding)
        return finding.status == "ACTIVE" and known[0] != "ACTIVE"

    def _becomes_active(self, finding: FindingEvent) -> bool:
        """``_would_become_active``, and this change is now the one known."""
        becomes = self._would_become_active(finding)
        known = self._states.get(finding.finding_arn)
        if known is not None and known[1] > finding.updated_at_ms:
            return False
        self._states[finding.finding_arn] = (finding.status, finding.updated_at_ms)
        self._states.move_to_end(finding.finding_arn)
        while len(self._states) > _FINDING_STATES_MAX:
            self._states.popitem(last=False)
        return becomes

    def _remember(self, event_id: str) -> None:
        self._logged[event_id] = None
        self._logged.move_to_end(event_id)
        while len(self._logged) > _LOGGED_IDS_MAX:
            self._logged.popitem(last=False)


def _event_id(outcome: Outcome) -> str:
    assert outcome.finding is not None
    return outcome.finding.event_id


def _finish(outcome: Outcome, *, duplicate: bool = False) -> None:
    if duplicate:
        outcome.status = "duplicate"
    outcome.completed = True


def _fail(outcomes: Iterable[Outcome], error: PipelineError) -> None:
    for outcome in outcomes:
        outcome.error = error
        outcome.completed = True


def _internal(exc: Exception, outcome: Outcome) -> RetryableError:
    outcome.notes.append(traceback.format_exc(limit=5))
    return RetryableError("internal_error", f"{type(exc).__name__}: {exc}")
