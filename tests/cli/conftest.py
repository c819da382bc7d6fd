"""Fixtures for driving ``ecr-findings`` against the local AWS."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from localaws import LocalAws
from pipeline.cli.main import app
from pipeline.queue_runner import drive

from .support import MAX_RECEIVE_COUNT, Queues


@pytest.fixture
def cli(aws: LocalAws) -> Callable[..., Result]:
    """Run ``ecr-findings`` in-process (typer's runner); stdout and stderr kept apart."""
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, list(args), env=env)

    return run


@pytest.fixture
def sqs(aws_client: Callable[..., Any]) -> Any:
    return aws_client("sqs")


def _arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


@pytest.fixture
def queues(sqs: Any) -> Queues:
    """The pipeline's source queue ``findings`` and its dead-letter queue ``findings-dlq``."""
    dlq_url = sqs.create_queue(QueueName="findings-dlq")["QueueUrl"]
    dlq_arn = _arn(sqs, dlq_url)
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    url = sqs.create_queue(QueueName="findings", Attributes={"RedrivePolicy": json.dumps(policy)})[
        "QueueUrl"
    ]
    return Queues(url=url, arn=_arn(sqs, url), dlq_url=dlq_url, dlq_arn=dlq_arn)


@pytest.fixture
def handler_env(
    aws: LocalAws, queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """The real Lambda handler, configured for the local AWS; yields the local driver."""
    from lambdas import findings_logger

    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", queues.dlq_url)
    monkeypatch.setenv("MAX_RECEIVE_COUNT", str(MAX_RECEIVE_COUNT))
    monkeypatch.setenv("EMIT_METRICS", "false")
    findings_logger.reset()

    def run(sqs: Any) -> Any:
        return drive(queues.url, handler=findings_logger.handler, sqs=sqs)

    yield run
    findings_logger.reset()
