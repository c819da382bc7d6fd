"""``ecr-findings search``: every image that has a vulnerability, across all repositories."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from pipeline.cli import output
from pipeline.cli.options import (
    DEFAULT_PREFIX,
    Json,
    LogGroupPrefix,
    VulnerabilityId,
    since,
    target,
)
from pipeline.cli.text import prose
from pipeline.ops.current import STATUSES
from pipeline.ops.hits import Hit
from pipeline.ops.search import Searcher, SearchResult


class Engine(StrEnum):
    filter = "filter"
    insights = "insights"


class Status(StrEnum):
    active = "active"
    suppressed = "suppressed"
    closed = "closed"
    all = "all"


def statuses(chosen: list[Status] | None) -> tuple[str, ...] | None:
    """The finding statuses to show: ACTIVE unless told; ``all`` (None) is any."""
    picked = {s.value.upper() for s in chosen or [Status.active]}
    return None if "ALL" in picked else tuple(s for s in STATUSES if s in picked)


StatusOption = Annotated[
    list[Status] | None,
    typer.Option(
        "--status",
        metavar="STATUS",
        help="Show findings currently in this status (repeatable): active (default), "
        "suppressed, closed, or all.",
    ),
]


EPILOG = (
    "Examples:\n\n"
    "  ecr-findings search CVE-2024-3094\n\n"
    "  ecr-findings search CVE-2023-44487 --since 30d --json\n\n"
    "  ecr-findings search CVE-2024-6119 --status all\n\n"
    "  ecr-findings search GHSA-jfh8-c2jp-5v3q --engine insights"
)


@prose
def search(
    ctx: typer.Context,
    vulnerability_id: VulnerabilityId,
    log_group_prefix: LogGroupPrefix = DEFAULT_PREFIX,
    scanned_since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            parser=since,
            metavar="WHEN",
            help="Only findings logged since: a duration ago (30d) or an ISO 8601 time.",
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="filter: FilterLogEvents per log group (default); insights: Logs Insights, "
            "50 groups a query (faster on big groups, billed per GB scanned).",
        ),
    ] = Engine.filter,
    status: StatusOption = None,
    all_scans: Annotated[
        bool,
        typer.Option(
            "--all-scans",
            help="Show every logged record (each scan's and each finding event), not only "
            "the current state.",
        ),
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=32, help="Log groups searched at once.")
    ] = 4,
    rate: Annotated[
        float,
        typer.Option(min=0.1, help="API calls per second (FilterLogEvents quota: 5 TPS)."),
    ] = 4.0,
    as_json: Json = False,
) -> None:
    """Find every image that has VULNERABILITY_ID now.

    Searches all findings log groups concurrently (rate-limited): scan snapshots and finding
    events. Per image and finding the latest evidence wins (the latest update, or a later scan
    that no longer lists it), and images where it is ACTIVE are shown with repository, tag,
    digest, severity, package, status and the time of that state; --status all shows those
    where it was suppressed or closed too.
    """
    searcher = Searcher(
        target(ctx).client("logs"),
        log_group_prefix,
        rate=rate,
        concurrency=concurrency,
    )
    with output.progress(f"Searching for {vulnerability_id}") as bar:
        result = searcher.search(
            vulnerability_id,
            since=scanned_since,
            engine=engine.value,
            statuses=statuses(status),
            all_scans=all_scans,
            on_groups=bar.total,
            on_group_done=lambda _g: bar.advance(),
        )
    if as_json:
        output.print_json(result.as_json())
        return
    out = output.console()
    if not result.hits:
        out.print(
            f"No image has {vulnerability_id} in {result.groups} log groups "
            f"under {log_group_prefix}."
        )
        print_hidden(out, result)
        return
    print_hits(out, vulnerability_id, result)


def print_hits(out: Console, vulnerability_id: str, result: SearchResult) -> None:
    """The table of images that have the vulnerability, and a one-line total."""
    # Organisation-wide logs hold several registries: then say whose each image is.
    several = len(result.accounts) > 1
    columns = ["Repository", "Tag", "Digest", "Severity", "Package", "Status", "Since"]
    grid = output.table(*(["Account", *columns] if several else columns))
    for hit in result.hits:
        row = [
            hit.repository,
            hit.tag,
            output.short_digest(hit.digest),
            hit.severity,
            hit.package,
            status_text(hit),
            hit.changed_at,
        ]
        grid.add_row(*([hit.account, *row] if several else row))
    out.print(grid)
    out.print(
        f"{vulnerability_id}: {output.plural(result.images, 'image')} in "
        f"{output.plural(result.repositories, 'repository', 'repositories')}"
        + (f" of {len(result.accounts)} accounts" if several else "")
        + f" ({result.groups} log groups searched)."
    )
    print_hidden(out, result)
    if result.truncated_groups:
        out.print(
            f"Logs Insights returned its maximum of rows for {len(result.truncated_groups)} "
            "groups: results may be incomplete; narrow with --since or use --engine filter."
        )


def status_text(hit: Hit) -> str:
    """The status, and how it is known when that is not plain: closed by a later scan that
    no longer lists the finding."""
    return f"{hit.status} (rescan)" if hit.inferred else hit.status


def print_hidden(out: Console, result: SearchResult) -> None:
    hidden = result.hidden
    if hidden:
        counts = ", ".join(f"{n} {s}" for s, n in hidden.items())
        out.print(f"Not shown: images where it is now {counts} (--status all shows them).")
