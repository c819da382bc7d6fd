"""``ecr-findings reconcile``: log the Inspector findings whose events never arrived."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from pipeline.cli import output
from pipeline.cli.exits import usage_error
from pipeline.cli.options import DEFAULT_PREFIX, QUEUE_ENV, Json, LogGroupPrefix, since, target
from pipeline.cli.text import prose
from pipeline.ops import reconcile as ops
from pipeline.ops.queues import resolve_queue_url


class Status(StrEnum):
    active = "active"
    suppressed = "suppressed"
    closed = "closed"


EPILOG = (
    "Examples:\n\n"
    "  See what is missing or stale, send nothing:\n\n"
    "    ecr-findings reconcile --dry-run\n\n"
    "  Findings of the payments repositories updated in the last 7 days:\n\n"
    "    ecr-findings reconcile --queue findings --repository-prefix payments/ --since 7d\n\n"
    "  Organisation-wide: Inspector's delegated administrator, into the central queue:\n\n"
    "    ecr-findings --profile central reconcile --inspector-profile security-admin "
    "--queue findings"
)


@prose
def reconcile(
    ctx: typer.Context,
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            "-q",
            envvar=QUEUE_ENV,
            show_envvar=True,
            help="The pipeline's source queue (URL or name); not needed with --dry-run.",
        ),
    ] = None,
    repository_prefix: Annotated[
        str, typer.Option(help="Only repositories whose name starts with this.")
    ] = "",
    updated_since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            parser=since,
            metavar="WHEN",
            help="Only findings Inspector updated since: a duration ago (7d) or an ISO 8601 "
            "time. Also reads only the logs written since then.",
        ),
    ] = None,
    status: Annotated[
        list[Status] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Only findings in this status (repeatable): active, suppressed, closed. "
            "Default: all (a closure that was not logged is stale too).",
        ),
    ] = None,
    log_group_prefix: LogGroupPrefix = DEFAULT_PREFIX,
    inspector_profile: Annotated[
        str | None,
        typer.Option(
            help="Read Inspector with this AWS profile (the delegated administrator's, which "
            "sees its members' findings); the logs and the queue are read with the main "
            "credentials.",
        ),
    ] = None,
    rate: Annotated[
        float, typer.Option(min=0.1, help="Events enqueued per second at most.")
    ] = 10.0,
    logs_rate: Annotated[
        float,
        typer.Option(min=0.1, help="FilterLogEvents calls per second (quota: 5 TPS, shared)."),
    ] = 4.0,
    inspector_rate: Annotated[
        float, typer.Option(min=0.1, help="ListFindings calls per second.")
    ] = 5.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Log groups read at once.")] = 4,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be enqueued; send nothing.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Enqueue the "Inspector2 Finding" events of findings the logs miss or have stale.

    Reads Amazon Inspector's current findings about container images (ListFindings) and, in
    the log groups of their repositories, the latest logged evidence of each (finding events
    and enhanced scan snapshots). A finding with nothing logged is missing; one whose
    Inspector updatedAt is later than what is logged is stale. For each, the event EventBridge
    would have delivered is sent to the queue, for the consumer to log.

    Idempotent: once the queue has drained, a second run sends nothing; a second run before
    that sends the same event ids, which the consumer logs once.
    """
    if queue is None and not dry_run:
        raise usage_error("--queue is required (or set ECR_FINDINGS_QUEUE_URL), unless --dry-run")
    aws = target(ctx)
    url = resolve_queue_url(aws.client("sqs"), queue) if queue else None
    reader = aws.with_profile(inspector_profile) if inspector_profile else aws
    reconciler = ops.Reconciler(
        inspector=reader.client("inspector2"),
        logs=aws.client("logs"),
        log_group_prefix=log_group_prefix,
        inspector_rate=inspector_rate,
        logs_rate=logs_rate,
        concurrency=concurrency,
    )
    selection = ops.ReconcileFilter(
        repository_prefix=repository_prefix,
        updated_since=updated_since,
        statuses=tuple(s.value.upper() for s in status or ()),
    )
    with output.progress("Listing Inspector's findings") as listing:
        findings, skipped = reconciler.findings(selection, on_finding=listing.advance)
    repositories = sorted({f.repository for f in findings})
    with output.progress("Reading the logs", total=len(repositories)) as reading:
        logged, groups, events = reconciler.logged(
            repositories, since=updated_since, on_group=lambda _g: reading.advance()
        )
    result = ops.ReconcileResult(ops.compare(findings, logged), groups, events, skipped)
    todo = result.to_enqueue
    sent = 0
    if url and not dry_run and todo:
        with output.progress("Enqueueing", total=len(todo)) as bar:
            sent = ops.enqueue(aws.client("sqs"), url, todo, rate=rate, on_sent=bar.advance)
    counts = {action: result.count(action) for action in ("missing", "stale", "current")}
    if as_json:
        output.print_json(
            {
                "dry_run": dry_run,
                "queue_url": url,
                "findings": len(result.reconciled),
                **counts,
                "skipped": skipped,
                "log_groups_read": groups,
                "enqueued": sent,
                "to_enqueue": [r.as_json() for r in todo],
            }
        )
        return
    out = output.console()
    if todo:
        grid = output.table(
            "Repository", "Digest", "Vulnerability", "Severity", "Inspector", "Logged", "Action"
        )
        for r in todo:
            f = r.finding
            logged_text = (
                "-"
                if r.logged_ms is None
                else f"{r.logged_status} {ops.iso_ms(ops.from_ms(r.logged_ms))}"
            )
            grid.add_row(
                f.repository,
                output.short_digest(f.digest),
                output.dash(f.vulnerability_id),
                f.severity,
                f"{f.status} {ops.iso_ms(f.updated_at)}",
                logged_text,
                r.action,
            )
        out.print(grid)
    summary = (
        f"{output.plural(len(result.reconciled), 'finding')} in "
        f"{output.plural(len(repositories), 'repository', 'repositories')}: "
        f"{counts['missing']} missing, {counts['stale']} stale, {counts['current']} current"
    )
    if skipped:
        summary += f" ({skipped} not about a container image, skipped)"
    if dry_run:
        out.print(f"Dry run: {summary}; {output.plural(len(todo), 'event')} would be enqueued.")
    else:
        out.print(
            f"{summary}; enqueued {output.plural(sent, 'event')}" + (f" to {url}." if url else ".")
        )
