"""Search every findings log group for one vulnerability, concurrently and under quota.

FilterLogEvents is the default: it pages through one group at a time, so groups are searched
in parallel threads that share one rate limiter (the FilterLogEvents quota is 5 TPS per account
and region, shared with everyone else's calls). Logs Insights scans up to 50 groups per query
and is faster for many large groups, but is billed per GB scanned.

The server-side filter narrows the events; every event is still checked here, so a loose
filter (or an endpoint that ignores it) cannot produce false hits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from pipeline.aws.errors import error_code
from pipeline.concurrency import BlockingRateLimiter
from pipeline.ops.errors import OpsError
from pipeline.ops.hits import Hit, attribute_registries, hits_in, latest_scans

Engine = Literal["filter", "insights"]
INSIGHTS_MAX_GROUPS = 50  # logGroupNames per StartQuery
INSIGHTS_MAX_RESULTS = 10_000  # rows one query returns at most
_INSIGHTS_DONE = frozenset({"Complete", "Failed", "Cancelled", "Timeout"})


def filter_pattern(vulnerability_id: str) -> str:
    """A JSON filter pattern matching basic and enhanced findings for the id."""
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


@dataclass
class SearchResult:
    vulnerability_id: str
    groups: int = 0
    events: int = 0  # events the server returned (before the local check)
    hits: list[Hit] = field(default_factory=list)
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
            "log_groups_searched": self.groups,
            "images": self.images,
            "repositories": self.repositories,
            "hits": [h.as_json() for h in self.hits],
            "truncated_log_groups": self.truncated_groups,
        }


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
        all_scans: bool = False,
        on_groups: Callable[[int], None] | None = None,
        on_group_done: Callable[[str], None] | None = None,
    ) -> SearchResult:
        groups = self.log_groups()
        if on_groups:
            on_groups(len(groups))
        result = SearchResult(vulnerability_id, groups=len(groups))
        since_ms = int(since.timestamp() * 1000) if since else None
        size = 1 if engine == "filter" else INSIGHTS_MAX_GROUPS
        units = [groups[i : i + size] for i in range(0, len(groups), size)]

        def work(unit: list[str]) -> tuple[int, list[Hit], list[str]]:
            if engine == "filter":
                return self._filter_group(unit[0], vulnerability_id, since_ms)
            return self._insights(unit, vulnerability_id, since_ms)

        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            for unit, (events, hits, truncated) in zip(units, pool.map(work, units), strict=True):
                result.events += events
                result.hits.extend(hits)
                result.truncated_groups.extend(truncated)
                if on_group_done:
                    for group in unit:
                        on_group_done(group)
        found = attribute_registries(result.hits)
        result.hits = sorted(set(found)) if all_scans else latest_scans(found)
        return result

    def _repository(self, group: str) -> str:
        return group[len(self.log_group_prefix) :]

    def _filter_group(
        self, group: str, vulnerability_id: str, since_ms: int | None
    ) -> tuple[int, list[Hit], list[str]]:
        events, hits = 0, []
        for event in self._filtered_events(group, vulnerability_id, since_ms):
            events += 1
            hits += hits_in(
                str(event.get("message", "")),
                vulnerability_id,
                group,
                self._repository(group),
                str(event.get("logStreamName", "")),
            )
        return events, hits, []

    def _filtered_events(
        self, group: str, vulnerability_id: str, since_ms: int | None
    ) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "logGroupName": group,
            "filterPattern": filter_pattern(vulnerability_id),
        }
        if since_ms is not None:
            request["startTime"] = since_ms
        while True:
            self._limit.acquire()
            try:
                page = self.logs.filter_log_events(**request)
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":  # deleted since listed
                    return
                raise
            yield from page.get("events", [])
            token = page.get("nextToken")
            if not token:
                return
            request["nextToken"] = token

    def _insights(
        self, groups: list[str], vulnerability_id: str, since_ms: int | None
    ) -> tuple[int, list[Hit], list[str]]:
        self._limit.acquire()
        query_id = self.logs.start_query(
            logGroupNames=groups,
            startTime=(since_ms or 0) // 1000,
            endTime=int(time.time()) + 60,
            queryString=insights_query(vulnerability_id),
        )["queryId"]
        while True:
            self._limit.acquire()
            answer = self.logs.get_query_results(queryId=query_id)
            if answer.get("status") in _INSIGHTS_DONE:
                break
            self.sleep(self.poll_seconds)
        if answer.get("status") != "Complete":
            raise OpsError(f"Logs Insights query {query_id} ended {answer.get('status')}")
        rows = answer.get("results", [])
        hits: list[Hit] = []
        for row in rows:
            fields = {f.get("field"): f.get("value") for f in row}
            # @log is "account-id:group-name" in AWS.
            group = str(fields.get("@log") or "").rsplit(":", 1)[-1]
            hits += hits_in(
                str(fields.get("@message") or ""),
                vulnerability_id,
                group,
                self._repository(group),
                str(fields.get("@logStream") or ""),
            )
        truncated = groups if len(rows) >= INSIGHTS_MAX_RESULTS else []
        return len(rows), hits, truncated
