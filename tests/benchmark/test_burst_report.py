"""The burst's arithmetic: the PutLogEvents minimum per batch and stream, completeness, the
targets' verdicts and the quotas' ceiling."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from bench import burst_report, report
from bench.report import StreamKey
from pipeline import limits
from pipeline.config import load_settings

MIB = limits.PUT_LOG_EVENTS_MAX_BYTES
A, B = ("/g/a", "FINDING-EVENTS-2026-03-10"), ("/g/b", "FINDING-EVENTS-2026-03-10")


def _stream(key: StreamKey, events: int, size: int, puts: int) -> dict[str, Any]:
    return {"group": key[0], "stream": key[1], "events": events, "bytes": size, "puts": puts}


def _run(
    streams: list[dict[str, Any]], *, creates: int = 0, wall: float = 1.0, cpu: float = 0.1
) -> dict[str, Any]:
    calls = {"PutLogEvents": sum(s["puts"] for s in streams)}
    if creates:
        calls["CreateLogStream"] = creates
    return {
        "records": sum(s["events"] for s in streams),
        "wall_s": wall,
        "cpu_s": cpu,
        "system_s": cpu / 10,
        "gc_s": cpu / 20,
        "peak_rss_kib": 4096,
        "failures": [],
        "stats": {
            "streams": streams,
            "calls": calls,
            "errors": {},
            "violations": [],
            "rejected_events": 0,
            "unknown": {},
            "max_in_flight": 3,
        },
    }


def test_the_minimum_is_per_stream_of_each_batch_the_tighter_limit() -> None:
    one_batch = _run(
        [
            _stream(A, 5, 5 * 2_000, 1),  # small: one call
            _stream(B, 900, MIB + 1, 2),  # one byte over a call's size: two
        ]
    )
    assert burst_report.min_put_calls(one_batch) == 1 + 2
    many = _run([_stream(A, 25_000, 25_000 * 30, 3)])  # the count binds: 10,000 a call
    assert burst_report.min_put_calls(many) == 3
    # Two batches writing one stream cannot share a call: each counts on its own.
    fig = burst_report.figures(
        "x",
        [_run([_stream(A, 5, 500, 1)]), _run([_stream(A, 5, 500, 1)])],
        [Counter({A: 5}), Counter({A: 5})],
    )
    assert (fig.put_calls, fig.min_put_calls) == (2, 2)
    assert fig.put_ratio == 1.0


def test_figures_add_the_batches_up() -> None:
    runs = [
        _run([_stream(A, 6, 600, 2), _stream(B, 4, 400, 1)], creates=2, wall=2.0, cpu=0.5),
        _run([_stream(A, 10, 1_000, 1)], wall=1.0, cpu=0.25),
    ]
    expected = [Counter({A: 6, B: 4}), Counter({A: 10})]
    fig = burst_report.figures("whole", runs, expected)
    assert fig.problems == []
    assert (fig.batches, fig.records, fig.events_logged) == (2, 20, 20)
    assert (fig.put_calls, fig.min_put_calls, fig.create_stream_calls) == (4, 3, 2)
    assert fig.repository_days == 2
    assert fig.wall_s == pytest.approx(3.0)
    assert fig.events_per_s == pytest.approx(20 / 3.0)
    assert fig.cpu_us_per_event == pytest.approx(0.75 / 20 * 1e6)
    assert fig.events_per_put == pytest.approx(5.0)
    assert fig.peak_rss_kib == 4096
    assert fig.gc_s == pytest.approx(0.75 / 20)


def test_a_batch_that_logged_wrongly_is_named_in_the_problems() -> None:
    runs = [_run([_stream(A, 6, 600, 1)]), _run([_stream(A, 9, 900, 1), _stream(B, 1, 9, 1)])]
    runs[1]["failures"] = [{"itemIdentifier": "m7"}]
    runs[1]["stats"]["violations"] = [{"reason": "log events are not in chronological order"}]
    expected = [Counter({A: 6}), Counter({A: 10})]
    problems = burst_report.figures("whole", runs, expected, first_batch=4).problems
    assert all(p.startswith("batch 6: ") for p in problems)  # the second run is batch 6
    assert any("1 log events missing in 1 streams" in p for p in problems)
    assert any("1 log events more than expected in 1 streams" in p for p in problems)
    assert any("batchItemFailures" in p for p in problems)
    assert any("chronological" in p for p in problems)


def test_one_expectation_per_run() -> None:
    with pytest.raises(ValueError, match="one expectation per run"):
        burst_report.figures("x", [_run([])], [])


def _figures(
    *, events: int = 20_000, wall: float, puts: int, minimum: int, creates: int, cpu: float
) -> burst_report.BurstFigures:
    return burst_report.BurstFigures(
        label="whole burst",
        batches=20,
        records=events,
        events_logged=events,
        wall_s=wall,
        cpu_s=cpu,
        system_s=0.0,
        gc_s=0.0,
        peak_rss_kib=1,
        calls={"PutLogEvents": puts, "CreateLogStream": creates},
        put_calls=puts,
        min_put_calls=minimum,
        create_stream_calls=creates,
        repository_days=200,
        max_in_flight=1,
        failures=0,
        errors={},
    )


def test_targets_met_say_pass_and_missed_say_fail() -> None:
    met = burst_report.targets(_figures(wall=4.0, puts=4_200, minimum=4_000, creates=200, cpu=0.6))
    assert [t.passed for t in met] == [True, True, True, True]
    assert report.target_lines(met).count("[PASS]") == 4
    missed = burst_report.targets(
        _figures(wall=4.01, puts=4_201, minimum=4_000, creates=201, cpu=0.6002)
    )
    assert [t.passed for t in missed] == [False, False, False, False]
    lines = report.target_lines(missed).splitlines()
    assert all(line.startswith("  [FAIL] ") for line in lines)
    stream_line = lines[2]
    assert "CreateLogStream calls (at most one per repository per day): 201" in stream_line
    assert "(target <= 200)" in stream_line
    assert missed[0].value == pytest.approx(20_000 / 4.01)
    assert missed[3].value == pytest.approx(30.01)


def test_nothing_logged_never_passes() -> None:
    empty = _figures(events=0, wall=0.0, puts=0, minimum=0, creates=0, cpu=0.0)
    checks = burst_report.targets(empty)
    assert math.isnan(empty.events_per_s) and math.isnan(empty.put_ratio)
    assert [t.passed for t in checks] == [False, False, True, False]


def test_the_ceiling_is_the_quotas_at_the_minimum_calls() -> None:
    fig = _figures(wall=8.0, puts=4_100, minimum=4_000, creates=200, cpu=8.0)
    settings = load_settings({"CREATE_LOG_STREAM_RATE": "40", "PUT_LOG_EVENTS_RATE": "1000"})
    ceiling = burst_report.ceiling(fig, settings)
    assert ceiling.events_per_put == pytest.approx(5.0)  # at the minimum, not the calls made
    assert ceiling.consumer_events_per_s == pytest.approx(5_000.0)
    assert ceiling.account_events_per_s == pytest.approx(5.0 * limits.QUOTA_PUT_LOG_EVENTS_TPS)
    # 200 streams at 40/s, 40 of them at once: 4 s; 4,000 puts at 1,000/s: 3 s.
    assert ceiling.creation_s(40) == pytest.approx(4.0)
    assert ceiling.consumer_burst_events_per_s == pytest.approx(20_000 / 4.0)
    # The account's 50 TPS: 3 s of creations; 5,000 puts a second: none to wait for.
    assert ceiling.account_burst_events_per_s == pytest.approx(20_000 / 3.0)
    text = burst_report.ceiling_lines(ceiling)
    assert "5,000 events/s for this consumer" in text and "25,000 events/s" in text
    assert "take >= 4.0 s at this consumer's 40/s, 3.0 s at the account's 50 TPS" in text


def test_puts_can_bound_the_ceiling_and_nothing_to_wait_for_is_unbounded() -> None:
    ceiling = burst_report.Ceiling(
        events=30_000, min_puts=6_000, streams=10, put_rate=1_000, create_stream_rate=25
    )
    assert ceiling.consumer_burst_events_per_s == pytest.approx(30_000 / 5.0)
    small = burst_report.Ceiling(
        events=100, min_puts=10, streams=10, put_rate=1_000, create_stream_rate=25
    )
    assert small.consumer_burst_events_per_s == math.inf


def test_the_table_has_a_column_per_part() -> None:
    parts = [
        _figures(wall=8.0, puts=4_000, minimum=4_000, creates=200, cpu=8.0),
        _figures(events=1_000, wall=3.0, puts=200, minimum=200, creates=200, cpu=1.0),
    ]
    text = burst_report.table(parts)
    assert text.splitlines()[0].count("whole burst") == 2
    assert "PutLogEvents / minimum" in text and "CreateLogStream calls" in text
    assert "2,500" in text  # 20,000 events in 8 s
