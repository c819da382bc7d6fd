"""The archive's and the notifications' cost: the settings of the archived run, which images
are worth a notification, and the cost targets and problems (no timing here)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import cost
from pipeline import layout
from pipeline.config import load_settings


def test_the_archived_run_turns_both_features_on_and_the_plain_run_off() -> None:
    off, on = cost.environments({"CREATE_LOG_STREAM_RATE": "45", "ARCHIVE_BUCKET": "mine"})
    assert off == {"CREATE_LOG_STREAM_RATE": "45"}
    assert on["ARCHIVE_BUCKET"] == "mine"  # a bucket given is kept for the archived run
    assert on["NOTIFY_TOPIC_ARN"] == cost.TOPIC_ARN
    assert on["CREATE_LOG_STREAM_RATE"] == "45"
    settings = load_settings(on)  # every value is one the handler accepts
    assert settings.notify_min_severity == cost.THRESHOLD
    assert settings.notify_max_messages == int(cost.UNBOUNDED_MESSAGES)
    _, lowered = cost.environments({"NOTIFY_MIN_SEVERITY": "HIGH"})
    assert lowered["NOTIFY_MIN_SEVERITY"] == "HIGH"


def test_an_image_is_worth_a_notification_from_one_finding_at_the_threshold() -> None:
    assert cost.worth_notifying(["LOW", "critical"], "CRITICAL")
    assert cost.worth_notifying(["HIGH"], "HIGH")
    assert not cost.worth_notifying(["HIGH", "MEDIUM", None, "UNTRIAGED"], "CRITICAL")
    assert not cost.worth_notifying([], "LOW")


@given(
    st.lists(st.sampled_from([*layout.SEVERITY_ORDER, "UNTRIAGED"])),
    st.sampled_from(layout.SEVERITY_ORDER),
)
def test_lowering_the_threshold_never_notifies_fewer(severities: list[str], threshold: str) -> None:
    lower = layout.SEVERITY_ORDER[-1]
    if cost.worth_notifying(severities, threshold):
        assert cost.worth_notifying(severities, lower)


def _targets(**overrides: float) -> list[bool]:
    figures = {
        "put_objects": 60,
        "objects_expected": 60,
        "publishes": 53,
        "notified": 53,
        "rate_off": 2_000.0,
        "rate_on": 1_800.0,
    } | overrides
    checks = cost.targets(
        "scans",
        unit="image scan",
        put_objects=int(figures["put_objects"]),
        objects_expected=int(figures["objects_expected"]),
        publishes=int(figures["publishes"]),
        notified=int(figures["notified"]),
        rate_off=figures["rate_off"],
        rate_on=figures["rate_on"],
    )
    return [c.passed for c in checks]


def test_cost_targets_pass_at_their_limits_and_fail_beyond() -> None:
    assert _targets() == [True, True, True]  # one call each, 0.9 of the throughput
    assert _targets(put_objects=61, publishes=54, rate_on=1_799.0) == [False, False, False]
    assert _targets(publishes=10) == [True, True, True]  # fewer notifications is within "at most"


def test_calls_with_nothing_expected_fail_and_no_calls_pass() -> None:
    assert _targets(notified=0, publishes=0)[1] is True
    assert _targets(notified=0, publishes=1)[1] is False
    ratio = cost.targets(
        "burst",
        unit="x",
        put_objects=0,
        objects_expected=0,
        publishes=0,
        notified=0,
        rate_off=0.0,
        rate_on=1.0,
    )[2]
    assert math.isnan(ratio.value) and not ratio.passed


@pytest.mark.parametrize(
    ("written", "published", "expected_messages", "problems"),
    [(8, 6, 6, 0), (7, 6, 6, 1), (8, 5, 6, 1), (7, 5, 6, 2), (8, 0, None, 0)],
)
def test_an_object_or_notification_missing_makes_the_run_invalid(
    written: int, published: int, expected_messages: int | None, problems: int
) -> None:
    found = cost.problems(
        "archived cold",
        objects_written=written,
        objects_expected=8,
        messages_published=published,
        messages_expected=expected_messages,
    )
    assert len(found) == problems
    assert all(p.startswith("archived cold: ") for p in found)
