"""Options several commands share, and the AWS target every command reads from the context."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer

from pipeline.config import DEFAULT_LOG_GROUP_PREFIX
from pipeline.ops.aws import AwsTarget
from pipeline.ops.hits import normalize_id
from pipeline.ops.timeparse import parse_duration, parse_since

DLQ_ENV = "ECR_FINDINGS_DLQ_URL"
QUEUE_ENV = "ECR_FINDINGS_QUEUE_URL"
PREFIX_ENV = "FINDINGS_LOG_GROUP_PREFIX"

Dlq = Annotated[
    str,
    typer.Option(
        "--queue",
        "-q",
        envvar=DLQ_ENV,
        show_envvar=True,
        help="The dead-letter queue: URL or name.",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
LogGroupPrefix = Annotated[
    str,
    typer.Option(
        "--log-group-prefix",
        envvar=PREFIX_ENV,
        show_envvar=True,
        help="Prefix of the findings log groups (the consumer's FINDINGS_LOG_GROUP_PREFIX).",
    ),
]
DEFAULT_PREFIX = DEFAULT_LOG_GROUP_PREFIX


def _vulnerability_id(text: str) -> str:
    try:
        return normalize_id(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


VulnerabilityId = Annotated[
    str,
    typer.Argument(
        metavar="VULNERABILITY_ID",
        callback=_vulnerability_id,
        help="A CVE id (CVE-2024-3094) or another advisory id (GHSA-…, ALAS-…).",
    ),
]


def duration(text: str) -> timedelta:
    return parse_duration(text)


def since(text: str) -> datetime:
    return parse_since(text)


def target(ctx: typer.Context) -> AwsTarget:
    root = ctx.find_root()
    if not isinstance(root.obj, AwsTarget):
        root.obj = AwsTarget()
    return root.obj
