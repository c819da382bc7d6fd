"""The SDK's own CPU cost per AWS call, with the consumer's client configuration.

    python -m bench.sdk_floor [--calls 400]

The benchmark's CPU-per-finding figure is mostly this cost times the calls the layout needs
(one CreateLogStream and at least one PutLogEvents per stream, plus the ECR pages), so it is
measured on its own here: trivial calls, one-event puts and full 1 MiB puts, each many times
with the consumer's concurrency, against the fake endpoint (whose CPU is in its own process).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from localaws.fastserver.process import FakeAwsProcess
from pipeline import limits
from pipeline.aws.clients import Clients
from pipeline.aws.logs import LogsLimiters, LogsWriter
from pipeline.batching import LogEvent
from pipeline.config import load_settings

GROUP = "/bench/sdk-floor"
MESSAGE_BYTES = 2_000  # about an enhanced finding with its image context


async def _cpu_per_call(
    calls: int, concurrency: int, call: Callable[[int], Awaitable[Any]]
) -> float:
    """CPU seconds per call, ``calls`` calls with at most ``concurrency`` in flight."""
    slots = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with slots:
            await call(index)

    started = time.process_time()
    await asyncio.gather(*(one(i) for i in range(calls)))
    return (time.process_time() - started) / calls


async def measure(calls: int) -> list[tuple[str, float, int]]:
    """(what, CPU µs a call, log events a call) for each kind of call."""
    settings = load_settings({})
    clients = await Clients(settings).open()
    logs = clients.logs
    concurrency = settings.max_concurrent_puts
    now = int(time.time() * 1000)
    message = '{"description":"' + "x" * (MESSAGE_BYTES - 20) + '"}'
    full = (limits.PUT_LOG_EVENTS_MAX_BYTES - 1024) // (len(message) + 26)
    big_batch = [LogEvent(now, message, len(message))] * full
    try:
        await logs.create_log_group(logGroupName=GROUP)
        results = []

        async def create(i: int) -> None:
            await logs.create_log_stream(logGroupName=GROUP, logStreamName=f"s{i}")

        results.append(("CreateLogStream", await _cpu_per_call(calls, concurrency, create), 0))

        async def put_one(i: int) -> None:
            events = [{"timestamp": now, "message": message}]
            await logs.put_log_events(logGroupName=GROUP, logStreamName=f"s{i}", logEvents=events)

        results.append(
            ("PutLogEvents, 1 event", await _cpu_per_call(calls, concurrency, put_one), 1)
        )

        # The handler's own path for full batches: LogsWriter serialises the body itself.
        writer = LogsWriter(
            logs, LogsLimiters(put=1e6, create_stream=1e6, create_group=1e6, get_events=1e6)
        )

        async def put_full(i: int) -> None:
            await writer.put(GROUP, f"s{i}", big_batch)

        big = max(calls // 8, 10)
        results.append(
            ("PutLogEvents, ~1 MiB", await _cpu_per_call(big, concurrency, put_full), full)
        )
        return [(what, seconds * 1e6, events) for what, seconds, events in results]
    finally:
        await clients.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="CPU per AWS call of the SDK, as configured.")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    args = parser.parse_args(argv)
    with FakeAwsProcess(args.latency_ms) as aws:
        for name, value in {
            "AWS_ENDPOINT_URL": aws.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            os.environ[name] = value
        rows = asyncio.run(measure(args.calls))
    print(f"{'call':<24} {'CPU us/call':>12} {'events/call':>12} {'CPU us/event':>13}")
    for what, micros, events in rows:
        per_event = f"{micros / events:.1f}" if events else "-"
        print(f"{what:<24} {micros:12.0f} {events:12,} {per_event:>13}")


if __name__ == "__main__":
    main()
