"""``ecr-findings image``: one image's current findings, from its logs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from pipeline.cli import output
from pipeline.cli.options import DEFAULT_PREFIX, Json, LogGroupPrefix, target
from pipeline.cli.search import StatusOption, status_text, statuses
from pipeline.cli.text import prose
from pipeline.ops.image import ImageReader, ImageRef, ImageView, parse_ref

EPILOG = (
    "Examples:\n\n"
    "  ecr-findings image payments-api:1.8.3\n\n"
    "  ecr-findings image web/storefront@sha256:46f8a7a9700e… --status all\n\n"
    "  ecr-findings image team/api:latest --json"
)


def _ref(text: str) -> ImageRef:
    try:
        return parse_ref(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@prose
def image(
    ctx: typer.Context,
    ref: Annotated[
        ImageRef,
        typer.Argument(
            metavar="REPOSITORY@DIGEST|REPOSITORY:TAG",
            parser=_ref,
            help="The image: by digest (sha256:…, or its first 12 or more hex digits) or tag.",
        ),
    ],
    log_group_prefix: LogGroupPrefix = DEFAULT_PREFIX,
    status: StatusOption = None,
    rate: Annotated[
        float,
        typer.Option(min=0.1, help="API calls per second (FilterLogEvents quota: 5 TPS)."),
    ] = 4.0,
    as_json: Json = False,
) -> None:
    """Show the current findings of one image, CRITICAL first.

    Reads the repository's log group only (not ECR: the image may be deleted since): its
    scans and the finding events about it. A tag is the image it named last. Per finding the
    latest evidence wins: its latest update, or a later scan that no longer lists it (then it
    is CLOSED). ACTIVE findings are shown unless --status says otherwise.
    """
    reader = ImageReader(target(ctx).client("logs"), log_group_prefix, rate=rate)
    view = reader.read(ref, statuses(status))
    if as_json:
        output.print_json(view.as_json())
        return
    print_image(output.console(), view)


def print_image(out: Console, view: ImageView) -> None:
    """A header saying which image and scan, the findings table, and totals."""
    tags = ", ".join(view.tags) or "untagged"
    out.print(f"{view.ref.repository}@{view.digest} ({tags})")
    registries = sorted({(a, r) for a, r, _, _ in view.images if a})
    if registries:
        out.print("Registry: " + ", ".join(f"{a} {r}" for a, r in registries))
    scan = view.latest_scan
    out.print(
        (f"Latest scan {scan.scan_time}" if scan else "No scan logged")
        + f"; {_count(view.scans, 'scan')} and {_count(view.finding_events, 'finding event')} "
        "logged."
    )
    for moved in view.tag_also_named:
        out.print(f"The tag {view.ref.tag} also named {moved}.")
    several = len(registries) > 1
    columns = ["Severity", "Vulnerability", "Package", "Status", "Since", "From"]
    grid = output.table(*(["Account", *columns] if several else columns))
    shown = view.shown
    for hit in shown:
        row = [
            hit.severity,
            hit.vulnerability_id or "-",
            hit.package,
            status_text(hit),
            hit.changed_at,
            "finding event" if hit.source == "event" else "scan",
        ]
        grid.add_row(*([hit.account, *row] if several else row))
    if shown:
        out.print(grid)
    severities = ", ".join(f"{n} {s}" for s, n in view.by_severity().items())
    which = "/".join(view.statuses) if view.statuses is not None else "all"
    out.print(f"{len(shown)} {which} findings" + (f": {severities}." if severities else "."))
    if view.hidden:
        counts = ", ".join(f"{n} {s}" for s, n in view.hidden.items())
        out.print(f"Not shown: {counts} (--status all shows them).")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
