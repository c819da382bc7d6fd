"""The error tree: every failure is retryable or permanent and carries a short code.

The code is machine-readable: it becomes the DLQ message attribute ``ErrorCode``, the
``reason`` of the outcome log line and a metric dimension.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class. ``code`` is a short snake_case reason; ``str(err)`` is for humans."""

    retryable: bool = False

    def __init__(self, code: str, message: str) -> None:
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
