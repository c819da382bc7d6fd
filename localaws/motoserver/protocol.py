"""What an AWS request is, and replies in the protocol its client speaks.

Recognised: the JSON protocol (``X-Amz-Target: Prefix.Operation``; ECR, CloudWatch Logs, SQS,
EventBridge), the query protocol (``Action=Operation`` form field; STS, and SQS for old SDKs),
S3's REST protocol (signed for ``s3``; the operation from the method and path, see
``localaws.rules.s3``) and the REST-JSON operations in ``REST_JSON_ROUTES`` (by signing service,
method and path; Inspector's ListFindings). Anything else passes through to moto untouched.
"""

from __future__ import annotations

import http
import io
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs
from wsgiref.types import WSGIEnvironment
from xml.sax.saxutils import escape

import orjson

from localaws.rules import s3 as s3_rules

Protocol = Literal["json", "query", "rest-json", "rest-xml"]
S3 = "S3"  # the target prefix of S3's REST calls

# SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecr/aws4_request, ..."
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
_SIGNING_SERVICE = re.compile(r"Credential=[^/,\s]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/")
# (signing service, method, path) → operation; the service stands in for a target prefix.
REST_JSON_ROUTES = {("inspector2", "POST", "/findings/list"): "ListFindings"}
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        try:
            phrase = http.HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"

    def with_body(self, body: bytes) -> Reply:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        return Reply(self.status, headers, body)


@dataclass(frozen=True, slots=True)
class Call:
    """One recognised AWS API request."""

    protocol: Protocol
    target_prefix: str  # e.g. "Logs_20140328"; "" for the query protocol
    operation: str  # e.g. "PutLogEvents"
    body: bytes
    headers: dict[str, str] = field(repr=False)  # lower-case names
    path: str = ""  # the REST protocol's request path (e.g. /bucket/key)

    def params(self) -> dict[str, Any]:
        """The JSON request body (empty for the query protocol or a malformed body)."""
        if self.protocol == "query" or not self.body:
            return {}
        try:
            parsed = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    @property
    def region(self) -> str:
        match = _CREDENTIAL.search(self.headers.get("authorization", ""))
        return match.group(2) if match else DEFAULT_REGION

    @property
    def account(self) -> str:
        """The caller's account, resolved the way moto resolves it."""
        if "MOTO_ACCOUNT_ID" in os.environ:
            return os.environ["MOTO_ACCOUNT_ID"]
        if "x-moto-account-id" in self.headers:
            return self.headers["x-moto-account-id"]
        from moto.iam.models import get_account_id_from

        match = _CREDENTIAL.search(self.headers.get("authorization", ""))
        return str(get_account_id_from(match.group(1) if match else ""))


def read_body(environ: WSGIEnvironment) -> bytes:
    """Read the whole request body and put it back so the next application can read it too."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body: bytes = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    return headers


def identify(environ: WSGIEnvironment, body: bytes) -> Call | None:
    """The operation a request calls, or None when it is none of the recognised calls."""
    headers = _headers(environ)
    service = _SIGNING_SERVICE.search(headers.get("authorization", ""))
    if service is not None and service.group(1) == "s3":
        path = str(environ.get("PATH_INFO", ""))
        query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        method = str(environ.get("REQUEST_METHOD", ""))
        operation = s3_rules.operation(method, path, query, headers)
        return Call("rest-xml", S3, operation, body, headers, path) if operation else None
    target = headers.get("x-amz-target", "")
    if "." in target:
        prefix, operation = target.rsplit(".", 1)
        return Call("json", prefix, operation, body, headers)
    service = _SIGNING_SERVICE.search(headers.get("authorization", ""))
    if service:
        method, path = str(environ.get("REQUEST_METHOD", "")), str(environ.get("PATH_INFO", ""))
        route = REST_JSON_ROUTES.get((service.group(1), method, path))
        if route:
            return Call("rest-json", service.group(1), route, body, headers)
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        action = form.get("Action", [""])[0]
        if action:
            return Call("query", "", action, body, headers)
    return None


def _request_id() -> str:
    return str(uuid.uuid4())


def json_reply(
    payload: dict[str, Any],
    status: int = 200,
    content_type: str = "application/x-amz-json-1.1",  # REST-JSON services: application/json
) -> Reply:
    body = orjson.dumps(payload)
    return Reply(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", _request_id()),
        ],
        body,
    )


def error_reply(protocol: Protocol, code: str, message: str, status: int = 400) -> Reply:
    """An AWS error in the shape botocore parses for that protocol."""
    request_id = _request_id()
    if protocol == "rest-xml":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif protocol in ("json", "rest-json"):
        body = orjson.dumps({"__type": code, "message": message})
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
    else:
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    headers.append(("Content-Length", str(len(body))))
    return Reply(status, headers, body)
