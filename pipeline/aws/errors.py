"""botocore errors → our retryable/permanent tree."""

from __future__ import annotations

import asyncio

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

from pipeline.errors import PermanentError, PipelineError, RetryableError

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "LimitExceededException",
    }
)
# Errors no retry can cure, by AWS error code → our reason code.
PERMANENT_CODES = {
    "RepositoryNotFoundException": "repository_not_found",
    "ImageNotFoundException": "image_not_found",
    "AccessDeniedException": "access_denied",
    "AccessDenied": "access_denied",
    "UnrecognizedClientException": "access_denied",
    "InvalidParameterException": "invalid_parameter",
    "ValidationException": "invalid_parameter",
    "KmsException": "kms_error",
}


def error_code(exc: ClientError) -> str:
    """The AWS error code of a botocore ClientError ("" when the response has none)."""
    return str(exc.response.get("Error", {}).get("Code") or "")


def classify(exc: BaseException, api: str) -> PipelineError:
    """Map an exception raised by an AWS call (after botocore's own retries) to our tree."""
    if isinstance(exc, ClientError):
        code = error_code(exc) or "Unknown"
        message = f"{api}: {code}: {exc.response.get('Error', {}).get('Message', '')}".rstrip(": ")
        if code in PERMANENT_CODES:
            return PermanentError(PERMANENT_CODES[code], message)
        if code in THROTTLING_CODES:
            return RetryableError("throttled", message)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if status >= 500:
            return RetryableError("aws_unavailable", message)
        return RetryableError("aws_error", message)
    if isinstance(exc, ReadTimeoutError | asyncio.TimeoutError | TimeoutError):
        return RetryableError("timeout", f"{api}: timed out: {exc}")
    if isinstance(exc, ConnectionError | HTTPClientError | OSError):
        return RetryableError("connection_error", f"{api}: {exc}")
    if isinstance(exc, BotoCoreError):
        return RetryableError("sdk_error", f"{api}: {exc}")
    return RetryableError("internal_error", f"{api}: {type(exc).__name__}: {exc}")
