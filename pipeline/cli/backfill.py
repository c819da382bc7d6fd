"""``ecr-findings backfill``: scan events for images scanned before the pipeline existed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from pipeline.cli import output
from pipeline.cli.exits import usage_error
from pipeline.cli.options import (
    DEFAULT_PREFIX,
    QUEUE_ENV,
    Json,
    LogGroupPrefix,
    since,
    target,
)
from pipeline.cli.text import prose
from pipeline.ops import backfill as ops
from pipeline.ops.queues import resolve_queue_url


class Kind(StrEnum):
    auto = "auto"
    basic = "basic"
    enhanced = "enhanced"


EPILOG = (
    "Examples:\n\n"
    "  See what would be enqueued:\n\n"
    "    ecr-findings backfill --dry-run\n\n"
    "  Tagged images of the team-a repositories scanned in the last 30 days, 5 a second:\n\n"
    "    ecr-findings backfill --queue findings --repository-prefix team-a/ --tagged-only "
    "--since 30d --rate 5\n\n"
    "  After replacing the AWS sample: log again, with image context, what it logged:\n\n"
    "    ecr-findings backfill --queue findings --relog-sample --dry-run\n\n"
    "  Organisation-wide: a member account's registry, into the central queue:\n\n"
    "    ecr-findings --profile central backfill --registry-profile member-dev --queue findings"
)


@prose
def backfill(
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
    tagged_only: Annotated[
        bool, typer.Option("--tagged-only", help="Skip untagged images.")
    ] = False,
    scanned_since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            parser=since,
            metavar="WHEN",
            help="Only scans completed since: a duration ago (7d) or an ISO 8601 time.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Enqueue at most this many images.")
    ] = None,
    kind: Annotated[
        Kind,
        typer.Option(
            help="Event kind: basic (ECR Image Scan), enhanced (Inspector2 Scan), or auto "
            "(from the scan status and the registry's scanning configuration).",
        ),
    ] = Kind.auto,
    relog_sample: Annotated[
        bool,
        typer.Option(
            "--relog-sample",
            help="Also enqueue images whose only SUMMARY events are the AWS sample's (no "
            "imageContext), with an event time after the sample's streams, so that they are "
            "logged again in full beside them. Reads each such SUMMARY stream (GetLogEvents).",
        ),
    ] = False,
    log_group_prefix: LogGroupPrefix = DEFAULT_PREFIX,
    registry_profile: Annotated[
        str | None,
        typer.Option(
            help="Read the registry with this AWS profile (a member account's, when one "
            "central pipeline logs an organisation); the queue and the log groups are read "
            "with the main credentials.",
        ),
    ] = None,
    rate: Annotated[
        float, typer.Option(min=0.1, help="Events enqueued per second at most.")
    ] = 10.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be enqueued; send nothing.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Enqueue scan-complete events for images that have findings but no logs yet.

    Lists the repositories and images of the registry with their scan status, keeps readable
    scans (COMPLETE, or ACTIVE for enhanced scanning) that pass the filters and have no SUMMARY
    event yet, and sends one event per image to the queue in the format the consumer reads.

    The AWS sample's SUMMARY events count as logged, unless --relog-sample.
    """
    if queue is None and not dry_run:
        raise usage_error("--queue is required (or set ECR_FINDINGS_QUEUE_URL), unless --dry-run")
    aws = target(ctx)
    url = resolve_queue_url(aws.client("sqs"), queue) if queue else None
    registry = aws.with_profile(registry_profile) if registry_profile else aws
    finder = ops.Finder(
        ecr=registry.client("ecr"),
        logs=aws.client("logs"),
        log_group_prefix=log_group_prefix,
        kind=kind.value,
    )
    selection = ops.BackfillFilter(
        repository_prefix=repository_prefix,
        tagged_only=tagged_only,
        scanned_since=scanned_since,
        limit=limit,
        relog_sample=relog_sample,
    )
    with output.progress("Listing images") as bar:
        candidates = finder.candidates(selection, on_image=lambda _c: bar.advance())
    eligible = [c for c in candidates if c.eligible]
    sent = 0
    if url and not dry_run and eligible:
        with output.progress("Enqueueing", total=len(eligible)) as bar:
            sent = ops.enqueue(aws.client("sqs"), url, candidates, rate=rate, on_sent=bar.advance)
    skipped = Counter(c.skip_reason for c in candidates if not c.eligible)
    if as_json:
        output.print_json(
            {
                "dry_run": dry_run,
                "queue_url": url,
                "images": [c.as_json() for c in candidates],
                "eligible": len(eligible),
                "enqueued": sent,
                "skipped": dict(skipped),
            }
        )
        return
    out = output.console()
    grid = output.table("Repository", "Tag", "Digest", "Scan", "Completed", "Kind", "Action")
    for c in candidates:
        grid.add_row(
            c.repository,
            c.tags[0] if c.tags else "untagged",
            output.short_digest(c.digest),
            output.dash(c.scan_status),
            f"{c.scan_completed_at:%Y-%m-%d %H:%M}" if c.scan_completed_at else "-",
            c.kind,
            _action(c),
        )
    out.print(grid)
    relogged = sum(1 for c in eligible if c.sample_times)
    if relogged:
        out.print(
            f"{relogged} of them logged by the AWS sample before: logged again with event "
            "times after the sample's streams, which stay."
        )
    skipped_text = ", ".join(f"{n} {reason}" for reason, n in skipped.most_common()) or "none"
    if dry_run:
        out.print(
            f"Dry run: {len(eligible)} of {len(candidates)} images would be enqueued "
            f"(skipped: {skipped_text})."
        )
    else:
        out.print(
            f"Enqueued {sent} of {len(candidates)} images to {url} (skipped: {skipped_text})."
        )


def _action(candidate: ops.Candidate) -> str:
    if not candidate.eligible:
        return f"skip: {candidate.skip_reason}"
    if candidate.sample_times:
        return f"relog (sample's at {candidate.sample_times[-1]})"
    return "enqueue"
