"""The burst scenario's figures, targets and the ceiling AWS's quotas set (pure).

The burst is many handler calls (one an SQS batch) in one warm process. Its figures add up
the calls: wall time and CPU time are summed over the handler calls only, AWS calls and log
events are summed over the endpoint's counters of each call.

"PutLogEvents calls against the minimum": a batch is one invocation, and one PutLogEvents
call writes to one stream of one group, so the fewest calls a burst can make is, for every
batch and every (group, stream) that batch wrote, the fewest the limits allow for that
stream's events in that batch (``report.min_put_calls``: bytes and count; a day stream's
events never span 24 hours), summed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import report
from bench.report import StreamKey, Target, fmt
from pipeline import limits
from pipeline.config import Settings

TARGET_EVENTS_PER_S = 5_000.0
TARGET_PUT_RATIO = 1.05
TARGET_CPU_US_PER_EVENT = 30.0


def min_put_calls(run: Mapping[str, Any]) -> int:
    """The fewest PutLogEvents calls one batch's writes allow (per stream, summed)."""
    return sum(report.min_put_calls(s["events"], s["bytes"]) for s in run["stats"]["streams"])


@dataclass(frozen=True, slots=True)
class BurstFigures:
    """Some consecutive handler calls of the burst, added up."""

    label: str
    batches: int
    records: int
    events_logged: int
    wall_s: float
    cpu_s: float
    system_s: float
    gc_s: float  # the garbage collector's part of cpu_s
    peak_rss_kib: int
    calls: dict[str, int]
    put_calls: int
    min_put_calls: int
    create_stream_calls: int
    repository_days: int  # distinct (repository, UTC day) pairs in these batches' events
    max_in_flight: int
    failures: int
    errors: dict[str, int]
    problems: list[str] = field(default_factory=list)
    objects_written: int = 0  # archive objects the endpoint stored
    messages_published: int = 0  # notifications the endpoint accepted

    @property
    def put_objects(self) -> int:
        return self.calls.get("PutObject", 0)

    @property
    def publishes(self) -> int:
        return self.calls.get("Publish", 0)

    @property
    def events_per_s(self) -> float:
        return self.events_logged / self.wall_s if self.wall_s else math.nan

    @property
    def put_ratio(self) -> float:
        return self.put_calls / self.min_put_calls if self.min_put_calls else math.nan

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_s / self.events_logged * 1e6 if self.events_logged else math.nan

    @property
    def events_per_put(self) -> float:
        return self.events_logged / self.put_calls if self.put_calls else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "events_per_s": self.events_per_s,
            "put_ratio": self.put_ratio,
            "cpu_us_per_event": self.cpu_us_per_event,
            "events_per_put": self.events_per_put,
            "put_objects": self.put_objects,
            "publishes": self.publishes,
        }


def figures(
    label: str,
    runs: Sequence[Mapping[str, Any]],
    expected: Sequence[Mapping[StreamKey, int]],
    *,
    first_batch: int = 0,
) -> BurstFigures:
    """The figures of ``runs`` (consecutive handler calls), each checked exactly against the
    events its batch must have logged (``expected``, one per run; the first is the burst's
    batch number ``first_batch``)."""
    if len(runs) != len(expected):
        raise ValueError("one expectation per run")
    calls: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    problems: list[str] = []
    logged = minimum = failures = 0
    for number, (run, wanted) in enumerate(zip(runs, expected, strict=True), first_batch + 1):
        received = report.received_events(run)
        found = report.run_problems(run) + report.completeness_problems(wanted, received)
        problems += [f"batch {number}: {p}" for p in found]
        calls.update(run["stats"]["calls"])
        errors.update(run["stats"]["errors"])
        logged += sum(received.values())
        minimum += min_put_calls(run)
        failures += len(run["failures"])
    return BurstFigures(
        label=label,
        batches=len(runs),
        records=sum(int(r["records"]) for r in runs),
        events_logged=logged,
        wall_s=sum(float(r["wall_s"]) for r in runs),
        cpu_s=sum(float(r["cpu_s"]) for r in runs),
        system_s=sum(float(r.get("system_s", 0.0)) for r in runs),
        gc_s=sum(float(r.get("gc_s", 0.0)) for r in runs),
        peak_rss_kib=max((int(r["peak_rss_kib"]) for r in runs), default=0),
        calls=dict(calls),
        put_calls=calls.get("PutLogEvents", 0),
        min_put_calls=minimum,
        create_stream_calls=calls.get("CreateLogStream", 0),
        repository_days=len({key for batch in expected for key in batch}),
        max_in_flight=max((int(r["stats"]["max_in_flight"]) for r in runs), default=0),
        failures=failures,
        errors=dict(errors),
        problems=problems,
        objects_written=sum(int(r["stats"].get("s3_objects_written", 0)) for r in runs),
        messages_published=sum(int(r["stats"].get("sns_messages_published", 0)) for r in runs),
    )


def targets(burst: BurstFigures) -> list[Target]:
    return [
        Target(
            "finding events / s, one consumer (whole burst)",
            burst.events_per_s,
            TARGET_EVENTS_PER_S,
            at_most=False,
        ),
        Target(
            "PutLogEvents calls / minimum",
            burst.put_ratio,
            TARGET_PUT_RATIO,
            at_most=True,
        ),
        Target(
            "CreateLogStream calls (at most one per repository per day)",
            burst.create_stream_calls,
            burst.repository_days,
            at_most=True,
            note=f"{burst.repository_days:,} repository-days in the burst",
        ),
        Target(
            "CPU us per finding event",
            burst.cpu_us_per_event,
            TARGET_CPU_US_PER_EVENT,
            at_most=True,
        ),
    ]


