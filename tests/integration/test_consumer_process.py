"""``ecr-findings-consumer``: the handler fed by a long-running process, as in a container."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from localaws.findings import basic_findings

from .conftest import Pipeline

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "lambdas.queue_consumer"]


@pytest.fixture
def queue_url(pipeline: Pipeline) -> str:
    return str(pipeline.sqs.create_queue(QueueName="findings")["QueueUrl"])


def _summary(stdout: str) -> dict[str, Any]:
    """The consumer's last line: what it did."""
    summary: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return summary


def _depth(pipeline: Pipeline, queue_url: str) -> int:
    attributes = pipeline.sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_once_drains_the_queue_and_exits(pipeline: Pipeline, queue_url: str) -> None:
    good = pipeline.image("team/app", "v1", basic_findings(12, seed=2))
    pipeline.sqs.send_message(QueueUrl=queue_url, MessageBody=good.body)
    pipeline.sqs.send_message(QueueUrl=queue_url, MessageBody="garbage")

    done = subprocess.run(
        [*COMMAND, "--once", "--queue-url", queue_url, "--wait-seconds", "0"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    summary = _summary(done.stdout)
    assert summary["consumer"] == "queue empty"
    assert (summary["received"], summary["acknowledged"], summary["failed"]) == (2, 2, 0)
    assert len(pipeline.messages(good.group, good.stream("SUMMARY"))) == 1
    assert [
        m["MessageAttributes"]["ErrorCode"]["StringValue"] for m in pipeline.dead_letters()
    ] == ["malformed_json"]
    assert _depth(pipeline, queue_url) == 0


def test_sigterm_stops_it_after_the_batch_in_hand(pipeline: Pipeline, queue_url: str) -> None:
    good = pipeline.image("team/app", "v2", basic_findings(5, seed=3))
    pipeline.sqs.send_message(QueueUrl=queue_url, MessageBody=good.body)
    consumer = subprocess.Popen(
        [*COMMAND, "--queue-url", queue_url, "--wait-seconds", "1"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        give_up = time.monotonic() + 60
        while _depth(pipeline, queue_url) and time.monotonic() < give_up:
            time.sleep(0.2)
        assert _depth(pipeline, queue_url) == 0, "the consumer never took the message"
        assert consumer.poll() is None  # still polling an empty queue: it runs until stopped

        consumer.send_signal(signal.SIGTERM)
        stdout, stderr = consumer.communicate(timeout=60)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.communicate()

    assert consumer.returncode == 0, stderr
    summary = _summary(stdout)
    assert (summary["consumer"], summary["received"], summary["acknowledged"]) == ("stopped", 1, 1)
    assert len(pipeline.messages(good.group, good.stream("SUMMARY"))) == 1


def test_a_bad_setting_fails_at_start_and_consumes_nothing(
    pipeline: Pipeline, queue_url: str
) -> None:
    pipeline.sqs.send_message(QueueUrl=queue_url, MessageBody="garbage")

    done = subprocess.run(
        [*COMMAND, "--once", "--queue-url", queue_url],
        cwd=ROOT,
        env={**os.environ, "MAX_RECEIVE_COUNT": "zero"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1
    assert "MAX_RECEIVE_COUNT" in done.stderr and "Traceback" not in done.stderr
    assert _depth(pipeline, queue_url) == 1


@pytest.mark.parametrize(
    "args",
    [[], ["--queue-url", "q", "--batch-size", "0"], ["--queue-url", "q", "--wait-seconds", "21"]],
)
def test_bad_arguments_exit_2_with_the_reason(args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ECR_FINDINGS_QUEUE_URL"}
    done = subprocess.run(
        [*COMMAND, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("ecr-findings-consumer: error:")


def test_no_region_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")  # no profile region either
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/findings"
    done = subprocess.run(
        [*COMMAND, "--once", "--queue-url", queue],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stderr == (
        "ecr-findings-consumer: error: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION "
        "(or a profile's region)\n"
    )
