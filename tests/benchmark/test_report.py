"""The benchmark's arithmetic: the PutLogEvents minimum, completeness, targets, extrapolation."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from bench import report

MIB = 1_048_576


@pytest.mark.parametrize(
    ("events", "size", "minimum"),
    [
        (0, 0, 0),
        (1, 27, 1),
        (3, MIB, 1),  # exactly the byte limit
        (3, MIB + 1, 2),
        (10_000, 10_000 * 27, 1),  # exactly the event limit
        (10_001, 10_001 * 27, 2),
        (25_000, 5 * MIB, 5),  # bytes bind harder than the count
    ],
)
def test_min_put_calls_is_the_tighter_of_the_two_limits(
    events: int, size: int, minimum: int
) -> None:
    assert report.min_put_calls(events, size) == minimum


def _run(streams: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    stats = {
        "streams": streams,
        "violations": [],
        "rejected_events": 0,
        "unknown": {},
        "errors": {},
        "max_in_flight": 4,
        "calls": {"PutLogEvents": sum(s["puts"] for s in streams), "CreateLogStream": 2},
    }
    stats.update(extra)
    return {
        "records": 1,
        "wall_s": 2.0,
        "cpu_s": 0.5,
        "peak_rss_kib": 2048,
        "failures": [],
        "stats": stats,
    }


STREAMS = [
    {"group": "/g", "stream": "HIGH-t-d-x", "events": 3, "bytes": MIB + 10, "puts": 3},
    {"group": "/g", "stream": "SUMMARY-t-d-x", "events": 1, "bytes": 100, "puts": 1},
]


def test_figures_count_findings_summaries_and_the_minimum() -> None:
    expected = Counter({("/g", "HIGH-t-d-x"): 3, ("/g", "SUMMARY-t-d-x"): 1})
    fig = report.figures("ours", _run(STREAMS), expected)
    assert (fig.findings_logged, fig.summaries) == (3, 1)
    assert (fig.put_calls, fig.min_put_calls) == (4, 3)
    assert fig.put_ratio == pytest.approx(4 / 3)
    assert fig.cpu_us_per_finding == pytest.approx(0.5 / 3 * 1e6)
    assert fig.total_calls == 6
    assert fig.problems == []


def test_missing_or_extra_events_and_violations_make_the_run_invalid() -> None:
    expected = Counter({("/g", "HIGH-t-d-x"): 4, ("/g", "SUMMARY-t-d-x"): 1, ("/g", "LOW"): 1})
    run = _run(
        [*STREAMS, {"group": "/g", "stream": "MEDIUM", "events": 2, "bytes": 60, "puts": 1}],
        violations=[{"reason": "log events are not in chronological order"}],
        rejected_events=2,
    )
    run["failures"] = [{"itemIdentifier": "m1"}]
    problems = report.figures("ours", run, expected).problems
    assert any("chronological" in p for p in problems)
    assert any("2 log events rejected" in p for p in problems)
    assert any("batchItemFailures" in p for p in problems)
    assert any(p.startswith("2 log events missing in 2 streams") for p in problems)
    assert any(p.startswith("2 log events more than expected in 1 streams") for p in problems)


def test_a_publish_the_rules_refused_makes_the_run_invalid() -> None:
    expected = Counter({("/g", "HIGH-t-d-x"): 3, ("/g", "SUMMARY-t-d-x"): 1})
    refused = _run(STREAMS, publish_violations=["Publish: Subject must not be empty"])
    assert report.figures("ours", refused, expected).problems == [
        "refused by SNS's rules: Publish: Subject must not be empty"
    ]


def test_archive_writes_and_notifications_are_counted_from_the_endpoint() -> None:
    expected = Counter({("/g", "HIGH-t-d-x"): 3, ("/g", "SUMMARY-t-d-x"): 1})
    run = _run(STREAMS, s3_objects_written=1, sns_messages_published=1)
    run["stats"]["calls"] |= {"PutObject": 2, "Publish": 1}
    fig = report.figures("ours", run, expected)
    assert (fig.put_objects, fig.publishes) == (2, 1)
    assert (fig.objects_written, fig.messages_published) == (1, 1)
    assert fig.as_dict()["put_objects"] == 2
    text = report.table([fig])
    assert "PutObject calls" in text and "Publish calls" in text


def _fig(
    wall: float, cpu_us: float, ratio: float, *, sampled: int | None = None
) -> report.RunFigures:
    findings = 1000
    return report.RunFigures(
        label="x",
        records=10,
        wall_s=wall,
        cpu_s=cpu_us * findings / 1e6,
        peak_rss_kib=1,
        findings_logged=findings,
        summaries=10,
        calls={"PutLogEvents": round(100 * ratio)},
        put_calls=round(100 * ratio),
        min_put_calls=100,
        max_in_flight=1,
        failures=0,
        errors={},
        extrapolated_from=sampled,
    )


def test_targets_pass_only_inside_their_limits() -> None:
    passing = report.targets(_fig(200.0, 900, 10), _fig(10.0, 40, 1.0), _fig(9.0, 24.9, 1.05))
    assert [t.passed for t in passing] == [True, True, True]
    failing = report.targets(_fig(199.0, 900, 10), _fig(10.0, 20, 1.0), _fig(9.0, 25.1, 1.06))
    assert [t.passed for t in failing] == [False, False, False]
    assert failing[0].value == pytest.approx(19.9)


def test_a_nan_value_never_passes() -> None:
    assert not report.Target("cpu", math.nan, 25.0, at_most=True).passed


def test_extrapolation_scales_by_calls_and_says_so() -> None:
    sample = _fig(20.0, 900, 10)  # 1,000 calls
    full = report.extrapolate(sample, planned_calls_full=5_000, images_full=60, findings_full=7)
    assert full.wall_s == pytest.approx(100.0)
    assert full.put_calls == 5_000
    assert full.findings_logged == 7
    assert (full.records, full.extrapolated_from) == (60, 10)
    assert "extrapolated" in full.label
    assert "extrapolated" in report.targets(full, _fig(1.0, 1, 1), None)[0].note


def test_the_table_lists_every_run() -> None:
    text = report.table([_fig(20.0, 900, 10), _fig(1.0, 20, 1.0)])
    assert "PutLogEvents / minimum" in text
    assert "10.000" in text and "1.000" in text
