"""Selective ``dlq redrive``: filters, dry run, and nothing lost when a call fails midway."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import Result

from localaws import LocalAws
from pipeline import deadletter

from .support import Queues, depth, drain, scan_body, send_dead, send_undelivered


@pytest.fixture
def dead(sqs: Any, queues: Queues) -> dict[str, list[str]]:
    """Bodies by reason: 3 image_not_found (web/*), 2 throttled (team/api, one 3 h old),
    1 unknown (legacy/svc)."""
    url = queues.dlq_url
    bodies: dict[str, list[str]] = {"image_not_found": [], "throttled": [], "unknown": []}
    for n, repository in enumerate(("web/app", "web/app", "web/shop")):
        bodies["image_not_found"].append(
            send_dead(
                sqs,
                url,
                code="image_not_found",
                repository=repository,
                body=scan_body(repository, f"inf-{n}"),
            )
        )
    bodies["throttled"].append(
        send_dead(
            sqs,
            url,
            code="throttled",
            repository="team/api",
            retryable=True,
            failed_ago=timedelta(hours=3),
            body=scan_body("team/api", "old"),
        )
    )
    bodies["throttled"].append(
        send_dead(
            sqs,
            url,
            code="throttled",
            repository="team/api",
            retryable=True,
            body=scan_body("team/api", "new"),
        )
    )
    bodies["unknown"].append(send_dead(sqs, url, code=None, repository="legacy/svc"))
    return bodies


def _report(result: Result) -> dict[str, Any]:
    assert result.stdout, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_redrive_by_reason_sends_back_the_original_bodies(
    cli: Callable[..., Result], sqs: Any, queues: Queues, dead: dict[str, list[str]]
) -> None:
    result = cli("dlq", "redrive", "-q", queues.dlq_url, "--reason", "throttled", "--json")

    assert result.exit_code == 0, result.stderr
    report = _report(result)
    assert (report["scanned"], report["matched"], report["sent"], report["deleted"]) == (
        6,
        2,
        2,
        2,
    )
    assert report["to"] == queues.url  # found through the DLQ's RedrivePolicy sources
    assert (report["dlq_depth_before"], report["dlq_depth_after"]) == (6, 4)
    moved = drain(sqs, queues.url)
    assert sorted(m["Body"] for m in moved) == sorted(dead["throttled"])
    # The dead-letter attributes stay behind: the source queue gets the message as it was.
    assert not any(
        name in deadletter.ALL_ATTRIBUTES for m in moved for name in m.get("MessageAttributes", {})
    )
    assert depth(sqs, queues.dlq_url) == (4, 0)


def test_redrive_by_repository_pattern_with_limit(
    cli: Callable[..., Result], sqs: Any, queues: Queues, dead: dict[str, list[str]]
) -> None:
    result = cli(
        "dlq", "redrive", "-q", queues.dlq_url, "--repository", "web/*", "--limit", "2", "--json"
    )

    assert result.exit_code == 0, result.stderr
    assert _report(result)["sent"] == 2
    moved = drain(sqs, queues.url)
    assert len(moved) == 2
    assert set(m["Body"] for m in moved) <= set(dead["image_not_found"])
    assert depth(sqs, queues.dlq_url) == (4, 0)


def test_redrive_by_age_and_unknown_reason(
    cli: Callable[..., Result], sqs: Any, queues: Queues, dead: dict[str, list[str]]
) -> None:
    older = cli("dlq", "redrive", "-q", queues.dlq_url, "--older-than", "1h", "--json")
    unknown = cli("dlq", "redrive", "-q", queues.dlq_url, "--reason", "unknown", "--json")

    assert (older.exit_code, unknown.exit_code) == (0, 0), older.stderr + unknown.stderr
    assert (_report(older)["sent"], _report(unknown)["sent"]) == (1, 1)
    moved = sorted(m["Body"] for m in drain(sqs, queues.url))
    assert moved == sorted([dead["throttled"][0], dead["unknown"][0]])


def test_redrive_of_events_eventbridge_could_not_deliver(
    cli: Callable[..., Result], sqs: Any, queues: Queues, dead: dict[str, list[str]]
) -> None:
    body = send_undelivered(sqs, queues.dlq_url, code="NO_PERMISSIONS", repository="team/api")

    result = cli(
        "dlq", "redrive", "-q", queues.dlq_url, "--reason", "eventbridge:NO_PERMISSIONS", "--json"
    )

    assert result.exit_code == 0, result.stderr
    assert _report(result)["sent"] == 1
    assert [m["Body"] for m in drain(sqs, queues.url)] == [body]


def test_dry_run_counts_and_sends_nothing(
    cli: Callable[..., Result], sqs: Any, queues: Queues, dead: dict[str, list[str]]
) -> None:
    before = depth(sqs, queues.dlq_url)
    result = cli("dlq", "redrive", "-q", queues.dlq_url, "--reason", "image_not_found", "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert "Dry run: 3 of 6 messages read match" in result.stdout
    assert "Nothing was sent." in result.stdout
    assert before == depth(sqs, queues.dlq_url) == (6, 0)
    assert depth(sqs, queues.url) == (0, 0)


def test_explicit_target_queue(
    cli: Callable[..., Result], sqs: Any, queues: Queues, dead: dict[str, list[str]]
) -> None:
    other = sqs.create_queue(QueueName="replay")["QueueUrl"]

    result = cli("dlq", "redrive", "-q", queues.dlq_url, "--to", "replay", "--json")

    assert result.exit_code == 0, result.stderr
    assert _report(result)["sent"] == 6
    assert depth(sqs, other) == (6, 0)
    assert depth(sqs, queues.dlq_url) == (0, 0)


def test_a_dlq_nobody_uses_needs_to(cli: Callable[..., Result], sqs: Any) -> None:
    orphan = sqs.create_queue(QueueName="orphan-dlq")["QueueUrl"]

    result = cli("dlq", "redrive", "-q", orphan)

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: no queue has ")
    assert "pass --to URL" in result.stderr


def _many_dead(sqs: Any, queues: Queues, n: int) -> list[str]:
    return [
        send_dead(
            sqs,
            queues.dlq_url,
            code="throttled",
            repository="team/api",
            retryable=True,
            body=scan_body("team/api", f"many-{i}"),
        )
        for i in range(n)
    ]


def test_send_failure_midway_loses_nothing(
    cli: Callable[..., Result], aws: LocalAws, sqs: Any, queues: Queues
) -> None:
    bodies = _many_dead(sqs, queues, 25)
    # The first batch of ten goes through; the second is refused (not retryable).
    aws.inject_fault(
        "SendMessageBatch",
        code="AccessDenied",
        status=403,
        after=1,
        message="not authorized to send",
    )

    result = cli("dlq", "redrive", "-q", queues.dlq_url)

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: redrive stopped: sending to ")
    assert "AccessDenied" in result.stderr
    assert "Sent 10 of 20 matching messages" in result.stdout
    # Every message is in exactly one queue: ten sent (and deleted), fifteen still dead and
    # visible again at once.
    assert depth(sqs, queues.dlq_url) == (15, 0)
    in_source = [m["Body"] for m in drain(sqs, queues.url)]
    in_dlq = [m["Body"] for m in drain(sqs, queues.dlq_url)]
    assert len(in_source) == 10
    assert Counter(in_source + in_dlq) == Counter(bodies)


def test_delete_failure_duplicates_but_loses_nothing(
    cli: Callable[..., Result], aws: LocalAws, sqs: Any, queues: Queues
) -> None:
    bodies = _many_dead(sqs, queues, 12)
    aws.inject_fault("DeleteMessageBatch", code="AccessDenied", status=403)

    result = cli("dlq", "redrive", "-q", queues.dlq_url, "--json")

    assert result.exit_code == 1
    report = _report(result)
    assert (report["sent"], report["deleted"], len(report["not_deleted"])) == (10, 0, 10)
    assert result.stderr.startswith("error: redrive stopped: deleting from the DLQ")
    in_source = [m["Body"] for m in drain(sqs, queues.url)]
    in_dlq = [m["Body"] for m in drain(sqs, queues.dlq_url)]
    assert Counter(in_dlq) == Counter(bodies)  # all still dead...
    assert set(in_source) <= set(bodies) and len(in_source) == 10  # ...ten also sent back


def test_rate_limit_paces_the_sends(cli: Callable[..., Result], sqs: Any, queues: Queues) -> None:
    import time

    _many_dead(sqs, queues, 12)
    started = time.monotonic()
    result = cli("dlq", "redrive", "-q", queues.dlq_url, "--rate", "20", "--json")
    elapsed = time.monotonic() - started

    assert result.exit_code == 0, result.stderr
    assert _report(result)["sent"] == 12
    # Two batches (10 + 2 messages) at 20 a second: the second waits for the first's 0.5 s.
    assert elapsed >= 0.5


def test_an_unknown_reason_is_refused_with_the_known_ones(
    cli: Callable[..., Result], sqs: Any, queues: Queues, dead: dict[str, list[str]]
) -> None:
    result = cli("dlq", "redrive", "-q", queues.dlq_url, "--reason", "image_not_fond")

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "unknown reason 'image_not_fond' (did you mean image_not_found?)" in result.stderr
    for known in ("image_not_found", "throttled", "unknown", "eventbridge:<ERROR_CODE>"):
        assert known in result.stderr
    assert depth(sqs, queues.dlq_url) == (6, 0)  # nothing read, nothing sent


@pytest.mark.parametrize("reason", ["unknown", "eventbridge:NO_PERMISSIONS", "scan_failed"])
def test_every_kind_of_known_reason_is_accepted(
    cli: Callable[..., Result], queues: Queues, reason: str
) -> None:
    result = cli("dlq", "redrive", "-q", queues.dlq_url, "--reason", reason, "--dry-run")

    assert result.exit_code == 0, result.stderr
