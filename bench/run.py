"""`make bench`: our handler against the AWS sample's algorithm, then a burst of finding events,
on a fake endpoint with latency.

    python -m bench.run [--images 60] [--seed 1] [--latency-ms 10] [--json result.json]
                        [--set NAME=VALUE ...] [--baseline-sample K] [--scenario all]
                        [--burst-events 20000] [--burst-images 2000] [--burst-repositories 200]
                        [--burst-batch 1000] [--burst-order shuffled]

Scans: both contenders log the same images, each in its own process, against one fake AWS
endpoint (a third process) that answers every call after a fixed latency and checks every
PutLogEvents against CloudWatch's limits. Ours runs twice in one process: cold, then warm on a
second batch of scan events for the same images.
Burst: our handler, warm, handles SQS batches of "Inspector2 Finding" events one after another
in one process, into log groups that exist (the images' scans made them).
Both scenarios run ours a second time with the S3 archive and the notifications on
(``bench.cost``), on the same events, and compare.
Exit status: 0 all targets met, 1 a target missed, 2 the run is invalid (a limit violated,
findings missing, messages failed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson

from bench import baseline, burst, burst_report, cost, dataset, profile_summary, report
from localaws.env import FAKE_CREDENTIALS, fake_environment, without_aws
from localaws.fastserver.process import PROJECT_ROOT, FakeAwsProcess
from localaws.registry import DEFAULT_REGION
from pipeline.config import Settings, load_settings
from pipeline.events import event_time

SCENARIOS = ("all", "scans", "burst")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--images", type=int, default=60, help="images in the batch (60)")
    parser.add_argument("--max-findings", type=int, default=600, help="findings an image: 0..N")
    parser.add_argument("--seed", type=int, default=1, help="data set seed (1)")
    parser.add_argument("--latency-ms", type=float, default=10.0, help="per call (10)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a consumer setting for our handler (environment variable name); default: none",
    )
    parser.add_argument(
        "--baseline-sample",
        type=int,
        metavar="K",
        help="time the baseline on the first K images only and extrapolate by AWS calls",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PSTATS",
        help="profile one more warm invocation of ours (not measured) into this file "
        "and print where its CPU goes",
    )
    parser.add_argument(
        "--scenario", choices=SCENARIOS, default="all", help="what to run (all: scans, burst)"
    )
    burst_args = parser.add_argument_group("burst of finding events")
    burst_args.add_argument("--burst-events", type=int, default=20_000, help="(20,000)")
    burst_args.add_argument("--burst-images", type=int, default=2_000, help="(2,000)")
    burst_args.add_argument("--burst-repositories", type=int, default=200, help="(200)")
    burst_args.add_argument("--burst-batch", type=int, default=1_000, help="SQS batch (1,000)")
    burst_args.add_argument("--burst-order", choices=burst.ORDERS, default="shuffled")
    burst_args.add_argument(
        "--burst-profile",
        type=Path,
        metavar="PSTATS",
        help="profile one more batch of finding events (not measured) into this file",
    )
    args = parser.parse_args(argv)
    if args.images < 1 or args.max_findings < 0:
        parser.error("--images must be >= 1 and --max-findings >= 0")
    if args.baseline_sample is not None and not 1 <= args.baseline_sample <= args.images:
        parser.error("--baseline-sample must be between 1 and --images")
    if not (
        1 <= args.burst_repositories <= args.burst_images <= args.burst_events
        and args.burst_batch >= 1
    ):
        parser.error(
            "need 1 <= --burst-repositories <= --burst-images <= --burst-events "
            "and --burst-batch >= 1"
        )
    return args


def settings_environment(overrides: list[str]) -> dict[str, str]:
    """The consumer's settings variables for the run: defaults, plus explicit overrides."""
    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    chosen = {}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or name not in aliases:
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE with NAME one of the settings")
        if name in cost.UNCOUNTED:
            raise SystemExit(f"--set {name}: the benchmark counts notified images by severity only")
        chosen[name] = value
    return chosen


