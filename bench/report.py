"""Turn measurements into figures, check them against the targets, and print the table (pure).

"PutLogEvents calls against the minimum the layout allows": one stream needs at least
max(ceil(Σ(UTF-8 bytes + 26) / 1,048,576), ceil(events / 10,000)) calls; the minimum of a run
is that, summed over every stream the run wrote.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline import layout, limits

TARGET_SPEEDUP = 20.0
TARGET_PUT_RATIO = 1.05
TARGET_CPU_US_PER_FINDING = 25.0

StreamKey = tuple[str, str]  # (log group, log stream)


def min_put_calls(events: int, size: int) -> int:
    if events == 0:
        return 0
    return max(
        math.ceil(size / limits.PUT_LOG_EVENTS_MAX_BYTES),
        math.ceil(events / limits.PUT_LOG_EVENTS_MAX_EVENTS),
    )


def is_summary(stream: str) -> bool:
    return stream.startswith(layout.SUMMARY + "-")


@dataclass(frozen=True, slots=True)
class RunFigures:
    """One handler call, as the fake endpoint and the contender's process saw it."""

    label: str
    records: int
    wall_s: float
    cpu_s: float
    peak_rss_kib: int
    findings_logged: int
    summaries: int
    calls: dict[str, int]
    put_calls: int
    min_put_calls: int
    max_in_flight: int
    failures: int
    errors: dict[str, int]
    problems: list[str] = field(default_factory=list)  # anything that makes the run invalid
    extrapolated_from: int | None = None  # images actually run, when extrapolated
    system_s: float = 0.0  # the kernel's share of cpu_s (socket copies, mostly)
    objects_written: int = 0  # archive objects the endpoint stored during the run
    messages_published: int = 0  # notifications the endpoint accepted during the run

    @property
    def put_objects(self) -> int:
        return self.calls.get("PutObject", 0)

    @property
    def publishes(self) -> int:
        return self.calls.get("Publish", 0)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def cpu_us_per_finding(self) -> float:
        return self.cpu_s / self.findings_logged * 1e6 if self.findings_logged else math.nan

    @property
    def put_ratio(self) -> float:
        return self.put_calls / self.min_put_calls if self.min_put_calls else math.nan

    @property
    def findings_per_s(self) -> float:
        return self.findings_logged / self.wall_s if self.wall_s else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "total_calls": self.total_calls,
            "cpu_us_per_finding": self.cpu_us_per_finding,
            "put_ratio": self.put_ratio,
            "findings_per_s": self.findings_per_s,
            "put_objects": self.put_objects,
            "publishes": self.publishes,
        }


def figures(
    label: str, run: Mapping[str, Any], expected: Mapping[StreamKey, int] | None
) -> RunFigures:
    """Figures of one measured run; ``expected`` events per stream, when checked exactly."""
    stats = run["stats"]
    streams = stats["streams"]
    received = received_events(run)
    problems = run_problems(run)
    if expected is not None:
        problems += completeness_problems(expected, received)
    calls = dict(stats["calls"])
    return RunFigures(
        label=label,
        records=int(run["records"]),
        wall_s=float(run["wall_s"]),
        cpu_s=float(run["cpu_s"]),
        peak_rss_kib=int(run["peak_rss_kib"]),
        findings_logged=sum(n for (_, s), n in received.items() if not is_summary(s)),
        summaries=sum(n for (_, s), n in received.items() if is_summary(s)),
        calls=calls,
        put_calls=calls.get("PutLogEvents", 0),
        min_put_calls=sum(min_put_calls(s["events"], s["bytes"]) for s in streams),
        max_in_flight=int(stats["max_in_flight"]),
        failures=len(run["failures"]),
        errors=dict(stats["errors"]),
        problems=problems,
        system_s=float(run.get("system_s", 0.0)),
        objects_written=int(stats.get("s3_objects_written", 0)),
        messages_published=int(stats.get("sns_messages_published", 0)),
    )


def received_events(run: Mapping[str, Any]) -> Counter[StreamKey]:
    """Log events per (group, stream) the endpoint received during one run."""
    received: Counter[StreamKey] = Counter()
    for s in run["stats"]["streams"]:
        received[(s["group"], s["stream"])] += s["events"]
    return received


def run_problems(run: Mapping[str, Any]) -> list[str]:
    """What makes one measured run invalid, whatever it logged."""
    stats = run["stats"]
    problems = [f"PutLogEvents limit violated: {v}" for v in stats["violations"]]
    problems += [f"refused by SNS's rules: {v}" for v in stats.get("publish_violations", ())]
    if stats["rejected_events"]:
        problems.append(f"{stats['rejected_events']} log events rejected for their timestamp")
    if stats["unknown"]:
        problems.append(f"calls the fake endpoint does not emulate: {stats['unknown']}")
    if run["failures"]:
        problems.append(f"{len(run['failures'])} messages reported as batchItemFailures")
    return problems


def completeness_problems(
    expected: Mapping[StreamKey, int], received: Mapping[StreamKey, int]
) -> list[str]:
    """Every expected stream got exactly its events, and nothing else was written."""
    problems = []
    missing = {k: n - received.get(k, 0) for k, n in expected.items() if received.get(k, 0) < n}
    extra = {k: n - expected.get(k, 0) for k, n in received.items() if n > expected.get(k, 0)}
    if missing:
        problems.append(
            f"{sum(missing.values())} log events missing in {len(missing)} streams, "
            f"e.g. {_example(missing)}"
        )
    if extra:
        problems.append(
            f"{sum(extra.values())} log events more than expected in {len(extra)} streams, "
            f"e.g. {_example(extra)}"
        )
    return problems


