"""CloudWatch Logs for the fast endpoint, in memory: groups, streams, events; names, PutLogEvents
limits and rejected timestamps as the rule book (``localaws.rules.logs``) says.

Every request that breaks a rule is refused the way AWS refuses it (InvalidParameterException)
and also recorded as a violation, so that the benchmark can fail loudly even when the client
swallows the error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localaws.rules import logs as rules
from localaws.rules.errors import ApiError
from pipeline import limits

Request = dict[str, Any]
Response = dict[str, Any]

DESCRIBE_PAGE_MAX = 50
GET_EVENTS_MAX = 10_000
GET_EVENTS_MAX_BYTES = 1_048_576
TOKEN_DIGITS = 56  # AWS tokens are long opaque strings; the width only has to be stable


@dataclass(slots=True)
class Stream:
    name: str
    created_ms: int
    timestamps: list[int] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    ingested_ms: int | None = None
    # What arrived since the last stats reset: the benchmark's "minimum calls" input.
    events: int = 0
    bytes: int = 0
    puts: int = 0


@dataclass(slots=True)
class Group:
    name: str
    created_ms: int
    kms_key_id: str | None
    retention_days: int | None = None
    streams: dict[str, Stream] = field(default_factory=dict)


class LogsService:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.groups: dict[str, Group] = {}
        self.violations: list[dict[str, Any]] = []
        self.rejected_events = 0
        self.operations: dict[str, Callable[[Request], Response]] = {
            "CreateLogGroup": self.create_log_group,
            "CreateLogStream": self.create_log_stream,
            "PutRetentionPolicy": self.put_retention_policy,
            "PutLogEvents": self.put_log_events,
            "GetLogEvents": self.get_log_events,
            "DescribeLogStreams": self.describe_log_streams,
            "DescribeLogGroups": self.describe_log_groups,
        }

    # -- admin -------------------------------------------------------------------------------

    def reset_stats(self) -> None:
        self.violations.clear()
        self.rejected_events = 0
        for group in self.groups.values():
            for stream in group.streams.values():
                stream.events = stream.bytes = stream.puts = 0

    def reset_all(self) -> None:
        self.groups.clear()
        self.reset_stats()

    def stream_stats(self) -> list[dict[str, Any]]:
        """Per stream that received events since the last reset: events, bytes, puts."""
        return [
            {
                "group": group.name,
                "stream": stream.name,
                "events": stream.events,
                "bytes": stream.bytes,
                "puts": stream.puts,
            }
            for group in self.groups.values()
            for stream in group.streams.values()
            if stream.puts
        ]

    # -- operations --------------------------------------------------------------------------

    def create_log_group(self, req: Request) -> Response:
        name = req.get("logGroupName")
        problem = rules.group_name_problem(name)
        if problem:
            raise self._violation("CreateLogGroup", name, None, problem)
        assert isinstance(name, str)
        if name in self.groups:
            raise ApiError(
                "ResourceAlreadyExistsException", "The specified log group already exists"
            )
        self.groups[name] = Group(name, self._now_ms(), req.get("kmsKeyId"))
        return {}

    def create_log_stream(self, req: Request) -> Response:
        group_name, name = req.get("logGroupName"), req.get("logStreamName")
        problem = rules.group_name_problem(group_name) or rules.stream_name_problem(name)
        if problem:
            raise self._violation("CreateLogStream", group_name, name, problem)
        assert isinstance(name, str)
        group = self._group(req)
        if name in group.streams:
            raise ApiError(
                "ResourceAlreadyExistsException", "The specified log stream already exists"
            )
        group.streams[name] = Stream(name, self._now_ms())
        return {}

    def put_retention_policy(self, req: Request) -> Response:
        group = self._group(req)
        days = req.get("retentionInDays")
        if days not in limits.VALID_RETENTION_DAYS:
            raise ApiError("InvalidParameterException", f"invalid retentionInDays {days!r}")
        group.retention_days = days
        return {}

    def put_log_events(self, req: Request) -> Response:
        group_name, stream_name = req.get("logGroupName"), req.get("logStreamName")
        events = req.get("logEvents")
        problem = (
            rules.group_name_problem(group_name)
            or rules.stream_name_problem(stream_name)
            or rules.batch_problem(events)
        )
        if problem:
            raise self._violation("PutLogEvents", group_name, stream_name, problem)
        assert isinstance(events, list)
        group = self._group(req)
        stream = self._stream(group, req)
        stream.puts += 1
        stream.events += len(events)
        stream.bytes += rules.batch_bytes(events)
        response: Response = {"nextSequenceToken": f"{len(stream.messages):0{TOKEN_DIGITS}d}"}
        split = rules.split_by_age(events, self._now_ms(), group.retention_days)
        if split.rejected_info:
            response["rejectedLogEventsInfo"] = split.rejected_info
            self.rejected_events += len(events) - len(split.kept)
        for event in split.kept:
            stream.timestamps.append(event["timestamp"])
            stream.messages.append(event["message"])
        if split.kept:
            stream.ingested_ms = self._now_ms()
        return response

    def get_log_events(self, req: Request) -> Response:
        group = self._group(req)
        stream = self._stream(group, req)
        limit = int(req.get("limit") or GET_EVENTS_MAX)
        if not 1 <= limit <= GET_EVENTS_MAX:
            raise ApiError("InvalidParameterException", f"invalid limit {limit}")
        total = len(stream.messages)
        token = req.get("nextToken")
        if token:
            direction, index = _parse_token(token, total)
        elif req.get("startFromHead"):
            direction, index = "f", 0
        else:
            direction, index = "b", total
        if direction == "f":
            start, end = index, self._fill_forward(stream, index, limit)
        else:
            start, end = self._fill_backward(stream, index, limit), index
        page = [
            {
                "timestamp": stream.timestamps[i],
                "message": stream.messages[i],
                "ingestionTime": stream.ingested_ms,
            }
            for i in range(start, end)
        ]
        return {
            "events": page,
            "nextForwardToken": f"f/{end:0{TOKEN_DIGITS}d}",
            "nextBackwardToken": f"b/{start:0{TOKEN_DIGITS}d}",
        }

    def describe_log_streams(self, req: Request) -> Response:
        group = self._group(req)
        prefix = req.get("logStreamNamePrefix") or ""
        order = req.get("orderBy") or "LogStreamName"
        if prefix and order != "LogStreamName":
            raise ApiError(
                "InvalidParameterException", "Cannot order by LastEventTime with a prefix"
            )
        streams = [s for n, s in group.streams.items() if n.startswith(prefix)]
        if order == "LogStreamName":
            streams.sort(key=lambda s: s.name, reverse=bool(req.get("descending")))
        else:
            streams.sort(
                key=lambda s: s.timestamps[-1] if s.timestamps else 0,
                reverse=bool(req.get("descending")),
            )
        page, token = _page(streams, req, DESCRIBE_PAGE_MAX)
        response: Response = {"logStreams": [self._describe_stream(group, s) for s in page]}
        if token:
            response["nextToken"] = token
        return response

    def describe_log_groups(self, req: Request) -> Response:
        prefix = req.get("logGroupNamePrefix") or ""
        groups = sorted(
            (g for n, g in self.groups.items() if n.startswith(prefix)), key=lambda g: g.name
        )
        page, token = _page(groups, req, DESCRIBE_PAGE_MAX)
        described = []
        for group in page:
            item: dict[str, Any] = {
                "logGroupName": group.name,
                "creationTime": group.created_ms,
                "arn": _group_arn(group.name) + ":*",
                "storedBytes": 0,
            }
            if group.retention_days:
                item["retentionInDays"] = group.retention_days
            if group.kms_key_id:
                item["kmsKeyId"] = group.kms_key_id
            described.append(item)
        response: Response = {"logGroups": described}
        if token:
            response["nextToken"] = token
        return response

    # -- helpers -----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _group(self, req: Request) -> Group:
        name = req.get("logGroupName") or req.get("logGroupIdentifier")
        if not isinstance(name, str) or not name:
            raise ApiError("InvalidParameterException", "logGroupName is required")
        if name.startswith("arn:"):
            name = name.split(":log-group:", 1)[-1].removesuffix(":*")
        group = self.groups.get(name)
        if group is None:
            raise ApiError("ResourceNotFoundException", "The specified log group does not exist.")
        return group

    @staticmethod
    def _stream(group: Group, req: Request) -> Stream:
        stream = group.streams.get(_required_str(req, "logStreamName"))
        if stream is None:
            raise ApiError("ResourceNotFoundException", "The specified log stream does not exist.")
        return stream

    def _violation(self, operation: str, group: object, stream: object, reason: str) -> ApiError:
        self.violations.append(
            {"operation": operation, "group": group, "stream": stream, "reason": reason}
        )
        return ApiError("InvalidParameterException", reason)

    @staticmethod
    def _fill_forward(stream: Stream, start: int, limit: int) -> int:
        end, size = start, 0
        while end < len(stream.messages) and end - start < limit:
            size += len(stream.messages[end].encode()) + limits.PUT_LOG_EVENTS_EVENT_OVERHEAD
            if size > GET_EVENTS_MAX_BYTES and end > start:
                break
            end += 1
        return end

    @staticmethod
    def _fill_backward(stream: Stream, end: int, limit: int) -> int:
        start, size = end, 0
        while start > 0 and end - start < limit:
            size += len(stream.messages[start - 1].encode()) + limits.PUT_LOG_EVENTS_EVENT_OVERHEAD
            if size > GET_EVENTS_MAX_BYTES and start < end:
                break
            start -= 1
        return start

    @staticmethod
    def _describe_stream(group: Group, stream: Stream) -> dict[str, Any]:
        item: dict[str, Any] = {
            "logStreamName": stream.name,
            "creationTime": stream.created_ms,
            "arn": f"{_group_arn(group.name)}:log-stream:{stream.name}",
            "storedBytes": 0,
        }
        if stream.timestamps:
            item["firstEventTimestamp"] = stream.timestamps[0]
            item["lastEventTimestamp"] = stream.timestamps[-1]
            item["lastIngestionTime"] = stream.ingested_ms
        return item


def _required_str(req: Request, key: str) -> str:
    value = req.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError("InvalidParameterException", f"{key} is required")
    return value


def _group_arn(name: str) -> str:
    return f"arn:aws:logs:us-east-1:000000000000:log-group:{name}"


def _parse_token(token: str, total: int) -> tuple[str, int]:
    direction, _, digits = token.partition("/")
    if direction not in ("f", "b") or not digits.isdigit() or int(digits) > total:
        raise ApiError("InvalidParameterException", "The specified nextToken is invalid.")
    return direction, int(digits)


def _page(items: list[Any], req: Request, maximum: int) -> tuple[list[Any], str | None]:
    limit = int(req.get("limit") or maximum)
    if not 1 <= limit <= maximum:
        raise ApiError("InvalidParameterException", f"invalid limit {limit}")
    token = req.get("nextToken")
    start = int(token) if isinstance(token, str) and token.isdigit() else 0
    end = start + limit
    return items[start:end], (str(end) if end < len(items) else None)
