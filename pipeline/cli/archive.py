"""``ecr-findings archive …``: ask the S3 archive which images had a vulnerability."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from pipeline.cli import output
from pipeline.cli.options import Json, VulnerabilityId, target
from pipeline.cli.text import prose
from pipeline.config import DEFAULT_ARCHIVE_PREFIX
from pipeline.ops import archive_query
from pipeline.ops.timeparse import parse_since

app = typer.Typer(
    help="Query the S3 archive of logged scans (ARCHIVE_BUCKET), with Athena or directly.",
    epilog="Examples:\n\n"
    "  ecr-findings archive query CVE-2021-44228 --since 2024-01-01\n\n"
    "  ecr-findings archive query CVE-2024-3094 --engine s3 --bucket org-scan-archive --json",
    no_args_is_help=True,
)


class Engine(StrEnum):
    auto = "auto"
    athena = "athena"
    s3 = "s3"


EPILOG = (
    "Examples:\n\n"
    "  ecr-findings archive query CVE-2021-44228 --since 2024-01-01 --until 2024-12-31\n\n"
    "  ecr-findings archive query CVE-2024-3094 --workgroup security --json\n\n"
    "  ecr-findings archive query GHSA-jfh8-c2jp-5v3q --engine s3 --bucket org-scan-archive"
)


def _day(text: str) -> date:
    """A date partition: a duration ago (30d) or an ISO 8601 date or time, as a UTC date."""
    moment: datetime = parse_since(text)
    return moment.astimezone(UTC).date()


@app.command(epilog=EPILOG)
@prose
def query(
    ctx: typer.Context,
    vulnerability_id: VulnerabilityId,
    bucket: Annotated[
        str | None,
        typer.Option(
            envvar="ARCHIVE_BUCKET",
            show_envvar=True,
            help="The archive's bucket (the consumer's ARCHIVE_BUCKET); needed to read objects.",
        ),
    ] = None,
    prefix: Annotated[
        str,
        typer.Option(
            envvar="ARCHIVE_PREFIX", show_envvar=True, help="The consumer's ARCHIVE_PREFIX."
        ),
    ] = DEFAULT_ARCHIVE_PREFIX,
    since: Annotated[
        date | None,
        typer.Option(
            parser=_day,
            metavar="WHEN",
            help="First date partition (UTC): a duration ago (90d) or an ISO 8601 date.",
        ),
    ] = None,
    until: Annotated[
        date | None,
        typer.Option(parser=_day, metavar="WHEN", help="Last date partition (UTC), included."),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="athena: the Glue table over the archive; s3: read the objects; auto (default): "
            "Athena, or the objects when its endpoint is not AWS's or the query fails.",
        ),
    ] = Engine.auto,
    workgroup: Annotated[
        str,
        typer.Option(
            envvar="ECR_FINDINGS_ATHENA_WORKGROUP", show_envvar=True, help="Athena workgroup."
        ),
    ] = archive_query.DEFAULT_WORKGROUP,
    database: Annotated[
        str,
        typer.Option(
            envvar="ECR_FINDINGS_ARCHIVE_DATABASE", show_envvar=True, help="Glue database."
        ),
    ] = archive_query.DEFAULT_DATABASE,
    table: Annotated[
        str,
        typer.Option(envvar="ECR_FINDINGS_ARCHIVE_TABLE", show_envvar=True, help="Glue table."),
    ] = archive_query.DEFAULT_TABLE,
    output_location: Annotated[
        str | None,
        typer.Option(
            help="s3:// location for Athena's results, if the workgroup does not set one."
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Find every archived image scan and finding event that names VULNERABILITY_ID.

    Shows repository, digest, tags, severity, package, scan time, date partition and the
    object's key, and says which engine answered: Athena, or the archive's objects read
    directly (a local AWS, a failed query, or --engine s3).
    """
    aws = target(ctx)
    runner = archive_query.ArchiveQuery(
        s3=aws.client("s3"),
        athena=aws.client("athena"),
        bucket=bucket or None,
        prefix=prefix,
        database=database,
        table=table,
        workgroup=workgroup,
        output_location=output_location,
    )
    with output.progress(f"Querying the archive for {vulnerability_id}"):
        result = runner.run(vulnerability_id, since=since, until=until, engine=engine.value)
    if as_json:
        output.print_json(result.as_json())
        return
    out = output.console()
    if result.hits:
        print_hits(out, result)
    else:
        out.print(f"No archived image has {vulnerability_id}.")
    out.print(engine_line(result))


def print_hits(out: Console, result: archive_query.QueryResult) -> None:
    """The hits, then the objects holding them (a key is too long for a table's column)."""
    several = len({h.account for h in result.hits}) > 1
    # No date column: the time says it (the partition's day is in --json and in the keys).
    columns = ["Repository", "Digest", "Tags", "Severity", "Package", "Status", "Time"]
    grid = output.table(*(["Account", *columns] if several else columns))
    for hit in result.hits:
        row = [
            hit.repository,
            output.short_digest(hit.image_digest),
            ", ".join(hit.tags) or "-",
            hit.severity,
            hit.package,
            hit.status,
            output.dash(hit.scan_time),
        ]
        grid.add_row(*([hit.account, *row] if several else row))
    out.print(grid)
    keys = list(dict.fromkeys(hit.key for hit in result.hits))
    out.print(
        f"{result.vulnerability_id}: {result.images} images, {len(result.hits)} findings, "
        f"in {len(keys)} objects:"
    )
    for key in keys:
        out.print(f"  {key}", soft_wrap=True, markup=False, highlight=False)


def engine_line(result: archive_query.QueryResult) -> str:
    if result.engine == "athena":
        scanned = (
            f", {result.bytes_scanned:,} bytes scanned" if result.bytes_scanned is not None else ""
        )
        return f"Engine: Athena (query {result.query_execution_id}{scanned}; {result.why})."
    return f"Engine: S3 objects ({result.objects_read} read; {result.why})."
