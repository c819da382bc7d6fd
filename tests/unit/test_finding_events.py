"""Finding events ("Inspector2 Finding"): their times, decoding, names, and the writer's pure
grouping and de-duplication."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from localaws.finding_examples import (
    DIGEST,
    DOCUMENTED_JAVA_FORMAT,
    DOCUMENTED_US_FORMAT,
)
from localaws.registry import finding_event, finding_time
from pipeline import layout
from pipeline.batching import LogEvent, batch_is_legal, minimum_batches, pack
from pipeline.errors import PermanentError
from pipeline.events import FindingEvent, ImageScan, decode
from pipeline.finding_time import parse_finding_time
from pipeline.writers.finding_events import (
    dedupe,
    finding_context,
    group_chronologically,
    logged_event_id,
)


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def decoded(event: dict[str, Any]) -> FindingEvent:
    result = decode(orjson.dumps(event))
    assert isinstance(result, FindingEvent)
    return result


def rejection(event: object) -> tuple[str, str]:
    with pytest.raises(PermanentError) as caught:
        decode(orjson.dumps(event))
    return caught.value.code, caught.value.message


# ---- times -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dec 3, 2021, 6:02:30 PM", ms(2021, 12, 3, 18, 2, 30)),
        ("Dec 3, 2021, 12:02:30 AM", ms(2021, 12, 3, 0, 2, 30)),
        ("Dec 3, 2021, 12:02:30 PM", ms(2021, 12, 3, 12, 2, 30)),
        ("Wed Sep 04 16:55:38.411 UTC 2024", ms(2024, 9, 4, 16, 55, 38) + 411),
        ("Wed Sep 04 16:55:38 UTC 2024", ms(2024, 9, 4, 16, 55, 38)),
        ("2024-09-04T16:55:38.411Z", ms(2024, 9, 4, 16, 55, 38) + 411),
        ("2024-09-04T18:55:38+02:00", ms(2024, 9, 4, 16, 55, 38)),
        ("2024-09-04T16:55:38", ms(2024, 9, 4, 16, 55, 38)),
        ("1725468938411", ms(2024, 9, 4, 16, 55, 38) + 411),
        (1725468938.411, ms(2024, 9, 4, 16, 55, 38) + 411),
    ],
)
def test_every_known_finding_time_format_parses(text: object, expected: int) -> None:
    assert parse_finding_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "Foo 3, 2021, 6:02:30 PM",
        "Dec 32, 2021, 6:02:30 PM",
        "Dec 3, 2021, 13:02:30 PM",
        "Wed Sep 04 16:55:38.411 CEST 2024",
        "x" * 100,
        None,
        True,
        [],
    ],
)
def test_a_time_in_no_known_format_is_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_finding_time(text)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_the_builders_formats_read_back(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC)
    whole_seconds = int(moment.timestamp()) * 1000
    assert parse_finding_time(finding_time(moment, "us")) == whole_seconds
    millis = whole_seconds + moment.microsecond // 1000
    assert parse_finding_time(finding_time(moment, "java")) == millis
    assert parse_finding_time(finding_time(moment, "iso")) == millis


# ---- decoding ----------------------------------------------------------------------------


def test_the_older_documented_shape() -> None:
    finding = decoded(DOCUMENTED_US_FORMAT)
    assert finding.repository == "team/web"  # a '/' in the name
    assert finding.digest == DIGEST
    assert finding.tags == ()  # untagged
    assert (finding.account, finding.region) == ("123456789012", "us-east-2")  # not "N/A"
    assert finding.status == "ACTIVE"
    assert finding.severity == "CRITICAL"
    assert finding.updated_at_ms == ms(2021, 12, 3, 18, 2, 30)
    assert finding.timestamp_ms == ms(2021, 12, 3, 18, 2, 30)
    assert finding.detail == DOCUMENTED_US_FORMAT["detail"]  # as delivered


def test_the_newer_documented_shape() -> None:
    finding = decoded(DOCUMENTED_JAVA_FORMAT)
    assert finding.repository == "platform/base/api"
    assert finding.tags == ("v1.4.2", "latest")
    assert (finding.account, finding.region) == ("111122223333", "eu-west-1")
    assert finding.status == "CLOSED"
    assert finding.updated_at_ms == ms(2024, 9, 4, 16, 55, 38) + 411
    assert finding.finding_arn.endswith("finding/0f3c6a8e2d1b4a5c9e7f")


def test_scan_events_still_decode_to_image_scans(ecr_event: dict[str, Any]) -> None:
    assert isinstance(decode(orjson.dumps(ecr_event)), ImageScan)


def test_without_image_details_the_arn_names_the_image() -> None:
    event = copy.deepcopy(DOCUMENTED_US_FORMAT)
    del event["detail"]["resources"][0]["details"]
    event["region"] = None
    finding = decoded(event)
    assert (finding.repository, finding.digest) == ("team/web", DIGEST)  # split on /sha256:
    assert finding.region == "us-east-2"  # from the ARN, the resource's "N/A" ignored


def test_the_builders_event_decodes() -> None:
    moment = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    event = finding_event(
        repository="a/b/c", digest=DIGEST, tags=["t"], updated_at=moment, time_format="us"
    )
    finding = decoded(event)
    assert (finding.repository, finding.tags, finding.updated_at_ms) == (
        "a/b/c",
        ("t",),
        ms(2026, 11, 29, 6, 0),
    )


Edit = Callable[[dict[str, Any]], None]


def _detail(**changes: Any) -> Edit:
    def edit(event: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is None:
                event["detail"].pop(key, None)
            else:
                event["detail"][key] = value

    return edit


def _image(**changes: Any) -> Edit:
    def edit(event: dict[str, Any]) -> None:
        image = event["detail"]["resources"][0]["details"]["awsEcrContainerImage"]
        for key, value in changes.items():
            image.pop(key, None) if value is None else image.__setitem__(key, value)

    return edit


def _no_arns(event: dict[str, Any]) -> None:
    event["resources"] = []
    event["detail"]["resources"][0]["id"] = "not-an-arn"


def _ec2(event: dict[str, Any]) -> None:
    event["resources"] = ["i-0c2a343f1948d5205"]
    event["detail"]["resources"] = [{"id": "i-0c2a343f1948d5205", "type": "AWS_EC2_INSTANCE"}]


def _lambda(event: dict[str, Any]) -> None:
    event["detail"]["resources"] = [{"id": "arn:aws:lambda:…", "type": "AWS_LAMBDA_FUNCTION"}]


def _both(*edits: Edit) -> Edit:
    def edit(event: dict[str, Any]) -> None:
        for e in edits:
            e(event)

    return edit


@pytest.mark.parametrize(
    ("edit", "code", "says"),
    [
        pytest.param(_detail(findingArn=None), "finding_arn_missing", "findingArn", id="no-arn"),
        pytest.param(_detail(findingArn=" "), "finding_arn_missing", "findingArn", id="blank-arn"),
        pytest.param(_ec2, "not_an_ecr_finding", "AWS_EC2_INSTANCE", id="ec2"),
        pytest.param(_lambda, "not_an_ecr_finding", "AWS_LAMBDA_FUNCTION", id="lambda"),
        pytest.param(_detail(resources=None), "not_an_ecr_finding", "[]", id="no-resources"),
        pytest.param(
            _both(_image(imageHash=None), _no_arns), "image_digest_missing", "imageHash", id="dig"
        ),
        pytest.param(_image(imageHash="sha256:zz"), "invalid_event", "imageHash", id="bad-dig"),
        pytest.param(
            _detail(updatedAt="the day before"), "finding_time_invalid", "updatedAt", id="time"
        ),
        pytest.param(
            _image(repositoryName="Not/Valid"), "invalid_event", "repositoryName", id="repo"
        ),
        pytest.param(_image(imageTags=["x" * 301]), "invalid_event", "imageTags", id="tag"),
        pytest.param(_image(imageTags="latest"), "invalid_event", "imageTags", id="tags-str"),
        pytest.param(_detail(status="X" * 40), "invalid_event", "status", id="status"),
        pytest.param(_detail(findingArn="a" * 3000), "invalid_event", "2048", id="long-arn"),
    ],
)
def test_an_unusable_finding_event_is_rejected(edit: Edit, code: str, says: str) -> None:
    event = copy.deepcopy(DOCUMENTED_JAVA_FORMAT)
    edit(event)
    got_code, message = rejection(event)
    assert got_code == code
    assert says in message
    assert len(message) < 1_000  # bounded, whatever the event held


def test_an_envelope_problem_is_an_invalid_event() -> None:
    event = copy.deepcopy(DOCUMENTED_JAVA_FORMAT)
    event["time"] = "Wed Sep 04 16:55:38.411 UTC 2024"  # the envelope's time is ISO 8601
    assert rejection(event)[0] == "invalid_event"
    del event["detail"]
    assert rejection(event)[0] == "invalid_event"


def test_a_missing_updated_at_falls_back_to_the_event_time() -> None:
    event = copy.deepcopy(DOCUMENTED_JAVA_FORMAT)
    del event["detail"]["updatedAt"]
    assert decoded(event).updated_at_ms == ms(2024, 9, 4, 16, 55, 39)


# ---- names and messages ------------------------------------------------------------------


def test_the_day_stream_is_not_an_image_scan_stream() -> None:
    name = layout.finding_events_stream(ms(2026, 11, 29, 23, 59, 59))
    assert name == "FINDING-EVENTS-2026-11-29"
    assert layout.parse_stream_name(name) is None


def test_a_logged_message_gives_back_its_event_id() -> None:
    finding = decoded(DOCUMENTED_JAVA_FORMAT)
    context = finding_context(finding, finding.region)
    assert context["updatedAt"] == "2024-09-04T16:55:38.411Z"
    message = orjson.dumps({**finding.detail, "imageContext": context}).decode()
    assert logged_event_id(message) == finding.event_id
    nested = orjson.dumps({"imageContext": 1, "_imageContext": context}).decode()
    assert logged_event_id(nested) == finding.event_id
    assert logged_event_id('{"CRITICAL": 1, "imageContext": {"scanKind": "basic"}}') is None
    assert logged_event_id("not json") is None


# ---- the writer's pure parts -------------------------------------------------------------

ids = st.text(alphabet="abcdef", min_size=1, max_size=3)


@given(st.lists(ids, max_size=60), st.sets(ids, max_size=10))
def test_dedupe_keeps_each_new_key_once_in_order(keys: list[str], known: set[str]) -> None:
    items = list(enumerate(keys))
    kept, duplicates = dedupe(items, lambda item: item[1], known)
    assert sorted(kept + duplicates) == items  # nothing lost, nothing invented
    kept_keys = [k for _, k in kept]
    assert len(kept_keys) == len(set(kept_keys))
    assert not set(kept_keys) & known
    assert set(kept_keys) == set(keys) - known
    assert kept == sorted(kept) and duplicates == sorted(duplicates)  # order kept
    for index, key in kept:  # the first occurrence is the one kept
        assert index == keys.index(key)


events = st.builds(
    lambda stream, ts, size: (stream, LogEvent(ts, "m" * size, size)),
    st.sampled_from(["a", "b", "c"]),
    st.integers(0, 86_400_000 - 1),
    st.integers(1, 300_000),
)


@given(st.lists(events, max_size=80))
def test_grouped_events_pack_legally_and_tightly(items: list[tuple[str, LogEvent]]) -> None:
    groups = group_chronologically(items, lambda i: i[0], lambda i: i[1].timestamp)
    assert sum(len(g) for g in groups.values()) == len(items)
    for name, group in groups.items():
        # Exactly this stream's items, in time order, ties in the order they came.
        mine = [i for i in items if i[0] == name]
        assert [id(x) for x in group] == [id(x) for x in sorted(mine, key=lambda i: i[1].timestamp)]
        batches = list(pack(e for _, e in group))
        assert all(batch_is_legal(b) for b in batches)
        assert [e for b in batches for e in b] == [e for _, e in group]
        # Within one day stream, only bytes and counts decide: greedy is near the bound.
        assert len(batches) <= minimum_batches([e for _, e in group]) * 2