@dataclass(frozen=True, slots=True)
class Ceiling:
    """What the quotas allow this burst, whatever the CPU: the call budgets of this consumer
    (its configured rates; each client-side bucket starts full, one second's worth) and of
    the whole account and region (the quotas themselves)."""

    events: int
    min_puts: int
    streams: int  # to create: one per repository and day
    put_rate: float
    create_stream_rate: float

    @property
    def events_per_put(self) -> float:
        return self.events / self.min_puts if self.min_puts else math.nan

    @property
    def consumer_events_per_s(self) -> float:
        """With the streams in place: PutLogEvents calls a second x events a call."""
        return self.put_rate * self.events_per_put

    @property
    def account_events_per_s(self) -> float:
        return limits.QUOTA_PUT_LOG_EVENTS_TPS * self.events_per_put

    @property
    def consumer_burst_events_per_s(self) -> float:
        """The whole burst, streams to create included: it lasts at least as long as its
        streams' creation and as its puts, each at its rate."""
        return _most(
            self.events, self.streams, self.create_stream_rate, self.min_puts, self.put_rate
        )

    @property
    def account_burst_events_per_s(self) -> float:
        return _most(
            self.events,
            self.streams,
            limits.QUOTA_CREATE_LOG_STREAM_TPS,
            self.min_puts,
            limits.QUOTA_PUT_LOG_EVENTS_TPS,
        )

    def creation_s(self, rate: float) -> float:
        """The least time ``streams`` creations take at ``rate`` (a second's worth at once)."""
        return max(self.streams - rate, 0) / rate


def _most(events: int, streams: int, create_rate: float, puts: int, put_rate: float) -> float:
    least_s = max(max(streams - create_rate, 0) / create_rate, max(puts - put_rate, 0) / put_rate)
    return events / least_s if least_s else math.inf


def ceiling(burst: BurstFigures, settings: Settings) -> Ceiling:
    """The ceiling at the minimum calls (events per PutLogEvents call as the layout allows)."""
    return Ceiling(
        events=burst.events_logged,
        min_puts=burst.min_put_calls,
        streams=burst.repository_days,
        put_rate=settings.put_log_events_rate,
        create_stream_rate=settings.create_log_stream_rate,
    )


def ceiling_lines(c: Ceiling) -> str:
    account_create = limits.QUOTA_CREATE_LOG_STREAM_TPS
    return "\n".join(
        [
            f"  PutLogEvents: one call per repository per batch at best, {c.events_per_put:.1f} "
            f"events a call -> {c.consumer_events_per_s:,.0f} events/s for this consumer "
            f"({c.put_rate:,g} calls/s), {c.account_events_per_s:,.0f} events/s for the "
            f"account and region ({limits.QUOTA_PUT_LOG_EVENTS_TPS:,} TPS, shared by every "
            "consumer and every other writer)",
            f"  CreateLogStream: a new UTC day's {c.streams:,} streams take >= "
            f"{c.creation_s(c.create_stream_rate):.1f} s at this consumer's "
            f"{c.create_stream_rate:g}/s, {c.creation_s(account_create):.1f} s at the "
            f"account's {account_create} TPS",
            f"  so this burst, its streams to create: <= {c.consumer_burst_events_per_s:,.0f} "
            f"events/s for this consumer, <= {c.account_burst_events_per_s:,.0f} with the "
            "account's whole quotas",
        ]
    )


def table(parts: Sequence[BurstFigures]) -> str:
    rows: list[tuple[str, list[str]]] = [
        ("SQS batches", [fmt(p.batches) for p in parts]),
        ("finding events (SQS records)", [fmt(p.records) for p in parts]),
        ("finding events logged", [fmt(p.events_logged) for p in parts]),
        ("wall time (s)", [fmt(p.wall_s) for p in parts]),
        ("finding events / s", [fmt(p.events_per_s, 0) for p in parts]),
        ("AWS calls", [fmt(sum(p.calls.values())) for p in parts]),
        ("PutLogEvents calls", [fmt(p.put_calls) for p in parts]),
        ("PutLogEvents minimum", [fmt(p.min_put_calls) for p in parts]),
        ("PutLogEvents / minimum", [fmt(p.put_ratio, 3) for p in parts]),
        ("events / PutLogEvents call", [fmt(p.events_per_put, 1) for p in parts]),
        ("PutObject calls", [fmt(p.put_objects) for p in parts]),
        ("Publish calls", [fmt(p.publishes) for p in parts]),
        ("CreateLogStream calls", [fmt(p.create_stream_calls) for p in parts]),
        ("repository-days", [fmt(p.repository_days) for p in parts]),
        ("CreateLogGroup calls", [fmt(p.calls.get("CreateLogGroup", 0)) for p in parts]),
        ("calls in flight (max)", [fmt(p.max_in_flight) for p in parts]),
        ("CPU (s)", [fmt(p.cpu_s) for p in parts]),
        ("  of which kernel (s)", [fmt(p.system_s) for p in parts]),
        ("  of which garbage collection (s)", [fmt(p.gc_s) for p in parts]),
        ("CPU us / event", [fmt(p.cpu_us_per_event, 1) for p in parts]),
        ("peak RSS (MiB)", [fmt(p.peak_rss_kib / 1024, 1) for p in parts]),
        ("error responses", [fmt(sum(p.errors.values())) for p in parts]),
    ]
    return report.columns([p.label for p in parts], rows)
