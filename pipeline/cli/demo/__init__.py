"""``ecr-findings demo``: the whole pipeline on an embedded local AWS (what ``make demo`` runs)."""

from __future__ import annotations

import importlib.util

import typer

from pipeline.cli.exits import usage_error
from pipeline.cli.text import prose


@prose
def demo(
    keep_running: bool = typer.Option(
        False, "--keep-running", help="Leave the local AWS up at the end, until Ctrl-C."
    ),
) -> None:
    """Run the pipeline end to end against a local, in-process AWS (moto) and show the result.

    Seeds repositories and scanned images, sends their scan events through EventBridge into
    SQS, drains the queue with the real handler (notifications and the S3 archive on), then
    prints the log groups and streams, the images that have one CVE, the notifications an
    SQS subscriber of the topic received, the archive's objects and a query over them, and
    the dead-letter queue.
    """
    if not all(importlib.util.find_spec(name) for name in ("moto", "flask")):
        raise usage_error(
            "the demo runs on moto, which the plain install leaves out: "
            "pip install 'ecr-findings-logger[demo]'"
        )
    from pipeline.cli.demo import scenario

    scenario.run(keep_running=keep_running)
