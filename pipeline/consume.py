"""``ecr-findings-consumer``: the Lambda handler fed from the queue by a long-running process.

For running the consumer outside Lambda (a container, a VM): it polls the source queue as the
event source mapping would (``pipeline.driver``), with the same environment as the function
(``DEAD_LETTER_QUEUE_URL``, ``MAX_RECEIVE_COUNT``, …) and botocore's usual AWS settings.
SIGTERM or SIGINT stops it after the batch in hand, so nothing is cut off; a message that is
never acknowledged reappears after the queue's visibility timeout.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

import orjson
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from pipeline.config import load_settings
from pipeline.driver import drive
from pipeline.errors import ConfigError

QUEUE_ENV = "ECR_FINDINGS_QUEUE_URL"
MAX_WAIT_SECONDS = 20  # SQS long polling allows at most 20 s
NO_REGION = "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (or a profile's region)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecr-findings-consumer",
        description="Consume scan events from the source queue with the findings handler, "
        "until stopped (SIGTERM/SIGINT) or, with --once, until the queue is empty.",
        epilog="Example: ECR_FINDINGS_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/"
        "111122223333/ecr-findings-logger DEAD_LETTER_QUEUE_URL=... ecr-findings-consumer",
    )
    parser.add_argument(
        "--queue-url",
        default=os.environ.get(QUEUE_ENV),
        help=f"the source queue (default: ${QUEUE_ENV})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=10,
        help="messages handed to one handler call, 1-10,000 (default 10)",
    )
    parser.add_argument(
        "--wait-seconds",
        type=int,
        default=MAX_WAIT_SECONDS,
        help=f"long-poll wait when the queue is empty, 0-{MAX_WAIT_SECONDS} (default 20)",
    )
    parser.add_argument(
        "--timeout-seconds",
        type=int,
        default=900,
        help="time budget of one handler call, as a function timeout (default 900)",
    )
    parser.add_argument(
        "--retry-delay-seconds",
        type=int,
        default=30,
        help="how long a failed message stays hidden before it is retried (default 30)",
    )
    parser.add_argument(
        "--once", action="store_true", help="exit as soon as a poll finds the queue empty"
    )
    return parser


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.queue_url:
        parser.error(f"--queue-url is required (or set {QUEUE_ENV})")
    if not 1 <= args.batch_size <= 10_000:
        parser.error("--batch-size must be between 1 and 10000")
    if not 0 <= args.wait_seconds <= MAX_WAIT_SECONDS:
        parser.error(f"--wait-seconds must be between 0 and {MAX_WAIT_SECONDS}")
    if args.timeout_seconds < 1:
        parser.error("--timeout-seconds must be at least 1")
    if not 0 <= args.retry_delay_seconds <= 43_200:
        parser.error("--retry-delay-seconds must be between 0 and 43200 (SQS's maximum)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    stopping: list[int] = []

    def stop_after_this_batch(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_after_this_batch)
    try:
        load_settings()  # a bad setting fails now, not at the first message
        stats = drive(
            args.queue_url,
            batch_size=args.batch_size,
            idle_polls=1 if args.once else None,
            wait_time_seconds=args.wait_seconds,
            retry_delay_seconds=args.retry_delay_seconds,
            timeout_ms=args.timeout_seconds * 1000,
            stop=lambda: bool(stopping),
        )
    except NoRegionError:
        print(f"ecr-findings-consumer: error: {NO_REGION}", file=sys.stderr)
        return 1
    except (ConfigError, ClientError, BotoCoreError) as exc:
        print(f"ecr-findings-consumer: {exc}", file=sys.stderr)
        return 1
    summary = {
        "consumer": "stopped" if stopping else "queue empty",
        "batches": stats.batches,
        "received": stats.received,
        "acknowledged": stats.deleted,
        "failed": stats.failed,
    }
    print(orjson.dumps(summary).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
