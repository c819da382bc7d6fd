"""Read logged events back: FilterLogEvents (paged) and Logs Insights queries, under one rate
limit shared by every thread of a command (FilterLogEvents: 5 TPS per account and region,
shared with every other caller).

What the server returns is narrowed by its filters only; callers check every event again, so
a loose filter (or an endpoint that ignores filters, such as moto) cannot produce false hits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pipeline.aws.errors import error_code
from pipeline.concurrency import BlockingRateLimiter
from pipeline.ops.errors import OpsError

INSIGHTS_MAX_GROUPS = 50  # logGroupNames per StartQuery
INSIGHTS_MAX_RESULTS = 10_000  # rows one query returns at most
FILTER_MAX_STREAM_NAMES = 100  # logStreamNames per FilterLogEvents
_INSIGHTS_DONE = frozenset({"Complete", "Failed", "Cancelled", "Timeout"})


@dataclass(frozen=True, slots=True)
class Logged:
    """One logged event as read back: its group, stream and message."""

    log_group: str
    stream: str
    message: str


@dataclass
class LogReader:
    logs: Any
    limit: BlockingRateLimiter
    poll_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def filter(
        self,
        group: str,
        pattern: str | None = None,
        *,
        since_ms: int | None = None,
        stream_prefix: str | None = None,
        stream_names: Sequence[str] = (),
    ) -> Iterator[Logged]:
        """Every event of the group that the server's filters let through, page by page.
        ``stream_names`` are asked for 100 at a time (the API's limit)."""
        if stream_names:
            for i in range(0, len(stream_names), FILTER_MAX_STREAM_NAMES):
                chunk = list(stream_names[i : i + FILTER_MAX_STREAM_NAMES])
                yield from self._filter(group, pattern, since_ms, {"logStreamNames": chunk})
            return
        extra = {"logStreamNamePrefix": stream_prefix} if stream_prefix else {}
        yield from self._filter(group, pattern, since_ms, extra)

    def _filter(
        self, group: str, pattern: str | None, since_ms: int | None, extra: dict[str, Any]
    ) -> Iterator[Logged]:
        request: dict[str, Any] = {"logGroupName": group, **extra}
        if pattern:
            request["filterPattern"] = pattern
        if since_ms is not None:
            request["startTime"] = since_ms
        while True:
            self.limit.acquire()
            try:
                page = self.logs.filter_log_events(**request)
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":  # deleted since listed
                    return
                raise
            for event in page.get("events", []):
                yield Logged(
                    group, str(event.get("logStreamName", "")), str(event.get("message", ""))
                )
            token = page.get("nextToken")
            if not token:
                return
            request["nextToken"] = token

    def insights(
        self, groups: Sequence[str], query: str, *, since_ms: int | None = None
    ) -> tuple[list[Logged], bool]:
        """The rows of one Logs Insights query over ``groups`` (≤ 50) as logged events, and
        whether it returned its maximum of rows (the answer may then be incomplete). The
        query must select ``@message``, ``@log`` and ``@logStream``."""
        self.limit.acquire()
        query_id = self.logs.start_query(
            logGroupNames=list(groups),
            startTime=(since_ms or 0) // 1000,
            endTime=int(time.time()) + 60,
            queryString=query,
        )["queryId"]
        while True:
            self.limit.acquire()
            answer = self.logs.get_query_results(queryId=query_id)
            if answer.get("status") in _INSIGHTS_DONE:
                break
            self.sleep(self.poll_seconds)
        if answer.get("status") != "Complete":
            raise OpsError(f"Logs Insights query {query_id} ended {answer.get('status')}")
        rows = answer.get("results", [])
        found = []
        for row in rows:
            fields = {f.get("field"): f.get("value") for f in row}
            # @log is "account-id:group-name" in AWS.
            group = str(fields.get("@log") or "").rsplit(":", 1)[-1]
            stream, message = fields.get("@logStream"), fields.get("@message")
            found.append(Logged(group, str(stream or ""), str(message or "")))
        return found, len(rows) >= INSIGHTS_MAX_RESULTS
