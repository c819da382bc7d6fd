"""AWS exceptions → retryable or permanent, with a short reason code."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from pipeline.aws.errors import classify, error_code
from pipeline.errors import PermanentError, RetryableError

API = "ecr:DescribeImageScanFindings"


def client_error(code: str, message: str = "details", status: int = 400) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "DescribeImageScanFindings")


@pytest.mark.parametrize(
    ("aws_code", "reason"),
    [
        ("RepositoryNotFoundException", "repository_not_found"),
        ("ImageNotFoundException", "image_not_found"),
        ("AccessDeniedException", "access_denied"),
        ("AccessDenied", "access_denied"),
        ("UnrecognizedClientException", "access_denied"),
        ("InvalidParameterException", "invalid_parameter"),
        ("ValidationException", "invalid_parameter"),
        ("KmsException", "kms_error"),
    ],
)
def test_errors_no_retry_can_cure_are_permanent(aws_code: str, reason: str) -> None:
    err = classify(client_error(aws_code, "no such thing"), API)
    assert isinstance(err, PermanentError) and not err.retryable
    assert err.code == reason
    assert err.message == f"{API}: {aws_code}: no such thing"


@pytest.mark.parametrize(
    "aws_code",
    ["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"],
)
def test_throttling_is_retryable(aws_code: str) -> None:
    err = classify(client_error(aws_code, "Rate exceeded"), API)
    assert isinstance(err, RetryableError) and err.retryable
    assert (err.code, err.message) == ("throttled", f"{API}: {aws_code}: Rate exceeded")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(status: int) -> None:
    err = classify(client_error("InternalFailure", "oops", status), API)
    assert isinstance(err, RetryableError)
    assert (err.code, err.message) == ("aws_unavailable", f"{API}: InternalFailure: oops")


def test_a_scan_not_readable_yet_is_retryable() -> None:
    # ECR may announce COMPLETE before the findings can be read.
    err = classify(client_error("ScanNotFoundException", "no scan"), API)
    assert isinstance(err, RetryableError) and err.code == "aws_error"


def test_an_empty_aws_message_leaves_no_dangling_separator() -> None:
    assert classify(client_error("ImageNotFoundException", ""), API).message == (
        f"{API}: ImageNotFoundException"
    )


def test_a_client_error_without_details() -> None:
    exc = ClientError({}, "DescribeImageScanFindings")
    assert error_code(exc) == ""  # no code at all; the message below still says "Unknown"
    err = classify(exc, API)
    assert isinstance(err, RetryableError)
    assert (err.code, err.message) == ("aws_error", f"{API}: Unknown")


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (
            ReadTimeoutError(endpoint_url="https://logs.example"),
            "timeout",
            'logs:PutLogEvents: timed out: Read timeout on endpoint URL: "https://logs.example"',
        ),
        (TimeoutError("no reply"), "timeout", "logs:PutLogEvents: timed out: no reply"),
        (
            EndpointConnectionError(endpoint_url="https://logs.example"),
            "connection_error",
            'logs:PutLogEvents: Could not connect to the endpoint URL: "https://logs.example"',
        ),
        (
            ConnectTimeoutError(endpoint_url="https://logs.example"),
            "connection_error",
            'logs:PutLogEvents: Connect timeout on endpoint URL: "https://logs.example"',
        ),
        (OSError("reset"), "connection_error", "logs:PutLogEvents: reset"),
        (NoCredentialsError(), "sdk_error", "logs:PutLogEvents: Unable to locate credentials"),
        (KeyError("x"), "internal_error", "logs:PutLogEvents: KeyError: 'x'"),
    ],
)
def test_other_failures_are_retryable(exc: BaseException, code: str, message: str) -> None:
    err = classify(exc, "logs:PutLogEvents")
    assert isinstance(err, RetryableError)
    assert (err.code, err.message) == (code, message)
