"""``ecr-findings``: the root command, its AWS options and the sub-commands."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli import archive, backfill, demo, dlq, image, reconcile, search
from pipeline.cli.exits import OneLineErrors
from pipeline.ops.aws import AwsTarget

app = typer.Typer(
    cls=OneLineErrors,
    name="ecr-findings",
    help="Operate the ECR findings pipeline: dead letters, backfill, vulnerability search, "
    "an image's findings, reconciling with Inspector, the S3 archive.",
    epilog="Examples:\n\n"
    "  ecr-findings dlq status --queue findings-dlq\n\n"
    "  ecr-findings --region eu-west-1 search CVE-2024-3094\n\n"
    "  ecr-findings image payments-api:1.8.3\n\n"
    "  ecr-findings --profile security backfill --queue findings --dry-run\n\n"
    "  ecr-findings demo\n\n"
    "Queues can also be given as ECR_FINDINGS_QUEUE_URL and ECR_FINDINGS_DLQ_URL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(dlq.app, name="dlq")
app.add_typer(archive.app, name="archive")
app.command(epilog=backfill.EPILOG)(backfill.backfill)
app.command(epilog=search.EPILOG)(search.search)
app.command(epilog=image.EPILOG)(image.image)
app.command(epilog=reconcile.EPILOG)(reconcile.reconcile)
app.command()(demo.demo)


@app.callback()
def aws_options(
    ctx: typer.Context,
    region: Annotated[
        str | None,
        typer.Option(help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="Named AWS profile (default: AWS_PROFILE).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="Send every AWS call here (default: AWS_ENDPOINT_URL), e.g. moto."),
    ] = None,
) -> None:
    ctx.obj = AwsTarget(region=region, profile=profile, endpoint_url=endpoint_url)
