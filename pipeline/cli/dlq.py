"""``ecr-findings dlq …``: look into the dead-letter queue and send its messages back."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console

from pipeline import deadletter, reasons
from pipeline.cli import output
from pipeline.cli.exits import usage_error
from pipeline.cli.options import Dlq, Json, duration, target
from pipeline.cli.text import prose
from pipeline.ops import dlq as dlq_ops
from pipeline.ops import movetasks
from pipeline.ops.deadmessages import UNKNOWN_REASON, DeadMessage
from pipeline.ops.errors import OpsError
from pipeline.ops.queues import queue_arn, queue_attributes, redrive_target, resolve_queue_url
from pipeline.ops.redrive import RedriveFilter, RedriveReport, redrive_selected

app = typer.Typer(
    help="Inspect the dead-letter queue and redrive its messages.",
    epilog="Examples:\n\n"
    "  export ECR_FINDINGS_DLQ_URL=findings-dlq\n\n"
    "  ecr-findings dlq status\n\n"
    "  ecr-findings dlq peek -n 20\n\n"
    "  ecr-findings dlq redrive --reason throttled --dry-run",
    no_args_is_help=True,
)

UNKNOWN_NOTE = (
    f"'{UNKNOWN_REASON}': the message carries no ErrorCode attribute — it was moved by the "
    "queue's own redrive policy (not forwarded by the handler) or sent by something else."
)
EVENTBRIDGE_NOTE = (
    f"'{deadletter.EVENTBRIDGE_PREFIX}…': EventBridge could not deliver the scan event to its "
    "target (EventBridge's ERROR_CODE); fix the target's policy or role, then redrive."
)


def _notes(reasons: Iterable[str], out: Console) -> None:
    """Explain the reasons that did not come from the handler."""
    seen = set(reasons)
    if UNKNOWN_REASON in seen:
        out.print(UNKNOWN_NOTE)
    if any(r.startswith(deadletter.EVENTBRIDGE_PREFIX) for r in seen):
        out.print(EVENTBRIDGE_NOTE)


@app.command(
    epilog="Examples:\n\n"
    "  ecr-findings dlq status --queue findings-dlq\n\n"
    "  ECR_FINDINGS_DLQ_URL=https://sqs.eu-west-1.amazonaws.com/123456789012/findings-dlq "
    "ecr-findings dlq status --json",
)
@prose
def status(
    ctx: typer.Context,
    queue: Dlq,
    max_scan: Annotated[
        int,
        typer.Option(min=0, help="Read at most this many messages for ages and reasons."),
    ] = 1000,
    as_json: Json = False,
) -> None:
    """Depth, oldest failure and counts by reason and by repository.

    Messages are read and made visible again at once: nothing is consumed.
    """
    sqs = target(ctx).client("sqs")
    url = resolve_queue_url(sqs, queue)
    result = dlq_ops.status(sqs, url, max_scan=max_scan)
    now = dlq_ops.now_utc()
    if as_json:
        output.print_json(result.as_json(now))
        return
    out = output.console()
    out.print(f"[bold]Dead-letter queue[/] {url}")
    out.print(
        f"Messages: {result.visible} visible, {result.in_flight} in flight, "
        f"{result.delayed} delayed"
    )
    if result.oldest_failed_at is not None:
        out.print(
            f"Oldest failure: {output.age(result.oldest_failed_at, now)} "
            f"({result.oldest_failed_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
    if result.scanned < result.visible:
        out.print(f"Counts below are from the first {result.scanned} messages read.")
    if not result.scanned:
        out.print("The queue is empty." if not result.visible else "No message could be read.")
        return
    reasons = output.table("Reason", "Messages", "Retryable", title="By failure reason")
    for reason, count in result.by_reason.most_common():
        retryable = result.retryable_by_reason.get(reason, 0)
        reasons.add_row(reason, str(count), str(retryable) if reason != UNKNOWN_REASON else "-")
    out.print(reasons)
    repositories = output.table("Repository", "Messages", title="By repository")
    for repository, count in result.by_repository.most_common():
        repositories.add_row(repository, str(count))
    out.print(repositories)
    _notes(result.by_reason, out)


@app.command(
    epilog="Examples:\n\n"
    "  ecr-findings dlq peek --queue findings-dlq -n 5\n\n"
    "  ecr-findings dlq peek --json | jq '.[].reason'",
)
@prose
def peek(
    ctx: typer.Context,
    queue: Dlq,
    count: Annotated[
        int, typer.Option("-n", "--count", min=1, max=1000, help="How many messages to show.")
    ] = 10,
    as_json: Json = False,
) -> None:
    """Show messages with their reason, image and receive count, without consuming them.

    Each message is received and made visible again at once (ChangeMessageVisibility 0). This
    raises its ApproximateReceiveCount on the DLQ: give the DLQ no redrive policy of its own.
    """
    sqs = target(ctx).client("sqs")
    url = resolve_queue_url(sqs, queue)
    messages = dlq_ops.peek(sqs, url, count)
    now = dlq_ops.now_utc()
    if as_json:
        output.print_json([m.as_json(now) for m in messages])
        return
    out = output.console()
    if not messages:
        out.print(f"No messages visible in {url}.")
        return
    grid = output.table("Failed", "Reason", "Repository", "Tag", "Digest", "Receives", "Message")
    for message in messages:
        grid.add_row(*_peek_row(message, now))
    out.print(grid)
    _notes((m.reason for m in messages), out)


def _peek_row(message: DeadMessage, now: datetime) -> list[str]:
    error = message.letter.message if message.letter else message.body[:60]
    return [
        output.age(message.failed_at, now),
        message.reason,
        output.dash(message.repository),
        output.dash(message.image_tag),
        output.short_digest(message.image_digest),
        output.dash(message.receive_count),
        error[:120],
    ]


@app.command(
    epilog="Examples:\n\n"
    "  Preview what would go back (nothing is sent):\n\n"
    "    ecr-findings dlq redrive --reason throttled --reason access_denied --dry-run\n\n"
    "  Send back the last hour's failures of one team's repositories, 20 a second:\n\n"
    "    ecr-findings dlq redrive --repository 'team-a/*' --newer-than 1h --rate 20\n\n"
    "  Let SQS move everything back to where it came from, and follow it:\n\n"
    "    ecr-findings dlq redrive --native --rate 100 --wait",
)
@prose
def redrive(
    ctx: typer.Context,
    queue: Dlq,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Queue to send messages to (URL or name). Default, --native too: the queue "
            "whose RedrivePolicy names this DLQ.",
        ),
    ] = None,
    native: Annotated[
        bool,
        typer.Option(
            "--native",
            help="Let SQS move every message (StartMessageMoveTask) to the source queue "
            "(or --to); no filters.",
        ),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="With --native: follow the move task to its end.")
    ] = False,
    reason: Annotated[
        list[str] | None,
        typer.Option(
            "--reason",
            help="Only this failure reason: a code the handler sets (e.g. throttled), "
            f"'{UNKNOWN_REASON}', or '{deadletter.EVENTBRIDGE_PREFIX}<ERROR_CODE>' (repeatable).",
        ),
    ] = None,
    repository: Annotated[
        list[str] | None,
        typer.Option("--repository", help="Only this repository; shell patterns (repeatable)."),
    ] = None,
    older_than: Annotated[
        timedelta | None,
        typer.Option(parser=duration, metavar="AGE", help="Only failures older than, e.g. 2h."),
    ] = None,
    newer_than: Annotated[
        timedelta | None,
        typer.Option(parser=duration, metavar="AGE", help="Only failures newer than, e.g. 30m."),
    ] = None,
    retryable_only: Annotated[
        bool,
        typer.Option("--retryable-only", help="Only messages that died of retries running out."),
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Send back at most this many messages.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be sent; send nothing.")
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Messages per second (selective; native: 1-500, default SQS's own pace).",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Send dead messages back to the source queue.

    Selective (default): messages are read, filtered, sent to the source queue and deleted
    from the DLQ only once sent — nothing is lost if a call fails midway; the run stops at the
    first failure and everything not handled becomes visible again.

    Native (--native): SQS moves every message server-side (StartMessageMoveTask) to the
    same queue: SQS itself knows the source only of messages its redrive policy moved, not of
    those sent to the DLQ (by the handler or EventBridge), so the destination is always named.
    """
    filters = {
        "--reason": reason,
        "--repository": repository,
        "--older-than": older_than,
        "--newer-than": newer_than,
        "--retryable-only": retryable_only or None,
        "--limit": limit,
        "--dry-run": dry_run or None,
    }
    unknown = reasons.unknown_reasons(reason or ())
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(reasons.CONSUMER_REASONS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise typer.BadParameter(
            f"unknown reason {unknown[0]!r}{hint}; known: {reasons.known_reasons_text()}",
            param_hint="--reason",
        )
    if native:
        given = [name for name, value in filters.items() if value]
        if given:
            raise usage_error(
                f"{', '.join(given)} cannot be used with --native (SQS moves every message)"
            )
        if rate is not None and not (1 <= rate <= movetasks.MAX_RATE and rate == int(rate)):
            raise typer.BadParameter(
                f"with --native, a whole number from 1 to {movetasks.MAX_RATE}",
                param_hint="--rate",
            )
        _native(ctx, queue, to, None if rate is None else int(rate), wait, as_json)
        return
    if wait:
        raise usage_error("--wait follows native move tasks: use it with --native")
    selection = RedriveFilter(
        reasons=frozenset(reason or ()),
        repositories=tuple(repository or ()),
        min_age=older_than,
        max_age=newer_than,
        retryable_only=retryable_only,
    )
    _selective(ctx, queue, to, selection, limit, dry_run, rate, as_json)


def _selective(
    ctx: typer.Context,
    queue: str,
    to: str | None,
    selection: RedriveFilter,
    limit: int | None,
    dry_run: bool,
    rate: float | None,
    as_json: bool,
) -> None:
    sqs = target(ctx).client("sqs")
    url = resolve_queue_url(sqs, queue)
    destination = redrive_target(sqs, url, to)
    before = queue_attributes(sqs, url)
    depth = int(before.get("ApproximateNumberOfMessages", 0))
    verb = "Matching" if dry_run else "Redriving"
    with output.progress(f"{verb} {url.rsplit('/', 1)[-1]}", total=depth) as bar:
        report = redrive_selected(
            sqs,
            url,
            destination,
            selection,
            limit=limit,
            dry_run=dry_run,
            rate=rate,
            on_read=bar.advance,
        )
    after = int(queue_attributes(sqs, url).get("ApproximateNumberOfMessages", 0))
    if as_json:
        output.print_json(
            {
                **report.as_json(),
                "to": destination,
                "dlq_depth_before": depth,
                "dlq_depth_after": after,
            }
        )
    else:
        output.console().print(_summary(report, destination, depth, after))
    if not report.ok:
        raise OpsError(f"redrive stopped: {report.error}; nothing unsent was deleted")


def _summary(report: RedriveReport, destination: str, before: int, after: int) -> str:
    if report.dry_run:
        return (
            f"Dry run: {report.matched} of {report.scanned} messages read match; "
            f"they would go to {destination}. Nothing was sent."
        )
    text = (
        f"Sent {report.sent} of {report.matched} matching messages to {destination} "
        f"({report.scanned} read); deleted {report.deleted} from the DLQ. "
        f"DLQ depth: {before} before, {after} after."
    )
    if report.not_deleted:
        text += (
            f" {len(report.not_deleted)} sent but not deleted: they will reappear in the DLQ "
            "(the consumer is idempotent; redrive them again or purge them)."
        )
    return text


def _native(
    ctx: typer.Context,
    queue: str,
    to: str | None,
    rate: int | None,
    wait: bool,
    as_json: bool,
) -> None:
    aws = target(ctx)
    sqs = aws.client("sqs")
    url = resolve_queue_url(sqs, queue)
    source_arn = queue_arn(sqs, url)
    # Named even for the source queue: without DestinationArn SQS returns only messages its
    # redrive policy moved, and fails (CouldNotDetermineMessageSource) on those sent with
    # SendMessage — every message the handler dead-letters and every event EventBridge could
    # not deliver.
    destination = redrive_target(sqs, url, to)
    destination_arn = queue_arn(sqs, destination)
    # No retries: an endpoint without the API answers 5xx, no need to insist.
    tasks = aws.client("sqs", max_attempts=1)
    handle = movetasks.start(tasks, source_arn, destination_arn=destination_arn, rate=rate)
    where = destination_arn
    if not wait:
        if as_json:
            output.print_json(
                {
                    "task_handle": handle,
                    "source_arn": source_arn,
                    "destination_arn": destination_arn,
                }
            )
        else:
            output.console().print(
                f"Started move task {handle}: {url} → {where}. "
                "Follow it with: ecr-findings dlq tasks"
            )
        return
    with output.progress("Moving") as bar:
        task = movetasks.wait(
            tasks,
            source_arn,
            handle,
            on_progress=lambda t: bar.update(
                completed=t.moved, total=t.to_move, description=f"Moving ({t.status})"
            ),
        )
    if as_json:
        output.print_json(task.as_json())
    else:
        output.console().print(
            f"Move task {task.status}: {task.moved} of {output.dash(task.to_move)} messages "
            f"moved to {where}."
            + (f" Failure: {task.failure_reason}" if task.failure_reason else "")
        )
    if task.status != "COMPLETED":
        raise typer.Exit(1)


@app.command(
    epilog="Example:\n\n  ecr-findings dlq tasks --queue findings-dlq",
)
@prose
def tasks(ctx: typer.Context, queue: Dlq, as_json: Json = False) -> None:
    """List the DLQ's recent message move tasks (native redrives), newest first."""
    aws = target(ctx)
    sqs = aws.client("sqs")
    url = resolve_queue_url(sqs, queue)
    found = movetasks.list_tasks(aws.client("sqs", max_attempts=1), queue_arn(sqs, url))
    if as_json:
        output.print_json([t.as_json() for t in found])
        return
    out = output.console()
    if not found:
        out.print(f"No move tasks for {url}.")
        return
    grid = output.table("Status", "Started", "Moved", "Rate", "Destination", "Handle", "Failure")
    for task in found:
        grid.add_row(
            task.status,
            f"{task.started_at:%Y-%m-%d %H:%M:%S}" if task.started_at else "-",
            f"{task.moved}/{output.dash(task.to_move)}",
            output.dash(task.rate),
            task.destination_arn or "(original sources)",
            output.dash(task.task_handle),
            output.dash(task.failure_reason),
        )
    out.print(grid)


@app.command(
    epilog="Examples:\n\n  ecr-findings dlq cancel --queue findings-dlq\n\n"
    "  ecr-findings dlq cancel --queue findings-dlq TASK_HANDLE",
)
@prose
def cancel(
    ctx: typer.Context,
    queue: Dlq,
    task_handle: Annotated[
        str | None,
        typer.Argument(help="The task to cancel. Default: the one running for the DLQ."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Cancel a running move task; messages already moved stay moved."""
    aws = target(ctx)
    sqs = aws.client("sqs", max_attempts=1)
    if task_handle is None:
        url = resolve_queue_url(aws.client("sqs"), queue)
        task_handle = movetasks.running_handle(sqs, queue_arn(aws.client("sqs"), url))
    moved = movetasks.cancel(sqs, task_handle)
    if as_json:
        output.print_json({"task_handle": task_handle, "moved": moved, "status": "CANCELLING"})
    else:
        output.console().print(f"Cancelling move task {task_handle}; {moved} messages moved.")