def child_environment(endpoint: str, settings_env: dict[str, str]) -> dict[str, str]:
    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    # The contenders talk to the fake endpoint only: fake keys, and no profile, config file or
    # instance metadata of this machine.
    env = {k: v for k, v in without_aws(os.environ).items() if k not in aliases}
    env.update(fake_environment())
    env.update(settings_env)
    env["AWS_ENDPOINT_URL"] = endpoint
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def run_contender(
    which: str,
    endpoint: str,
    events: list[Path],
    env: dict[str, str],
    workdir: Path,
    profile: tuple[Path, Path] | None = None,
    *,
    warm_up: bool = False,
    name: str = "",
) -> dict[str, Any]:
    """Measure one contender in a fresh process; its stdout (log lines) is discarded. ``name``
    tells its files apart from another run of the same contender."""
    result_file = workdir / f"{name or which}.json"
    errors_file = workdir / f"{name or which}.stderr"
    command = [sys.executable, "-m", "bench.contender", which, "--endpoint", endpoint]
    command += ["--result", str(result_file)]
    if profile is not None:
        command += ["--profile", str(profile[0]), str(profile[1])]
    if warm_up:
        command.append("--warm-up")
    command += [str(e) for e in events]
    with errors_file.open("w") as errors:
        done = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
    if done.returncode != 0:
        tail = errors_file.read_text()[-4000:]
        print(
            f"INVALID RUN -- {name or which} failed (exit {done.returncode}):\n{tail}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    result: dict[str, Any] = orjson.loads(result_file.read_bytes())
    return result


def _write_event(workdir: Path, name: str, event: dict[str, Any]) -> Path:
    path = workdir / f"{name}.json"
    path.write_bytes(orjson.dumps(event))
    return path


@dataclass
class Section:
    """One scenario's outcome: its JSON, the targets it checked, what invalidates it."""

    json: dict[str, Any]
    checks: list[report.Target] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Envs:
    """Ours' environments: as configured (``plain``), and with the archive and notifications
    on (``archived``, whose settings are ``archived_settings``)."""

    plain: dict[str, str]
    archived: dict[str, str]
    archived_settings: Settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings_env, archived_env = cost.environments(settings_environment(args.overrides))
    settings = load_settings(settings_env)
    print(f"endpoint: fake AWS in its own process, {args.latency_ms:g} ms a call")
    changed = ", ".join(f"{k}={v}" for k, v in settings_env.items()) or "none (defaults)"
    print(f"settings: overridden: {changed}")
    print("          " + _settings_line(settings))
    added = ", ".join(f"{k}={v}" for k, v in archived_env.items() if k not in settings_env)
    print(f"          archived runs also: {added}")

    sections: dict[str, Section] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        FakeAwsProcess(args.latency_ms) as aws,
    ):
        envs = Envs(
            child_environment(aws.url, settings_env),
            child_environment(aws.url, archived_env),
            load_settings(archived_env),
        )
        if args.scenario in ("all", "scans"):
            sections["scans"] = run_scans(args, aws, envs, Path(tmp), settings)
        if args.scenario in ("all", "burst"):
            aws.reset("all")
            sections["burst"] = run_burst(args, aws, envs, Path(tmp), settings)

    problems = [p for section in sections.values() for p in section.problems]
    for problem in problems:
        print(f"INVALID RUN -- {problem}", file=sys.stderr)
    checks = [c for section in sections.values() for c in section.checks]
    verdict = 2 if problems else (0 if all(c.passed for c in checks) else 1)
    if args.json:
        args.json.write_bytes(
            orjson.dumps(
                {
                    **{name: section.json for name, section in sections.items()},
                    "latency_ms": args.latency_ms,
                    "settings": settings.model_dump(by_alias=True),
                    "settings_overridden": settings_env,
                    "settings_archived": archived_env,
                    "problems": problems,
                    "exit_status": verdict,
                },
                option=orjson.OPT_INDENT_2,
            )
        )
        print(f"results written to {args.json}")
    return verdict


