"""How results are shown: rich tables on stdout, JSON for machines, progress on stderr."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pipeline.ops.timeparse import format_age

# Without a terminal rich assumes 80 columns, too narrow for digests and stream names.
_PIPE_WIDTH = 160


def console(*, stderr: bool = False, max_width: int | None = None) -> Console:
    """A console on the current sys.stdout/stderr (tests swap them)."""
    probe = Console(stderr=stderr)
    width = probe.width if probe.is_terminal or os.environ.get("COLUMNS") else _PIPE_WIDTH
    if max_width:
        width = min(width, max_width)
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=False)


def print_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def table(*columns: str, title: str | None = None) -> Table:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        grid.add_column(name, overflow="fold")
    return grid


def short_digest(digest: str | None, length: int = 12) -> str:
    if not digest:
        return "-"
    return digest.split(":", 1)[-1][:length]


def age(when: datetime | None, now: datetime) -> str:
    return "-" if when is None else f"{format_age((now - when).total_seconds())} ago"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 image``, ``2 images``, ``3 repositories`` (with ``many``)."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def dash(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


class Bar:
    """A progress bar's handle: ``advance`` and ``total``; a no-op when stderr is no terminal."""

    def __init__(self, progress: Progress, task: Any) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def total(self, total: int | None) -> None:
        self._progress.update(self._task, total=total)

    def update(self, *, completed: int, total: int | None, description: str) -> None:
        self._progress.update(self._task, completed=completed, total=total, description=description)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Bar]:
    err = console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    ) as bar:
        yield Bar(bar, bar.add_task(description, total=total))
