"""Fixtures for the whole suite: no real AWS credentials ever, and one local AWS per session
(the moto server in-process; the fast endpoint in its own process when a test asks for it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws import LocalAws
from localaws.env import fake_environment
from localaws.fastserver.process import FakeAwsProcess

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strip every real ``AWS_*`` variable (keys, token, profile, endpoint) and set fakes."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in fake_environment(REGION).items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    """The session's local AWS server. Prefer ``aws``, which also resets it for each test."""
    with LocalAws(region=REGION) as server:
        yield server


@pytest.fixture
def aws(local_aws: LocalAws, fake_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> LocalAws:
    """The local AWS, empty, with ``AWS_ENDPOINT_URL`` pointing SDKs at it."""
    local_aws.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)
    return local_aws


@pytest.fixture
def aws_client(aws: LocalAws) -> Iterator[Callable[..., Any]]:
    """Factory of boto3 clients talking to the local AWS: ``aws_client("sqs")``.

    Keyword arguments go to ``boto3.client``; clients are closed after the test.
    """
    clients: list[Any] = []

    def make(service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", aws.endpoint_url)
        kwargs.setdefault("region_name", REGION)
        kwargs.setdefault("config", Config(retries={"mode": "standard", "total_max_attempts": 3}))
        client = boto3.client(service, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def fake_endpoint() -> Iterator[FakeAwsProcess]:
    """The local AWS's fast endpoint (its own process) for the session, without latency (tests
    time nothing). Prefer ``fake_aws``, which also empties it for each test."""
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
