"""The error tree: every failure is retryable or permanent and carries a short code.

The code is machine-readable: it becomes the DLQ message attribute ``ErrorCode``, the
``reason`` of the outcome log line and a metric dimension.
"""

from __future__ import annotations

# Error texts end up in log lines, DLQ attributes and metrics: never unbounded, never a body.
MESSAGE_MAX_CHARS = 2_000
QUOTE_MAX_CHARS = 300


def quote(value: object, limit: int = QUOTE_MAX_CHARS) -> str:
    """``repr(value)`` for an error text, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}…[{len(text)} chars]"


def bounded(text: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    return text if len(text) <= limit else f"{text[: limit - 30]}…[truncated {len(text)} chars]"


class PipelineError(Exception):
    """Base class. ``code`` is a short snake_case reason; ``str(err)`` is for humans."""

    retryable: bool = False

    def __init__(self, code: str, message: str) -> None:
        message = bounded(message)
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class RetryableError(PipelineError):
    """Might succeed later: throttling, 5xx, timeouts, a scan not readable yet."""

    retryable = True


class PermanentError(PipelineError):
    """Will never succeed as it is: malformed input, image or repository gone."""

    retryable = False


class ConfigError(ValueError):
    """Invalid settings, raised once at start-up with every problem listed."""