def run_scans(
    args: argparse.Namespace,
    aws: FakeAwsProcess,
    envs: Envs,
    workdir: Path,
    settings: Settings,
) -> Section:
    """Ours (cold, then warm; then again, archived) and the baseline on the same batch of
    image scans."""
    env = envs.plain
    started = datetime.now(UTC).replace(microsecond=0)
    cold_time, warm_time = event_time(started), event_time(started + timedelta(seconds=1))
    data = dataset.build(
        args.images, seed=args.seed, max_findings=args.max_findings, scanned_at=time.time()
    )
    print(f"\nscans:    {data.describe()}")
    sample = args.baseline_sample
    aws.seed(data.seed_items())
    cold = _write_event(workdir, "cold", data.sqs_event(cold_time))
    warm = _write_event(workdir, "warm", data.sqs_event(warm_time))

    profile = None
    if args.profile:
        profiled_time = event_time(started + timedelta(seconds=2))
        profile = (
            _write_event(workdir, "profiled", data.sqs_event(profiled_time)),
            args.profile,
        )
    print("ours:     cold and warm invocations ...", flush=True)
    ours = run_contender("ours", aws.url, [cold, warm], env, workdir, profile)
    aws.reset("logs")
    print("ours:     cold and warm again, with the archive and notifications ...", flush=True)
    archived = run_contender(
        "ours", aws.url, [cold, warm], envs.archived, workdir, name="ours-archived"
    )
    aws.reset("logs")
    images = f"the first {sample} images (extrapolated)" if sample else "all images"
    print(f"baseline: sequential, {images} ...", flush=True)
    base_event = (
        cold
        if sample is None
        else _write_event(workdir, "sample", data.sqs_event(cold_time, limit=sample))
    )
    base = run_contender("baseline", aws.url, [base_event], env, workdir)

    prefix = settings.log_group_prefix
    cold_fig = report.figures(
        "ours cold", ours["runs"][0], data.expected_streams(prefix, cold_time)
    )
    warm_fig = report.figures(
        "ours warm", ours["runs"][1], data.expected_streams(prefix, warm_time)
    )
    base_expected = data.expected_streams(
        baseline.LOG_GROUP_PREFIX, cold_time, first_page_only=True, limit=sample
    )
    base_fig = report.figures("baseline", base["runs"][0], base_expected)
    if sample is not None:
        planned = baseline.planned_calls((i.kind == "enhanced", i.findings) for i in data.images)
        full = data.expected_streams(baseline.LOG_GROUP_PREFIX, cold_time, first_page_only=True)
        findings_full = sum(full.values()) - len(data.images)  # less one summary an image
        base_fig = report.extrapolate(base_fig, planned, len(data.images), findings_full)
    archived_figs = [
        report.figures(label, run, data.expected_streams(prefix, at))
        for label, run, at in zip(
            ("archived cold", "archived warm"),
            archived["runs"],
            (cold_time, warm_time),
            strict=True,
        )
    ]
    runs = [base_fig, cold_fig, warm_fig, *archived_figs]
    checks = report.targets(base_fig, cold_fig, warm_fig)
    threshold = envs.archived_settings.notify_min_severity
    notified = sum(1 for i in data.images if cost.worth_notifying(i.severity_counts(), threshold))
    cost_checks = scan_cost(cold_fig, warm_fig, archived_figs, len(data.images), notified)
    cost_problems = [
        p
        for fig in archived_figs
        for p in cost.problems(
            fig.label,
            objects_written=fig.objects_written,
            objects_expected=len(data.images),
            messages_published=fig.messages_published,
            messages_expected=notified,
        )
    ]

    print()
    print(report.table(runs))
    print()
    print("targets:")
    print(report.target_lines(checks))
    print(
        f"cost of the archive and notifications ({notified} of {len(data.images)} images have "
        f"a finding at {threshold} or above):"
    )
    print(report.target_lines(cost_checks))
    print(
        f"\nnotes: ours imported in {ours['import_s']:.2f} s (outside the measurement); "
        f"the baseline reads only the first page of findings, so it logged "
        f"{base_fig.findings_logged:,} of {data.findings:,} findings; the fake endpoint "
        f"used {base['runs'][0]['stats']['server_cpu_s']:.1f} s CPU in its own process."
    )
    if args.profile:
        print(f"\nprofile of one more warm invocation of ours ({args.profile}):")
        print(profile_summary.summary(str(args.profile), data.findings))
    return Section(
        json={
            "data": {
                "images": len(data.images),
                "findings": data.findings,
                "seed": args.seed,
                "max_findings": args.max_findings,
                "description": data.describe(),
            },
            "runs": [r.as_dict() for r in runs],
            "targets": [c.as_dict() for c in checks],
            "cost": {
                "notified_images": notified,
                "threshold": threshold,
                "targets": [c.as_dict() for c in cost_checks],
            },
        },
        checks=checks + cost_checks,
        problems=[f"{r.label}: {p}" for r in runs for p in r.problems] + cost_problems,
    )


