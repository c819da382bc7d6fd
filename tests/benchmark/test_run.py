"""`python -m bench.run` end to end, on a tiny data set and no latency (nothing is timed here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import run

TINY = ["--images", "4", "--max-findings", "40", "--latency-ms", "0", "--seed", "3"]
SCANS = [*TINY, "--scenario", "scans"]
BURST = [
    *TINY,
    "--scenario",
    "burst",
    *("--burst-events", "90", "--burst-images", "15", "--burst-repositories", "6"),
    *("--burst-batch", "40"),
]


def _result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[dict[str, Any], str]:
    out = tmp_path / "result.json"
    status = run.main([*args, "--json", str(out)])
    result: dict[str, Any] = orjson.loads(out.read_bytes())
    assert status == result["exit_status"]
    assert status in (0, 1)  # targets are meaningless at this size, but the run is valid
    assert result["problems"] == []
    printed = capsys.readouterr().out
    assert "targets:" in printed
    return result, printed


def test_a_run_measures_both_contenders_on_the_same_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everything, _ = _result(tmp_path, capsys, *SCANS)
    assert "burst" not in everything
    result = everything["scans"]
    baseline, cold, warm, archived_cold, archived_warm = result["runs"]
    assert [r["label"] for r in result["runs"]] == [
        "baseline",
        "ours cold",
        "ours warm",
        "archived cold",
        "archived warm",
    ]
    # Ours logs every finding of every image, cold and warm; each image gets its summary.
    assert cold["findings_logged"] == warm["findings_logged"] == result["data"]["findings"]
    assert cold["summaries"] == warm["summaries"] == baseline["summaries"] == 4
    # Archived: the same logs, one object per image, one notification per image worth one.
    notified = result["cost"]["notified_images"]
    assert 0 < notified <= 4
    for run_ in (archived_cold, archived_warm):
        assert run_["findings_logged"] == result["data"]["findings"]
        assert run_["put_objects"] == run_["objects_written"] == 4
        assert run_["publishes"] == run_["messages_published"] == notified
    assert cold["put_objects"] == warm["publishes"] == baseline["put_objects"] == 0
    cost_targets = {t["name"]: t for t in result["cost"]["targets"]}
    assert cost_targets["scans: PutObject calls / image scan logged"]["value"] == 1.0
    ratio = cost_targets["scans: throughput with archive and notifications / without"]
    assert ratio["value"] == pytest.approx(archived_warm["findings_per_s"] / warm["findings_per_s"])
    # The baseline makes one PutLogEvents call per event it writes.
    assert baseline["put_calls"] == baseline["findings_logged"] + baseline["summaries"]
    assert result["targets"][0]["value"] == pytest.approx(baseline["wall_s"] / cold["wall_s"])
    assert everything["settings_overridden"] == {}


def test_settings_sampling_and_profiling_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "warm.pstats"
    everything, printed = _result(
        tmp_path,
        capsys,
        *SCANS,
        "--set",
        "MAX_CONCURRENT_PUTS=4",
        "--baseline-sample",
        "2",
        "--profile",
        str(profile),
    )
    result = everything["scans"]
    baseline = result["runs"][0]
    assert everything["settings"]["MAX_CONCURRENT_PUTS"] == 4
    assert baseline["extrapolated_from"] == 2
    assert baseline["records"] == 4
    # Every finding of this tiny set is on a first page: the full baseline would log them all.
    assert baseline["findings_logged"] == result["data"]["findings"]
    assert "extrapolated" in result["targets"][0]["note"]
    assert profile.stat().st_size > 0
    assert "CPU by layer" in printed and "pipeline + lambdas (ours)" in printed


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(SystemExit, match="NOPE"):
        run.main([*TINY, "--set", "NOPE=1"])


def test_a_watch_list_is_refused_as_notified_images_are_counted_by_severity() -> None:
    with pytest.raises(SystemExit, match="by severity"):
        run.main([*TINY, "--set", "WATCHED_VULNERABILITIES=CVE-2021-44228"])


def test_a_contender_that_crashes_makes_the_run_invalid(
    tmp_path: Path, fake_aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(orjson.dumps({"Records": [{"messageId": "m1", "body": "not json"}]}))
    env = run.child_environment(fake_aws.url, {})
    with pytest.raises(SystemExit) as caught:
        run.run_contender("baseline", fake_aws.url, [broken], env, tmp_path)
    assert caught.value.code == 2
    assert "INVALID RUN -- baseline failed" in capsys.readouterr().err


def test_a_burst_logs_every_finding_event_in_one_stream_per_repository_and_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "burst.pstats"
    everything, printed = _result(tmp_path, capsys, *BURST, "--burst-profile", str(profile))
    assert "scans" not in everything
    result = everything["burst"]
    whole, first, rest = result["parts"]
    assert [p["label"] for p in result["parts"]] == ["whole burst", "first batch", "batches 2-3"]
    assert result["data"]["batches"] == whole["batches"] == 3  # 40 + 40 + 10 events
    # Every event landed exactly where it belongs (else "problems" would name the batch).
    assert whole["events_logged"] == whole["records"] == 90
    assert first["events_logged"] + rest["events_logged"] == 90
    assert 6 <= whole["repository_days"] <= 12  # the burst may straddle midnight UTC
    assert whole["create_stream_calls"] <= whole["repository_days"]
    assert whole["calls"].get("CreateLogGroup", 0) == 0  # the groups existed
    assert whole["put_calls"] >= whole["min_put_calls"] >= whole["repository_days"]
    assert [t["name"] for t in result["targets"]] == [
        "finding events / s, one consumer (whole burst)",
        "PutLogEvents calls / minimum",
        "CreateLogStream calls (at most one per repository per day)",
        "CPU us per finding event",
    ]
    assert result["targets"][2]["passed"] is True
    assert "burst targets:" in printed and "ceiling the AWS quotas allow" in printed
    assert profile.stat().st_size > 0 and "us/event" in printed  # one more batch, profiled
    # The same batches, archived: one object per batch, repository and day; a notification
    # at most per image of a batch worth one.
    archived = result["archived"]
    assert archived["events_logged"] == 90 and archived["calls"]["PutLogEvents"] > 0
    objects = result["cost"]["objects_expected"]
    assert whole["repository_days"] <= objects <= whole["batches"] * whole["repository_days"]
    assert archived["put_objects"] == archived["objects_written"] == objects
    assert 0 < archived["publishes"] == archived["messages_published"]
    assert archived["publishes"] <= result["cost"]["notified_images"]
    assert whole["put_objects"] == whole["publishes"] == 0
    assert "cost of the archive and notifications" in printed
