"""``dlq status`` and ``dlq peek`` on a DLQ holding messages that died for several reasons."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import Result

from .support import Queues, depth, send_dead, send_undelivered


@pytest.fixture
def dead(sqs: Any, queues: Queues) -> Queues:
    """Seven dead messages: 3 image_not_found, 2 throttled (retryable), 1 malformed, 1 moved by
    the queue's own redrive (no attributes); the oldest failed two hours ago."""
    url = queues.dlq_url
    for n in range(3):
        send_dead(
            sqs,
            url,
            code="image_not_found",
            repository="web/app",
            failed_ago=timedelta(minutes=10 + n),
        )
    send_dead(
        sqs,
        url,
        code="throttled",
        repository="team/api",
        retryable=True,
        receive_count=5,
        failed_ago=timedelta(hours=2),
    )
    send_dead(sqs, url, code="throttled", repository="team/api", retryable=True, receive_count=5)
    send_dead(sqs, url, code="malformed_json", body="{not json")
    send_dead(sqs, url, code=None, repository="legacy/svc")
    return queues


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_status_counts_by_reason_and_repository(
    cli: Callable[..., Result], sqs: Any, dead: Queues
) -> None:
    status = _json(cli("dlq", "status", "--queue", dead.dlq_url, "--json"))

    assert status["messages_visible"] == 7
    assert status["scanned"] == 7
    assert status["by_reason"] == {
        "image_not_found": 3,
        "throttled": 2,
        "malformed_json": 1,
        "unknown": 1,
    }
    assert status["by_repository"] == {
        "web/app": 3,
        "team/api": 2,
        "legacy/svc": 1,  # read from the body of the message that carries no attributes
        "(not an image event)": 1,
    }
    assert 2 * 3600 <= status["oldest_age_seconds"] < 2 * 3600 + 120
    # Nothing consumed, nothing left invisible.
    assert depth(sqs, dead.dlq_url) == (7, 0)


def test_status_table_explains_unknown(cli: Callable[..., Result], dead: Queues) -> None:
    result = cli("dlq", "status", "--queue", "findings-dlq")  # a name works as well as a URL

    assert result.exit_code == 0, result.stderr
    for text in ("7 visible", "image_not_found", "throttled", "team/api", "Oldest failure: 2h"):
        assert text in result.stdout
    assert "queue's own redrive policy" in result.stdout


def test_status_of_an_empty_queue(cli: Callable[..., Result], queues: Queues) -> None:
    result = cli("dlq", "status", "--queue", queues.dlq_url)

    assert result.exit_code == 0, result.stderr
    assert "The queue is empty." in result.stdout


def test_status_reads_at_most_max_scan(cli: Callable[..., Result], dead: Queues) -> None:
    status = _json(cli("dlq", "status", "-q", dead.dlq_url, "--max-scan", "3", "--json"))

    assert (status["messages_visible"], status["scanned"]) == (7, 3)
    assert sum(status["by_reason"].values()) == 3


def test_peek_shows_messages_without_consuming_them(
    cli: Callable[..., Result], sqs: Any, dead: Queues
) -> None:
    peeked = _json(cli("dlq", "peek", "--queue", dead.dlq_url, "-n", "7", "--json"))

    assert len(peeked) == 7
    assert len({m["message_id"] for m in peeked}) == 7
    # Oldest failure first.
    assert peeked[0]["reason"] == "throttled"
    assert peeked[0]["receive_count"] == 5
    assert peeked[0]["retryable"] is True
    by_reason = {m["reason"]: m for m in peeked}
    assert by_reason["image_not_found"]["repository"] == "web/app"
    assert by_reason["image_not_found"]["image_tag"] == "v1"
    assert by_reason["image_not_found"]["image_digest"].startswith("sha256:")
    assert by_reason["malformed_json"]["body"] == "{not json"
    assert by_reason["unknown"]["error_message"] is None
    # Every message is visible again at once: a plain receive gets them all right away.
    assert depth(sqs, dead.dlq_url) == (7, 0)
    again = sqs.receive_message(QueueUrl=dead.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert len(again) == 7


def test_peek_limits_and_renders_a_table(
    cli: Callable[..., Result], sqs: Any, dead: Queues
) -> None:
    result = cli("dlq", "peek", "-n", "2", env={"ECR_FINDINGS_DLQ_URL": dead.dlq_url})

    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 2
    for header in ("Failed", "Reason", "Repository", "Tag", "Digest", "Receives", "Message"):
        assert header in result.stdout
    assert depth(sqs, dead.dlq_url) == (7, 0)


def test_peek_on_an_empty_queue(cli: Callable[..., Result], queues: Queues) -> None:
    result = cli("dlq", "peek", "-q", queues.dlq_url, "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_events_eventbridge_could_not_deliver_show_its_reason(
    cli: Callable[..., Result], sqs: Any, queues: Queues
) -> None:
    send_undelivered(sqs, queues.dlq_url, code="NO_PERMISSIONS", repository="team/api")

    status = _json(cli("dlq", "status", "--queue", queues.dlq_url, "--json"))
    (peeked,) = _json(cli("dlq", "peek", "--queue", queues.dlq_url, "--json"))

    assert status["by_reason"] == {"eventbridge:NO_PERMISSIONS": 1}
    assert status["by_repository"] == {"team/api": 1}
    assert peeked["reason"] == "eventbridge:NO_PERMISSIONS"
    assert peeked["error_message"] == "EventBridge: NO_PERMISSIONS"
    assert peeked["retryable"] is False


def test_status_table_explains_eventbridge_reasons(
    cli: Callable[..., Result], sqs: Any, queues: Queues
) -> None:
    send_undelivered(sqs, queues.dlq_url, code="RESOURCE_NOT_FOUND", repository="team/api")

    result = cli("dlq", "status", "--queue", queues.dlq_url)

    assert result.exit_code == 0, result.stderr
    assert "eventbridge:RESOURCE_NOT_FOUND" in result.stdout
    assert "EventBridge could not deliver" in result.stdout