def _example(by_stream: Mapping[StreamKey, int]) -> str:
    (group, stream), n = next(iter(by_stream.items()))
    return f"{group} {stream}: {n}"


def extrapolate(
    sample: RunFigures, planned_calls_full: int, images_full: int, findings_full: int
) -> RunFigures:
    """Scale a sampled baseline run to the full data set by its number of AWS calls.

    What the full run would log is known exactly (``findings_full``); times and call counts
    are scaled.
    """
    scale = planned_calls_full / sample.total_calls
    return RunFigures(
        label=sample.label + " (extrapolated)",
        records=images_full,
        wall_s=sample.wall_s * scale,
        cpu_s=sample.cpu_s * scale,
        peak_rss_kib=sample.peak_rss_kib,
        findings_logged=findings_full,
        summaries=images_full,
        calls={k: round(v * scale) for k, v in sample.calls.items()},
        put_calls=round(sample.put_calls * scale),
        min_put_calls=round(sample.min_put_calls * scale),
        max_in_flight=sample.max_in_flight,
        failures=sample.failures,
        errors={k: round(v * scale) for k, v in sample.errors.items()},
        problems=sample.problems,
        extrapolated_from=sample.records,
        system_s=sample.system_s * scale,
    )


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    value: float
    limit: float
    at_most: bool  # the value must be ≤ limit (else ≥)
    note: str = ""

    @property
    def passed(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def targets(baseline: RunFigures, cold: RunFigures, warm: RunFigures | None) -> list[Target]:
    runs = [cold] if warm is None else [cold, warm]
    worst_ratio = max(r.put_ratio for r in runs)
    fair_cpu = (warm or cold).cpu_us_per_finding
    estimated = " (baseline extrapolated)" if baseline.extrapolated_from else ""
    return [
        Target(
            "speedup: baseline wall / ours (cold) wall",
            baseline.wall_s / cold.wall_s,
            TARGET_SPEEDUP,
            at_most=False,
            note=f"warm: {baseline.wall_s / warm.wall_s:.1f}x{estimated}" if warm else estimated,
        ),
        Target(
            "PutLogEvents calls / minimum (worst run)",
            worst_ratio,
            TARGET_PUT_RATIO,
            at_most=True,
        ),
        Target(
            f"CPU us per finding ({'warm' if warm else 'cold'})",
            fair_cpu,
            TARGET_CPU_US_PER_FINDING,
            at_most=True,
            note=f"cold: {cold.cpu_us_per_finding:.1f} us (client start-up included)",
        ),
    ]


def fmt(value: float | int | str, digits: int = 2) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def table(runs: Iterable[RunFigures]) -> str:
    runs = list(runs)
    rows: list[tuple[str, list[str]]] = [
        ("images (SQS records)", [fmt(r.records) for r in runs]),
        ("findings logged", [fmt(r.findings_logged) for r in runs]),
        ("SUMMARY events", [fmt(r.summaries) for r in runs]),
        ("wall time (s)", [fmt(r.wall_s) for r in runs]),
        ("findings / s", [fmt(r.findings_per_s, 0) for r in runs]),
        ("AWS calls", [fmt(r.total_calls) for r in runs]),
        ("PutLogEvents calls", [fmt(r.put_calls) for r in runs]),
        ("PutLogEvents minimum", [fmt(r.min_put_calls) for r in runs]),
        ("PutLogEvents / minimum", [fmt(r.put_ratio, 3) for r in runs]),
        ("PutObject calls", [fmt(r.put_objects) for r in runs]),
        ("Publish calls", [fmt(r.publishes) for r in runs]),
        ("calls in flight (max)", [fmt(r.max_in_flight) for r in runs]),
        ("CPU (s)", [fmt(r.cpu_s) for r in runs]),
        ("  of which kernel (s)", [fmt(r.system_s) for r in runs]),
        ("CPU us / finding", [fmt(r.cpu_us_per_finding, 1) for r in runs]),
        ("peak RSS (MiB)", [fmt(r.peak_rss_kib / 1024, 1) for r in runs]),
        ("error responses", [fmt(sum(r.errors.values())) for r in runs]),
    ]
    return columns([r.label for r in runs], rows)


def columns(head: list[str], rows: list[tuple[str, list[str]]]) -> str:
    """A plain text table: row names on the left, one right-aligned column per heading."""
    width0 = max(len(name) for name, _ in rows)
    widths = [max(len(h), *(len(v[i]) for _, v in rows)) for i, h in enumerate(head)]
    lines = ["  ".join([" " * width0, *(h.rjust(w) for h, w in zip(head, widths, strict=True))])]
    lines.append("  ".join(["-" * width0, *("-" * w for w in widths)]))
    for name, values in rows:
        cells = (v.rjust(w) for v, w in zip(values, widths, strict=True))
        lines.append("  ".join([name.ljust(width0), *cells]))
    return "\n".join(lines)


def target_lines(checks: Iterable[Target]) -> str:
    lines = []
    for t in checks:
        sign = "<=" if t.at_most else ">="
        verdict = "PASS" if t.passed else "FAIL"
        value = fmt(t.value, 2 if t.at_most else 1)
        lines.append(
            f"  [{verdict}] {t.name}: {value} (target {sign} {t.limit:g})"
            + (f"  -- {t.note}" if t.note else "")
        )
    return "\n".join(lines)
