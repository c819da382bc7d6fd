"""kill -9 mid-write: the ``ecr-findings-consumer`` process dies while PutLogEvents calls are in
flight (held by the local AWS), its messages come back after the visibility timeout, and the
next consumer logs every finding exactly once."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

from .conftest import CONSUMER, FIGURES, NOTES, Rig, basic_findings, not_exactly_once

VISIBILITY_S = 3  # how long the killed consumer's messages stay hidden
SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]


def _depth(rig: Rig, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue."""
    attributes = rig.sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def _wait(condition: Any, timeout_s: float, what: str) -> None:
    give_up = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _consumer(queue_url: str, env: dict[str, str], *extra: str) -> list[str]:
    return [
        *CONSUMER,
        "--queue-url",
        queue_url,
        "--batch-size",
        "10",
        "--wait-seconds",
        "0",
        "--retry-delay-seconds",
        "0",
        "--timeout-seconds",
        "60",
        *extra,
    ]


def kill_mid_write(rig: Rig, queue_url: str, env: dict[str, str], *, let_through: int) -> None:
    """Start a consumer, let ``let_through`` PutLogEvents calls land, hold every later one,
    SIGKILL the consumer while they hang, then let the held calls fail unapplied."""
    before = rig.aws.calls["PutLogEvents"]
    rig.inject(
        "PutLogEvents",
        code="ServiceUnavailableException",
        status=503,
        times=10_000,
        after=let_through,
        delay_s=120,
        counted=False,
    )
    consumer = subprocess.Popen(
        _consumer(queue_url, env),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(
            lambda: (
                rig.aws.calls["PutLogEvents"] > before + let_through or consumer.poll() is not None
            ),
            60,
            "a PutLogEvents call to hold",
        )
        if consumer.poll() is not None:
            assert consumer.stderr is not None
            raise AssertionError(f"the consumer exited early: {consumer.stderr.read()[-2000:]}")
        time.sleep(0.3)  # let the other writes of the batch arrive and hang too
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(timeout=30)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        assert consumer.stderr is not None
        consumer.stderr.close()
    FIGURES["kills"] += 1
    held = rig.aws.calls["PutLogEvents"] - before - let_through
    FIGURES["faults_injected"] += held
    FIGURES["faults_hit"] += held
    rig.aws.clear_faults()


def test_kill_9_mid_write_then_redelivery_logs_everything_exactly_once(
    rig: Rig, subprocess_env: dict[str, str]
) -> None:
    # A killed consumer's claims lapse after the function's timeout; AWS's visibility timeout
    # is at least 6 times that. Here messages reappear after 3 s, so claims lapse after 2 s.
    subprocess_env = {**subprocess_env, "CLAIM_TIMEOUT_SECONDS": "2"}
    queue_url = rig.sqs.create_queue(
        QueueName="findings", Attributes={"VisibilityTimeout": str(VISIBILITY_S)}
    )["QueueUrl"]
    images = [
        rig.image(
            f"killed/repo-{i % 2}", f"v{i}", basic_findings(40, seed=600 + i, severities=SEVERITIES)
        )
        for i in range(4)
    ]
    for image in images:
        rig.sqs.send_message(QueueUrl=queue_url, MessageBody=image.body)
    FIGURES["messages"] += len(images)

    # First kill early in the writes, the second later in the (partial) rewrite.
    for let_through in (4, 2):
        kill_mid_write(rig, queue_url, subprocess_env, let_through=let_through)
        FIGURES["messages"] += len(images)
        partial = [rig.tally(image) for image in images]
        assert any(t.summaries == 0 for t in partial), "the kill came after the writes"
        _wait(lambda: _depth(rig, queue_url) == (len(images), 0), 30, "the messages to reappear")

    done = subprocess.run(
        _consumer(queue_url, subprocess_env, "--once"),
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    tallies = rig.tally_all(images)
    NOTES.append(f"kill -9: 2 kills mid-write, then {done.stdout.strip().splitlines()[-1]}")
    assert not_exactly_once(tallies) == {}
    assert _depth(rig, queue_url) == (0, 0)
    assert rig.take_dead_letters() == {}
