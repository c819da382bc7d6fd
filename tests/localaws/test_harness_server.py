"""LocalAws itself: lifecycle, the environment it hands to SDKs, reset."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from localaws import LocalAws


def test_env_alone_points_an_sdk_at_the_server(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_aws.reset()
    env = local_aws.env()
    assert env["AWS_ENDPOINT_URL"] == local_aws.endpoint_url
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    client = boto3.client("sqs")
    try:
        client.create_queue(QueueName="from-env")
    finally:
        client.close()
    assert local_aws.calls["CreateQueue"] == 1


def test_reset_empties_moto_and_our_records(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    sqs = aws_client("sqs")
    sqs.create_queue(QueueName="q")
    aws.seed_scan("app", "sha256:" + "1" * 64, [])

    aws.reset()

    assert sqs.list_queues().get("QueueUrls", []) == []
    assert aws.calls == {"ListQueues": 1}


def test_start_and_stop_release_the_port() -> None:
    server = LocalAws()
    with server:
        port = server.port
        assert server.endpoint_url == f"http://127.0.0.1:{port}"
        assert server.start() is server  # starting twice is harmless
    with pytest.raises(RuntimeError):
        server.endpoint_url  # noqa: B018
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again
    server.stop()  # stopping twice is harmless
