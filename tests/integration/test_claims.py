"""Who writes an image: the claim, backing off, taking over, and nothing left behind."""

from __future__ import annotations

import time

import pytest

from localaws.findings import basic_findings
from pipeline import layout

from .conftest import Pipeline


def reset_function() -> None:
    import lambdas.findings_logger as function

    function.reset()


def test_a_fresh_claim_of_another_consumer_is_backed_off_from(pipeline: Pipeline) -> None:
    image = pipeline.image("team/claimed", "v1", basic_findings(12, seed=31))
    # Another consumer created the SUMMARY stream a moment ago and is writing the image.
    pipeline.logs.create_log_group(logGroupName=image.group)
    pipeline.logs.create_log_stream(logGroupName=image.group, logStreamName=image.stream("SUMMARY"))

    response = pipeline.invoke([pipeline.record(image, message_id="second")])

    assert response == {"batchItemFailures": [{"itemIdentifier": "second"}]}
    line = pipeline.outcomes()["second"]
    assert (line["outcome"], line["reason"]) == ("retry", "image_claimed")
    assert "another consumer has been logging it since" in line["detail"]
    # It wrote nothing and took nothing: the claim is still the other consumer's.
    assert pipeline.streams(image.group) == [image.stream("SUMMARY")]
    assert pipeline.aws.calls["PutLogEvents"] == 0


def test_a_claim_older_than_the_timeout_is_taken_over_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIM_TIMEOUT_SECONDS", "1")
    reset_function()
    findings = basic_findings(20, seed=32, severities=["HIGH", "LOW"])
    image = pipeline.image("team/orphan", "v1", findings)
    # Its first consumer died after the claim and part of one stream.
    pipeline.logs.create_log_group(logGroupName=image.group)
    pipeline.logs.create_log_stream(logGroupName=image.group, logStreamName=image.stream("SUMMARY"))
    time.sleep(1.2)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    streams = pipeline.image_messages(image)
    assert set(streams) == {image.stream("HIGH"), image.stream("LOW"), image.stream("SUMMARY")}
    assert sum(len(events) for name, events in streams.items() if "SUMMARY" not in name) == 20
    assert len(streams[image.stream("SUMMARY")]) == 1
    # The takeover's own claim stream is gone once the SUMMARY event speaks for the image.
    assert not [s for s in pipeline.streams(image.group) if s.startswith(layout.CLAIM)]

    # A third delivery is a duplicate.
    assert pipeline.invoke([image]) == {"batchItemFailures": []}
    assert {o["outcome"] for o in pipeline.outcomes().values()} == {"duplicate"}


def test_a_takeover_already_taken_is_backed_off_from(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIM_TIMEOUT_SECONDS", "3")
    reset_function()
    assert pipeline.invoke([]) == {"batchItemFailures": []}  # warm: no cold start below
    image = pipeline.image("team/contended", "v1", basic_findings(5, seed=33))
    summary = image.stream("SUMMARY")
    pipeline.logs.create_log_group(logGroupName=image.group)
    pipeline.logs.create_log_stream(logGroupName=image.group, logStreamName=summary)
    time.sleep(3.2)
    # A second consumer took the dead one's place just now.
    taken = layout.claim_stream(summary, 1)
    pipeline.logs.create_log_stream(logGroupName=image.group, logStreamName=taken)

    response = pipeline.invoke([pipeline.record(image, message_id="third")])

    assert response == {"batchItemFailures": [{"itemIdentifier": "third"}]}
    assert pipeline.outcomes()["third"]["reason"] == "image_claimed"
    assert pipeline.streams(image.group) == sorted([summary, taken])


def test_a_log_group_deleted_while_cached_is_recreated_in_the_same_attempt(
    pipeline: Pipeline,
) -> None:
    first = pipeline.image("team/vanishing", "v1", basic_findings(4, seed=34))
    assert pipeline.invoke([first]) == {"batchItemFailures": []}
    pipeline.logs.delete_log_group(logGroupName=first.group)  # the warm container still has it

    second = pipeline.image("team/vanishing", "v2", basic_findings(6, seed=35))
    assert pipeline.invoke([pipeline.record(second, message_id="after")]) == {
        "batchItemFailures": []
    }

    line = pipeline.outcomes()["after"]
    assert (line["outcome"], line["findings"]) == ("done", 6)
    assert any("log group recreated" in note for note in line["notes"])
    assert len(pipeline.image_messages(second)[second.stream("SUMMARY")]) == 1


def test_an_event_for_a_repository_that_does_not_exist_leaves_no_log_group(
    pipeline: Pipeline,
) -> None:
    image = pipeline.image("team/real", "v1", basic_findings(2, seed=36))
    bogus = image.body.replace("team/real", "team/never-created")

    pipeline.invoke([pipeline.record(bogus, message_id="bogus")])

    assert pipeline.outcomes()["bogus"]["reason"] == "repository_not_found"
    groups = pipeline.logs.describe_log_groups(logGroupNamePrefix=image.group.rsplit("/", 1)[0])
    assert [g["logGroupName"] for g in groups["logGroups"]] == []
    assert pipeline.aws.calls["CreateLogGroup"] == 0


def test_an_image_deleted_before_its_event_leaves_no_stream(pipeline: Pipeline) -> None:
    kept = pipeline.image("team/mixed", "v1", basic_findings(3, seed=37))
    gone = pipeline.image("team/mixed", "v2", basic_findings(3, seed=38))
    pipeline.ecr.batch_delete_image(
        repositoryName="team/mixed", imageIds=[{"imageDigest": gone.digest}]
    )

    pipeline.invoke([pipeline.record(kept), pipeline.record(gone, message_id="gone")])

    assert pipeline.outcomes()["gone"]["reason"] == "image_not_found"
    assert not [s for s in pipeline.streams(gone.group) if gone.digest[7:] in s]
    assert len(pipeline.image_messages(kept)[kept.stream("SUMMARY")]) == 1


def test_a_scan_that_is_not_ready_leaves_no_summary_stream(pipeline: Pipeline) -> None:
    image = pipeline.image("team/early", "v1", [], status="IN_PROGRESS")

    response = pipeline.invoke([pipeline.record(image, message_id="early")])

    assert response == {"batchItemFailures": [{"itemIdentifier": "early"}]}
    assert pipeline.outcomes()["early"]["reason"] == "scan_in_progress"
    # Nothing was created for it: the first page said "not yet" before any group or stream.
    groups = pipeline.logs.describe_log_groups(logGroupNamePrefix=image.group)["logGroups"]
    assert groups == []

    # In a group that exists, the SUMMARY stream (the claim) is given back.
    other = pipeline.image("team/early", "v2", basic_findings(2, seed=40))
    assert pipeline.invoke([other]) == {"batchItemFailures": []}
    pipeline.invoke([pipeline.record(image, message_id="early")])
    assert pipeline.outcomes()["early"]["reason"] == "scan_in_progress"
    assert not [s for s in pipeline.streams(image.group) if image.digest[7:] in s]


def test_a_logged_image_deleted_later_is_a_duplicate_not_dead(pipeline: Pipeline) -> None:
    image = pipeline.image("team/retired", "v1", basic_findings(3, seed=39))
    assert pipeline.invoke([image]) == {"batchItemFailures": []}
    pipeline.ecr.batch_delete_image(
        repositoryName="team/retired", imageIds=[{"imageDigest": image.digest}]
    )
    reset_function()

    assert pipeline.invoke([pipeline.record(image, message_id="late")]) == {"batchItemFailures": []}
    assert pipeline.outcomes()["late"]["outcome"] == "duplicate"
    assert pipeline.dead_letters() == []
