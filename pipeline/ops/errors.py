"""Runtime failures the CLI reports as one line, and the wording of AWS errors."""

from __future__ import annotations

import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

# botocore reports a bare HTTP 5xx with the server's HTML page as the message.
_HTML = re.compile(r"<[^>]+>")


class OpsError(Exception):
    """A failure an operator can act on; ``str()`` is the whole story, on one line."""


def describe_aws_error(exc: BaseException) -> str:
    """One line for a botocore error: operation, code and message, no HTML or newlines."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = _one_line(_HTML.sub(" ", str(error.get("Message") or "")))
        operation = exc.operation_name or "request"
        return f"{operation} failed: {code}" + (f": {message}" if message else "")
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region or set AWS_DEFAULT_REGION"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found: pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID"
    if isinstance(exc, ProfileNotFound):
        return f"{exc} (see ~/.aws/config)"
    if isinstance(exc, BotoCoreError):
        return _one_line(str(exc))
    return _one_line(str(exc)) or type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())
