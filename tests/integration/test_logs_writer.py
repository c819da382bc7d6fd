"""The CloudWatch Logs adapter on its own: rejected events are never silently lost."""

from __future__ import annotations

import time

import aioboto3
import pytest

from localaws import LocalAws
from pipeline.aws.logs import LogsLimiters, LogsWriter
from pipeline.batching import LogEvent
from pipeline.errors import RetryableError

LIMITERS = dict(put=100.0, create_stream=100.0, create_group=100.0, get_events=100.0)


async def test_rejected_timestamps_raise_a_retryable_error(aws: LocalAws) -> None:
    async with aioboto3.Session().client("logs") as client:
        writer = LogsWriter(client, LogsLimiters(**LIMITERS))
        await writer.ensure_group("/t/group")
        assert await writer.ensure_stream("/t/group", "s") is True
        assert await writer.ensure_stream("/t/group", "s") is False
        old = int(time.time() * 1000) - 20 * 24 * 3600 * 1000
        with pytest.raises(RetryableError) as caught:
            await writer.put("/t/group", "s", [LogEvent(old, "x", 1)])
        assert caught.value.code == "log_events_rejected"
        assert "tooOldLogEventEndIndex" in caught.value.message


async def test_group_created_once_and_existing_streams_read_back(aws: LocalAws) -> None:
    async with aioboto3.Session().client("logs") as client:
        writer = LogsWriter(client, LogsLimiters(**LIMITERS), retention_days=30)
        for _ in range(3):
            await writer.ensure_group("/t/once")
        assert aws.calls["CreateLogGroup"] == 1
        assert aws.calls["PutRetentionPolicy"] == 1
        await writer.ensure_stream("/t/once", "s")
        now = int(time.time() * 1000)
        await writer.put("/t/once", "s", [LogEvent(now, m, len(m)) for m in ("a", "b", "a")])
        seen = await writer.read_messages("/t/once", "s")
        assert seen == {"a": 2, "b": 1}
        assert await writer.first_messages("/t/once", "s", limit=2) == ["a", "b"]