def scan_cost(
    cold: report.RunFigures,
    warm: report.RunFigures,
    archived: list[report.RunFigures],
    images: int,
    notified: int,
) -> list[report.Target]:
    """The cost targets of the scans: both archived runs' calls, the warm runs' throughput."""
    archived_cold, archived_warm = archived
    cold_ratio = archived_cold.findings_per_s / cold.findings_per_s
    return cost.targets(
        "scans",
        unit="image scan logged",
        put_objects=sum(r.put_objects for r in archived),
        objects_expected=images * len(archived),
        publishes=sum(r.publishes for r in archived),
        notified=notified * len(archived),
        rate_off=warm.findings_per_s,
        rate_on=archived_warm.findings_per_s,
        note=f"warm, findings/s: {archived_warm.findings_per_s:,.0f} against "
        f"{warm.findings_per_s:,.0f}; cold: {cold_ratio:.2f}",
    )


def run_burst(
    args: argparse.Namespace,
    aws: FakeAwsProcess,
    envs: Envs,
    workdir: Path,
    settings: Settings,
) -> Section:
    """Ours, warm, on a burst of finding events: one SQS batch after another, one process;
    then again on the same batches, archived."""
    env = envs.plain
    now = datetime.now(UTC)
    shape = {
        "images": args.burst_images,
        "repositories": args.burst_repositories,
        "batch_size": args.burst_batch,
        "now": now,
        "order": args.burst_order,
    }
    data = burst.build(args.burst_events, seed=args.seed, **shape)
    print(f"\nburst:    {data.describe()}")
    prefix = settings.log_group_prefix
    create_log_groups(aws.url, data.log_groups(prefix))
    files = [
        _write_event(workdir, f"burst-{i + 1}", data.sqs_event(i)) for i in range(len(data.batches))
    ]
    profile = None
    if args.burst_profile:
        # Other events (another seed) for the same repositories: a batch like the others.
        extra = burst.build(args.burst_events, seed=args.seed + 1, **shape)
        profile = (_write_event(workdir, "burst-profiled", extra.sqs_event(1)), args.burst_profile)
    print(f"ours:     {len(files)} batches, one after another in one warm process ...", flush=True)
    ours = run_contender("ours", aws.url, files, env, workdir, profile, warm_up=True)
    expected = data.expected_streams(prefix, int(time.time() * 1000), settings.log_retention_days)

    aws.reset("logs")
    create_log_groups(aws.url, data.log_groups(prefix))
    print("ours:     the same batches again, with the archive and notifications ...", flush=True)
    archived = run_contender(
        "ours", aws.url, files, envs.archived, workdir, warm_up=True, name="ours-archived"
    )
    archived_expected = data.expected_streams(
        prefix, int(time.time() * 1000), settings.log_retention_days
    )
    archived_whole = burst_report.figures("archived burst", archived["runs"], archived_expected)
    threshold = envs.archived_settings.notify_min_severity
    notified = sum(data.notable_images(lambda s: cost.worth_notifying([s], threshold)))
    objects_expected = sum(len(batch) for batch in archived_expected)

    runs = ours["runs"]
    whole = burst_report.figures("whole burst", runs, expected)
    parts = [whole]
    if len(runs) > 1:
        parts.append(burst_report.figures("first batch", runs[:1], expected[:1]))
        parts.append(
            burst_report.figures(f"batches 2-{len(runs)}", runs[1:], expected[1:], first_batch=1)
        )
    checks = burst_report.targets(whole)
    cost_checks = cost.targets(
        "burst",
        unit="(batch, repository, day)",
        put_objects=archived_whole.put_objects,
        objects_expected=objects_expected,
        publishes=archived_whole.publishes,
        notified=notified,
        rate_off=whole.events_per_s,
        rate_on=archived_whole.events_per_s,
        note=f"whole burst, events/s: {archived_whole.events_per_s:,.0f} against "
        f"{whole.events_per_s:,.0f}",
    )
    cost_problems = cost.problems(
        archived_whole.label,
        objects_written=archived_whole.objects_written,
        objects_expected=objects_expected,
        messages_published=archived_whole.messages_published,
        messages_expected=None,
    )
    ceiling = burst_report.ceiling(whole, settings)

    print()
    print(burst_report.table([*parts, archived_whole]))
    print()
    print("burst targets:")
    print(report.target_lines(checks))
    print(
        f"cost of the archive and notifications ({notified:,} times an image of a batch has an "
        f"ACTIVE event at {threshold} or above):"
    )
    print(report.target_lines(cost_checks))
    print("ceiling the AWS quotas allow (per-consumer shares as configured):")
    print(burst_report.ceiling_lines(ceiling))
    print(
        "notes: the log groups existed before the burst (the images' scans made them); "
        "an empty batch warmed the container first (outside the measurement)."
    )
    if args.burst_profile:
        print(f"\nprofile of one more batch of finding events ({args.burst_profile}):")
        print(profile_summary.summary(str(args.burst_profile), args.burst_batch, "event"))
    return Section(
        json={
            "data": {
                "events": data.events,
                "images": data.images,
                "repositories": len(data.repositories),
                "batches": len(data.batches),
                "order": data.order,
                "seed": args.seed,
                "description": data.describe(),
            },
            "parts": [p.as_dict() for p in parts],
            "archived": archived_whole.as_dict(),
            "targets": [c.as_dict() for c in checks],
            "cost": {
                "notified_images": notified,
                "objects_expected": objects_expected,
                "threshold": threshold,
                "targets": [c.as_dict() for c in cost_checks],
            },
            "ceiling": {
                "events_per_put": ceiling.events_per_put,
                "consumer_events_per_s": ceiling.consumer_events_per_s,
                "account_events_per_s": ceiling.account_events_per_s,
                "consumer_burst_events_per_s": ceiling.consumer_burst_events_per_s,
                "account_burst_events_per_s": ceiling.account_burst_events_per_s,
            },
        },
        checks=checks + cost_checks,
        problems=whole.problems + archived_whole.problems + cost_problems,
    )


def create_log_groups(endpoint: str, groups: list[str]) -> None:
    """Create the groups on the endpoint (outside any measurement), a few calls at a time."""
    logs = boto3.client(
        "logs",
        endpoint_url=endpoint,
        region_name=DEFAULT_REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda g: logs.create_log_group(logGroupName=g), groups))


def _settings_line(settings: Settings) -> str:
    shown = settings.model_dump(by_alias=True)
    return " ".join(f"{k}={v}" for k, v in shown.items())


if __name__ == "__main__":
    sys.exit(main())
