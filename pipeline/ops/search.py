"""Which images have a vulnerability now: every findings log group searched, concurrently and
under quota, and what is logged merged into each finding's current state.

Two kinds of record name the vulnerability: the findings of scan snapshots (severity streams)
and finding events (``FINDING-EVENTS-<day>`` streams); both carry the finding's fields at top
level, so one filter pattern finds both. A snapshot that no longer lists the vulnerability has
no record that names it: so in every group with a hit the SUMMARY events are read as well
(one per logged scan), to know each image's latest scan. Then ``pipeline.ops.current`` decides
(latest evidence wins; a newer scan supersedes older ones).

FilterLogEvents is the default: it pages through one group at a time, so groups are searched
in parallel threads that share one rate limiter. Logs Insights scans up to 50 groups per query
and is faster for many large groups, but is billed per GB scanned.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pipeline import layout
from pipeline.concurrency import BlockingRateLimiter
from pipeline.ops import current as state
from pipeline.ops.current import ACTIVE, Evidence, Snapshot
from pipeline.ops.hits import Hit, hits_of, status_rank
from pipeline.ops.logread import INSIGHTS_MAX_GROUPS, INSIGHTS_MAX_RESULTS, Logged, LogReader

Engine = Literal["filter", "insights"]
_SUMMARY_PREFIX = f"{layout.SUMMARY}-"


def filter_pattern(vulnerability_id: str) -> str:
    """A JSON filter pattern matching basic and enhanced findings, and finding events (their
    ``detail`` is at top level), for the id."""
    return (
        f'{{ ($.name = "{vulnerability_id}") || '
        f'($.packageVulnerabilityDetails.vulnerabilityId = "{vulnerability_id}") }}'
    )


def insights_query(vulnerability_id: str) -> str:
    return (
        "fields @message, @log, @logStream"
        f' | filter name = "{vulnerability_id}"'
        f' or packageVulnerabilityDetails.vulnerabilityId = "{vulnerability_id}"'
        f" | limit {INSIGHTS_MAX_RESULTS}"
    )


def insights_summaries_query() -> str:
    return (
        "fields @message, @log, @logStream"
        f" | filter @logStream like /^{layout.SUMMARY}-/"
        f" | limit {INSIGHTS_MAX_RESULTS}"
    )


@dataclass
class SearchResult:
    vulnerability_id: str
    statuses: tuple[str, ...] | None = (ACTIVE,)  # None: any
    groups: int = 0
    events: int = 0  # events the server returned (before the local check)
    hits: list[Hit] = field(default_factory=list)  # the rows shown
    # Images by the current status of the vulnerability in them, whether shown or not (one
    # with it ACTIVE in one package and CLOSED in another counts as ACTIVE).
    images_by_status: dict[str, int] = field(default_factory=dict)
    # The same for the images not shown at all (the status filter left them out).
    hidden: dict[str, int] = field(default_factory=dict)
    truncated_groups: list[str] = field(default_factory=list)  # Insights hit its row limit

    @property
    def images(self) -> int:
        return len({h.image for h in self.hits})

    @property
    def repositories(self) -> int:
        return len({(h.account, h.region, h.repository) for h in self.hits})

    @property
    def accounts(self) -> list[str]:
        return sorted({h.account for h in self.hits if h.account})

    def as_json(self) -> dict[str, Any]:
        return {
            "vulnerability_id": self.vulnerability_id,
            "statuses": list(self.statuses) if self.statuses is not None else ["all"],
            "log_groups_searched": self.groups,
            "images": self.images,
            "repositories": self.repositories,
            "images_by_status": self.images_by_status,
            "images_not_shown_by_status": self.hidden,
            "hits": [h.as_json() for h in self.hits],
            "truncated_log_groups": self.truncated_groups,
        }


def _count(statuses: Iterable[str]) -> dict[str, int]:
    counts = Counter(statuses)
    return dict(sorted(counts.items(), key=lambda item: (status_rank(item[0]), item[0])))


@dataclass
class _Found:
    events: int = 0
    evidences: list[Evidence] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)


@dataclass
class Searcher:
    logs: Any
    log_group_prefix: str
    rate: float = 4.0  # calls per second, under the 5 TPS FilterLogEvents quota
    concurrency: int = 4
    poll_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._limit = BlockingRateLimiter(self.rate)
        self._reader = LogReader(self.logs, self._limit, self.poll_seconds, self.sleep)

    def log_groups(self) -> list[str]:
        groups: list[str] = []
        paginator = self.logs.get_paginator("describe_log_groups")
        for page in paginator.paginate(logGroupNamePrefix=self.log_group_prefix):
            self._limit.acquire()
            groups.extend(str(g["logGroupName"]) for g in page.get("logGroups", []))
        return groups

    def search(
        self,
        vulnerability_id: str,
        *,
        since: datetime | None = None,
        engine: Engine = "filter",
        statuses: Collection[str] | None = (ACTIVE,),
        all_scans: bool = False,
        on_groups: Callable[[int], None] | None = None,
        on_group_done: Callable[[str], None] | None = None,
    ) -> SearchResult:
        """The images whose current findings include ``vulnerability_id`` in one of
        ``statuses`` (None: any); ``all_scans``: every logged record of it instead (scans and
        finding events, oldest state included), filtered by status too."""
        wanted = None if statuses is None else tuple(statuses)
        groups = self.log_groups()
        if on_groups:
            on_groups(len(groups))
        result = SearchResult(vulnerability_id, statuses=wanted, groups=len(groups))
        since_ms = int(since.timestamp() * 1000) if since else None
        size = 1 if engine == "filter" else INSIGHTS_MAX_GROUPS
        units = [groups[i : i + size] for i in range(0, len(groups), size)]

        def work(unit: list[str]) -> _Found:
            if engine == "filter":
                return self._filter_group(unit[0], vulnerability_id, since_ms)
            return self._insights(unit, vulnerability_id, since_ms)

        found = _Found()
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            for unit, part in zip(units, pool.map(work, units), strict=True):
                found.events += part.events
                found.evidences += part.evidences
                found.snapshots += part.snapshots
                found.truncated += part.truncated
                if on_group_done:
                    for group in unit:
                        on_group_done(group)
        result.events, result.truncated_groups = found.events, found.truncated
        evidences, snapshots = state.attribute_registries(found.evidences, found.snapshots)
        tags = state.image_tags(evidences, snapshots)
        now = list(state.current(evidences, snapshots).values())
        rows = evidences if all_scans else now
        result.hits = hits_of((e for e in rows if wanted is None or e.status in wanted), tags)
        shown = {h.image for h in result.hits}
        best: dict[state.ImageKey, str] = {}
        for e in now:
            known = best.get(e.image)
            if known is None or status_rank(e.status) < status_rank(known):
                best[e.image] = e.status
        result.images_by_status = _count(best.values())
        result.hidden = _count(status for image, status in best.items() if image not in shown)
        return result

    def _repository(self, group: str) -> str:
        return group[len(self.log_group_prefix) :]

    def _evidence(self, logged: list[Logged], vulnerability_id: str) -> list[Evidence]:
        found = []
        for item in logged:
            e = state.evidence_in(
                item.message, item.stream, item.log_group, self._repository(item.log_group)
            )
            if e is not None and e.vulnerability_id == vulnerability_id:
                found.append(e)
        return found

    def _snapshots(self, logged: list[Logged]) -> list[Snapshot]:
        found = []
        for item in logged:
            s = state.snapshot_in(
                item.message, item.stream, item.log_group, self._repository(item.log_group)
            )
            if s is not None:
                found.append(s)
        return found

    def _filter_group(self, group: str, vulnerability_id: str, since_ms: int | None) -> _Found:
        logged = list(
            self._reader.filter(group, filter_pattern(vulnerability_id), since_ms=since_ms)
        )
        found = _Found(events=len(logged), evidences=self._evidence(logged, vulnerability_id))
        if found.evidences:  # the scans of this group's images, to see which are latest
            summaries = list(
                self._reader.filter(group, since_ms=since_ms, stream_prefix=_SUMMARY_PREFIX)
            )
            found.snapshots = self._snapshots(summaries)
        return found

    def _insights(self, groups: list[str], vulnerability_id: str, since_ms: int | None) -> _Found:
        rows, full = self._reader.insights(
            groups, insights_query(vulnerability_id), since_ms=since_ms
        )
        found = _Found(events=len(rows), evidences=self._evidence(rows, vulnerability_id))
        if full:
            found.truncated += groups
        with_hits = sorted({e.log_group for e in found.evidences})
        if with_hits:
            summaries, full = self._reader.insights(
                with_hits, insights_summaries_query(), since_ms=since_ms
            )
            found.snapshots = self._snapshots(summaries)
            if full:
                found.truncated += [g for g in with_hits if g not in found.truncated]
        return found
