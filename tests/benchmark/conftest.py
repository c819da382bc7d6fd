"""Fixtures for the benchmark's own tests: a fake AWS endpoint process for the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from localaws.fastserver.process import FakeAwsProcess


@pytest.fixture(scope="session")
def fake_endpoint() -> Iterator[FakeAwsProcess]:
    """One fake endpoint for the session, without latency (tests time nothing)."""
    with FakeAwsProcess(latency_ms=0) as endpoint:
        yield endpoint


@pytest.fixture
def fake_aws(
    fake_endpoint: FakeAwsProcess, fake_aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> FakeAwsProcess:
    """The fake endpoint, emptied, with ``AWS_ENDPOINT_URL`` pointing SDKs at it."""
    fake_endpoint.reset("all")
    monkeypatch.setenv("AWS_ENDPOINT_URL", fake_endpoint.url)
    return fake_endpoint


@pytest.fixture
def client(fake_aws: FakeAwsProcess) -> Iterator[Callable[[str], Any]]:
    """``client("logs")``: a boto3 client of the fake endpoint, closed after the test."""
    made: list[Any] = []

    def make(service: str) -> Any:
        made.append(boto3.client(service, endpoint_url=fake_aws.url))
        return made[-1]

    yield make
    for c in made:
        c.close()
