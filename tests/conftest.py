"""Fixtures for the whole suite: no real AWS credentials ever, and one local AWS per session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws import LocalAws

REGION = "us-east-1"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # No profile or config file of the machine running the tests may leak in.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strip every real ``AWS_*`` variable (keys, token, profile, endpoint) and set fakes."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in FAKE_ENV.items():
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
