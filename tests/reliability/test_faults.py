"""A bad day for AWS: fault storms on every ECR and Logs operation, a log group deleted under a
warm container. Redelivery is simulated as SQS does it: the failed records come back with their
``ApproximateReceiveCount`` incremented, until every message settles."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from typing import Any

import pytest

import lambdas.findings_logger as function

from .conftest import FIGURES, NOTES, Image, Rig, basic_findings, not_exactly_once

SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]
# Every ECR and CloudWatch Logs operation the consumer may call (faults on one it does not call
# simply stay pending).
OPERATIONS = [
    "DescribeImageScanFindings",
    "CreateLogGroup",
    "PutRetentionPolicy",
    "CreateLogStream",
    "DescribeLogStreams",
    "GetLogEvents",
    "PutLogEvents",
]
ERRORS = [
    ("ThrottlingException", 400),
    ("ServiceUnavailableException", 503),
    ("InternalFailure", 500),
]
MAX_ROUNDS = 40


def storm(rig: Rig, rng: random.Random, *, per_operation: int, spread: int) -> int:
    """Schedule throttles and 5xx errors over the next ``spread`` calls of every operation."""
    injected = 0
    for operation in OPERATIONS:
        for _ in range(per_operation):
            code, status = rng.choice(ERRORS)
            times = rng.randint(1, 3)
            rig.inject(
                operation, code=code, status=status, times=times, after=rng.randint(0, spread)
            )
            injected += times
    return injected


def redeliver_until_settled(
    rig: Rig, deliveries: dict[str, Image], *, cold_start_every: int = 5
) -> tuple[int, Counter[str]]:
    """Deliver every message, then its failures again (receive count + 1), until none fails.

    Returns the rounds it took and the outcomes of the acknowledged messages."""
    receive_counts = dict.fromkeys(deliveries, 1)
    settled: Counter[str] = Counter()
    for round_number in range(1, MAX_ROUNDS + 1):
        if round_number % cold_start_every == 0:
            function.reset()  # the redelivery lands in a new container
        records = [
            rig.record(deliveries[mid], message_id=mid, receive_count=receive_counts[mid])
            for mid in receive_counts
        ]
        response = rig.invoke(records)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        assert failed <= set(receive_counts), "an unknown itemIdentifier fails the whole batch"
        outcomes = rig.outcomes()
        for mid in set(receive_counts) - failed:
            line = outcomes[mid]
            assert line["outcome"] in ("done", "duplicate"), (
                f"{mid} died in the storm: {line['reason']}: {line['detail']}"
            )
            settled[line["outcome"]] += 1
            del receive_counts[mid]
        for mid in failed:
            receive_counts[mid] += 1
        if not receive_counts:
            return round_number, settled
    pytest.fail(f"{len(receive_counts)} messages still unsettled after {MAX_ROUNDS} deliveries")


def test_a_fault_storm_loses_and_duplicates_nothing(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No message may die of the storm itself: the queue would retry for as long as needed.
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "1000")
    monkeypatch.setenv("LOG_RETENTION_DAYS", "30")
    # No SDK retries: every fault reaches the consumer and is cured only by redelivery, so
    # every message is left half-written many times over (and no back-off sleeps slow the test).
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    function.reset()
    images = [
        rig.image(f"storm/repo-{i % 3}", f"v{i}", basic_findings(15 + 5 * i, seed=700 + i))
        for i in range(8)
    ]
    # At-least-once delivery: a quarter of the events arrive twice (different message ids).
    deliveries = {str(uuid.uuid4()): image for image in images}
    deliveries.update({str(uuid.uuid4()): image for image in images[::4]})
    injected = storm(rig, random.Random(7), per_operation=14, spread=70)

    rounds, settled = redeliver_until_settled(rig, deliveries)

    hit = injected - rig.faults_pending()
    FIGURES["faults_hit"] += hit
    rig.aws.clear_faults()
    tallies = rig.tally_all(images)
    NOTES.append(
        f"fault storm: {len(deliveries)} messages settled in {rounds} deliveries; "
        f"{hit} of {injected} faults hit; outcomes {dict(settled)}"
    )
    assert hit >= 50, "the storm barely touched the consumer: the test proves nothing"
    assert rounds > 1
    assert not_exactly_once(tallies) == {}
    assert rig.take_dead_letters() == {}


def test_a_storm_of_held_calls_loses_and_duplicates_nothing(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slow AWS: calls that hang, then fail unapplied, on top of throttles."""
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "1000")
    function.reset()
    images = [
        rig.image(f"slow/repo-{i % 2}", f"v{i}", basic_findings(20, seed=800 + i)) for i in range(4)
    ]
    deliveries = {str(uuid.uuid4()): image for image in images}
    rng = random.Random(8)
    for operation in ("DescribeImageScanFindings", "CreateLogStream", "PutLogEvents"):
        for _ in range(4):
            rig.inject(
                operation,
                code="ServiceUnavailableException",
                status=503,
                after=rng.randint(0, 30),
                delay_s=0.2,
            )
    storm(rig, rng, per_operation=4, spread=30)

    redeliver_until_settled(rig, deliveries)

    rig.aws.clear_faults()
    assert not_exactly_once(rig.tally_all(images)) == {}


def test_a_log_group_deleted_under_a_warm_container_is_recreated_in_the_same_attempt(
    rig: Rig,
) -> None:
    first = rig.image("team/gone", "v1", basic_findings(6, seed=900))
    assert rig.invoke([rig.record(first)]) == {"batchItemFailures": []}
    rig.logs.delete_log_group(logGroupName=first.group)  # the container still has it cached

    second = rig.image("team/gone", "v2", basic_findings(9, seed=901))
    response = rig.invoke([rig.record(second, message_id="second")])

    line: dict[str, Any] = rig.outcomes()["second"]
    assert response == {"batchItemFailures": []}, f"{line['reason']}: {line['detail']}"
    assert line["outcome"] == "done"
    assert not_exactly_once(rig.tally_all([second])) == {}


def test_a_log_group_deleted_between_batches_loses_no_image_of_the_next_batch(
    rig: Rig,
) -> None:
    """Several images of the deleted group in one batch, all logged on their first delivery."""
    warm = rig.image("team/purged", "v0", basic_findings(3, seed=910))
    rig.invoke([rig.record(warm)])
    rig.logs.delete_log_group(logGroupName=warm.group)
    images = [rig.image("team/purged", f"v{i}", basic_findings(5, seed=911 + i)) for i in (1, 2, 3)]

    response = rig.invoke([rig.record(image) for image in images])

    assert response == {"batchItemFailures": []}, sorted(
        {o["reason"] for o in rig.outcomes().values() if o["reason"]}
    )
    assert not_exactly_once(rig.tally_all(images)) == {}
