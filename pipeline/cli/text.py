"""Help text: docstrings are wrapped at 100 columns in the source, not in the terminal."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def unwrap(text: str) -> str:
    """Join the lines of each paragraph; paragraphs stay apart."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def prose(func: F) -> F:
    """Let the terminal wrap the function's docstring (typer shows it as the help)."""
    func.__doc__ = unwrap(func.__doc__ or "")
    return func
