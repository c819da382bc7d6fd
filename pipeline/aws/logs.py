"""CloudWatch Logs: groups (created once, cached), streams, reads for idempotency, puts."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from contextvars import ContextVar
from typing import Any

import orjson
from botocore.exceptions import ClientError

from pipeline.aws.errors import classify, error_code
from pipeline.batching import LogEvent
from pipeline.concurrency import RateLimiter
from pipeline.config import Settings
from pipeline.errors import PermanentError, RetryableError

ALREADY_EXISTS = "ResourceAlreadyExistsException"
NOT_FOUND = "ResourceNotFoundException"


class LogGroupMissing(RetryableError):
    """The group (or a stream) is gone, e.g. deleted while this container had it cached.
    Recreating it and writing the image again in the same attempt cures it."""

    def __init__(self, message: str) -> None:
        super().__init__("log_group_missing", message)


# The PutLogEvents body, serialised by us; see install_hooks.
_PREPARED_BODY: ContextVar[bytes | None] = ContextVar("put_log_events_body", default=None)


_STAND_IN_EVENTS = [{"timestamp": 0, "message": "-"}]


def _use_prepared_body(params: dict[str, Any], **_: Any) -> None:
    body = _PREPARED_BODY.get()
    if body is not None:
        params["body"] = body


def install_hooks(client: Any) -> None:
    """Let ``LogsWriter.put`` hand botocore a body it serialised with orjson.

    botocore's serializer walks every log event in Python and then runs stdlib ``json`` over
    up to a megabyte; that was the largest per-finding CPU cost. botocore still signs and sends
    the request (and re-sends it on retries) — only the body bytes are ours.
    """
    client.meta.events.register(
        "before-call.cloudwatch-logs.PutLogEvents",
        _use_prepared_body,
        unique_id="ecr-findings-logger-put-log-events-body",
    )


class LogsLimiters:
    def __init__(
        self, *, put: float, create_stream: float, create_group: float, get_events: float
    ) -> None:
        self.put = RateLimiter(put)
        self.create_stream = RateLimiter(create_stream)
        self.create_group = RateLimiter(create_group)
        self.get_events = RateLimiter(get_events)
        # DescribeLogStreams has GetLogEvents' quota (25 a second); deletes are rare.
        self.describe_streams = RateLimiter(get_events)
        self.delete_stream = RateLimiter(create_group)


class LogsWriter:
    """Writes to CloudWatch Logs. Lives across warm invocations so its group cache does too."""

    def __init__(
        self,
        client: Any,
        limiters: LogsLimiters,
        *,
        retention_days: int | None = None,
        kms_key_arn: str | None = None,
    ) -> None:
        self._client = client
        install_hooks(client)
        self._limit = limiters
        self._retention_days = retention_days
        self._kms_key_arn = kms_key_arn
        self._groups: set[str] = set()
        self._retention_pending: set[str] = set()
        self._group_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._probe_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._missing: set[str] = set()  # groups a probe found absent, until created

    async def ensure_group(self, group: str) -> None:
        if group in self._groups:
            return
        # One CreateLogGroup per group even when many messages of a new repository arrive
        # together (the quota is 10 a second per account).
        async with self._group_locks[group]:
            if group not in self._groups:
                await self._create_group(group)
            self._group_locks.pop(group, None)

    async def _create_group(self, group: str) -> None:
        params: dict[str, Any] = {"logGroupName": group}
        if self._kms_key_arn:
            params["kmsKeyId"] = self._kms_key_arn
        await self._limit.create_group.acquire()
        created = await self._create(self._client.create_log_group, "CreateLogGroup", params)
        if self._retention_days and (created or group in self._retention_pending):
            # Only on groups we created: an existing group's retention is its owner's choice.
            # Remembered until it succeeds, so a failed call is retried with the message.
            self._retention_pending.add(group)
            await self._call(
                self._client.put_retention_policy,
                "PutRetentionPolicy",
                logGroupName=group,
                retentionInDays=self._retention_days,
            )
            self._retention_pending.discard(group)
        self._groups.add(group)
        self._missing.discard(group)

    async def create_stream_if_group(self, group: str, stream: str) -> bool | None:
        """Create the stream if its group exists: True if we created it, False if it existed,
        None if there is no such group. For a group this container has not seen, one caller
        finds out (a CreateLogStream call either way) and the others wait for its answer."""
        if group in self._groups:
            return await self.ensure_stream(group, stream)
        async with self._probe_locks[group]:
            if group in self._missing:
                return None
            if group not in self._groups and group not in self._retention_pending:
                try:
                    created = await self.ensure_stream(group, stream)
                except LogGroupMissing:
                    self._missing.add(group)
                    return None
                self._groups.add(group)
                return created
        # Known by now, or created by us and still owed its retention policy.
        await self.ensure_group(group)
        return await self.ensure_stream(group, stream)

    def forget_group(self, group: str) -> None:
        """The group is gone: the next ensure_group creates it again."""
        self._groups.discard(group)
        self._missing.discard(group)

    async def ensure_stream(self, group: str, stream: str) -> bool:
        """Create the stream; True if we created it, False if it already existed."""
        await self._limit.create_stream.acquire()
        params = {"logGroupName": group, "logStreamName": stream}
        return await self._create(self._client.create_log_stream, "CreateLogStream", params)

    async def first_messages(self, group: str, stream: str, limit: int = 100) -> list[str]:
        """The first ``limit`` messages of a stream, in one call."""
        await self._limit.get_events.acquire()
        page = await self._call(
            self._client.get_log_events,
            "GetLogEvents",
            logGroupName=group,
            logStreamName=stream,
            startFromHead=True,
            limit=limit,
        )
        return [e["message"] for e in page.get("events", ())]

    async def streams(self, group: str, prefix: str) -> list[dict[str, Any]]:
        """The streams whose names start with ``prefix`` (names and creation times)."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": prefix}
        while True:
            await self._limit.describe_streams.acquire()
            page = await self._call(
                self._client.describe_log_streams, "DescribeLogStreams", **params
            )
            found += page.get("logStreams") or ()
            if not page.get("nextToken"):
                return found
            params["nextToken"] = page["nextToken"]

    async def delete_stream(self, group: str, stream: str) -> None:
        """Delete a stream; one already gone is fine."""
        await self._limit.delete_stream.acquire()
        try:
            await self._client.delete_log_stream(logGroupName=group, logStreamName=stream)
        except ClientError as exc:
            if error_code(exc) != NOT_FOUND:
                raise classify(exc, "DeleteLogStream") from None
        except Exception as exc:
            raise classify(exc, "DeleteLogStream") from None

    async def read_messages(self, group: str, stream: str) -> Counter[str]:
        """Every message already in a stream (a multiset), to skip on a retried write."""
        seen: Counter[str] = Counter()
        empty = 0
        params: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": True,
        }
        while True:
            await self._limit.get_events.acquire()
            page = await self._call(self._client.get_log_events, "GetLogEvents", **params)
            seen.update(e["message"] for e in page.get("events", ()))
            empty = 0 if page.get("events") else empty + 1
            if _at_end(page, params, empty):
                return seen
            params["nextToken"] = page["nextForwardToken"]

    async def messages_between(
        self, group: str, stream: str, start_ms: int, end_ms: int
    ) -> list[str]:
        """The messages of a stream whose timestamps lie in [start_ms, end_ms), every page:
        a shared stream is read back only where a retried write can have left its events."""
        found: list[str] = []
        empty = 0
        params: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startTime": start_ms,
            "endTime": end_ms,
            "startFromHead": True,
        }
        while True:
            await self._limit.get_events.acquire()
            page = await self._call(self._client.get_log_events, "GetLogEvents", **params)
            found += [e["message"] for e in page.get("events", ())]
            empty = 0 if page.get("events") else empty + 1
            if _at_end(page, params, empty):
                return found
            params["nextToken"] = page["nextForwardToken"]

    async def put(self, group: str, stream: str, batch: list[LogEvent]) -> None:
        await self._limit.put.acquire()
        events = [{"timestamp": e.timestamp, "message": e.message} for e in batch]
        body = {"logGroupName": group, "logStreamName": stream, "logEvents": events}
        token = _PREPARED_BODY.set(orjson.dumps(body))
        try:
            # botocore serialises these small stand-in parameters; the hook swaps the body.
            response = await self._call(
                self._client.put_log_events,
                "PutLogEvents",
                logGroupName=group,
                logStreamName=stream,
                logEvents=_STAND_IN_EVENTS,
            )
        finally:
            _PREPARED_BODY.reset(token)
        rejected = response.get("rejectedLogEventsInfo")
        if rejected:
            # Those events were dropped by CloudWatch; retrying the message rewrites only what
            # is missing (see read_messages), with timestamps recomputed.
            raise RetryableError("log_events_rejected", f"PutLogEvents rejected events: {rejected}")

    async def _create(self, method: Any, api: str, params: dict[str, Any]) -> bool:
        try:
            await method(**params)
        except ClientError as exc:
            if error_code(exc) == ALREADY_EXISTS:
                return False
            raise self._classify(exc, api, params) from None
        except Exception as exc:
            raise classify(exc, api) from None
        return True

    async def _call(self, method: Any, api: str, **params: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = await method(**params)
        except Exception as exc:
            raise self._classify(exc, api, params) from None
        return response

    def _classify(self, exc: BaseException, api: str, params: dict[str, Any]) -> Exception:
        if isinstance(exc, ClientError) and error_code(exc) == NOT_FOUND:
            # Someone deleted the group after we cached it: forget it, so it is created again.
            self.forget_group(params.get("logGroupName", ""))
            return LogGroupMissing(f"{api}: {exc}")
        if isinstance(exc, ClientError) and error_code(exc) == "InvalidParameterException":
            return PermanentError("log_events_invalid", f"{api}: {exc}")
        return classify(exc, api)


def logs_writer(settings: Settings, client: Any) -> LogsWriter:
    """The one CloudWatch Logs writer of a consumer: every writer shares its group cache and
    its rate limits (two sets of buckets would together exceed the quota shares)."""
    return LogsWriter(
        client,
        LogsLimiters(
            put=settings.put_log_events_rate,
            create_stream=settings.create_log_stream_rate,
            create_group=settings.create_log_group_rate,
            get_events=settings.get_log_events_rate,
        ),
        retention_days=settings.log_retention_days,
        kms_key_arn=settings.log_kms_key_arn,
    )


# An empty page is not the end: GetLogEvents may answer one mid-stream (a gap in time) with a
# new token. The end is the token it was given coming back; a run of empty pages this long is
# taken for the end too, so that an endpoint that never repeats its token cannot loop us.
_EMPTY_PAGES_MAX = 20


def _at_end(page: dict[str, Any], params: dict[str, Any], empty_pages: int) -> bool:
    token = page.get("nextForwardToken")
    return not token or token == params.get("nextToken") or empty_pages >= _EMPTY_PAGES_MAX
