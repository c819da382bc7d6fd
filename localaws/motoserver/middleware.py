"""The WSGI layer in front of moto: records calls, injects faults, emulates what moto lacks."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from localaws.motoserver import ecr_api, inspector_api, logs_api, s3_api, sns_api
from localaws.motoserver.protocol import S3, Call, Reply, error_reply, identify, read_body
from localaws.motoserver.state import HarnessState

Handler = Callable[[Call, HarnessState, Callable[[bytes], Reply]], Reply]

ECR = "AmazonEC2ContainerRegistry_V20150921"
LOGS = "Logs_20140328"
INSPECTOR = "inspector2"  # a REST-JSON service: its signing name stands in for a target prefix
_HANDLERS: dict[tuple[str, str], Handler] = {
    (ECR, "DescribeImageScanFindings"): lambda call, state, _forward: (
        ecr_api.describe_image_scan_findings(call, state.scans)
    ),
    (ECR, "DescribeImages"): lambda call, state, forward: ecr_api.describe_images(
        call, state.scans, state.scan_summaries_in_describe_images, forward
    ),
    (INSPECTOR, "ListFindings"): lambda call, state, _forward: inspector_api.list_findings(
        call, state.findings
    ),
    (LOGS, "PutLogEvents"): logs_api.put_log_events,
    (LOGS, "CreateLogGroup"): logs_api.create_log_group,
    (LOGS, "CreateLogStream"): logs_api.create_log_stream,
    (S3, "PutObject"): s3_api.put_object,
    ("", "Publish"): sns_api.publish,  # SNS speaks the query protocol: no target prefix
}
RESET_PATH = "/moto-api/reset"


class LocalAwsMiddleware:
    def __init__(self, inner: WSGIApplication, state: HarnessState) -> None:
        self.inner = inner
        self.state = state

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api"):
            if path == RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
                self.state.clear()
            return self.inner(environ, start_response)

        body = read_body(environ)
        call = identify(environ, body)
        if call is None:
            return self.inner(environ, start_response)

        self.state.record_call(call.operation)
        fault = self.state.faults.take(call.operation)
        if fault is not None:
            self.state.faults.hold(fault)
            reply = error_reply(call.protocol, fault.code, fault.message, fault.status)
            return self._send(reply, start_response)

        handler = _HANDLERS.get((call.target_prefix, call.operation))
        if handler is None:
            return self.inner(environ, start_response)
        try:
            reply = handler(call, self.state, lambda new_body: self._forward(environ, new_body))
        except Exception as exc:  # a bug of ours: fail the call and make the test notice
            self.state.record_violation(f"{call.operation}: local AWS failed: {exc!r}")
            reply = error_reply(call.protocol, "InternalFailure", f"local AWS: {exc!r}", 500)
        return self._send(reply, start_response)

    def _forward(self, environ: WSGIEnvironment, body: bytes) -> Reply:
        """Run the request through moto with ``body`` and collect the whole response."""
        sub = dict(environ)
        sub["wsgi.input"] = io.BytesIO(body)
        sub["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, object] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        chunks = self.inner(sub, capture)  # type: ignore[arg-type]
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status = int(str(captured["status"]).split(" ", 1)[0])
        headers = captured["headers"]
        assert isinstance(headers, list)
        return Reply(status, list(headers), data)

    @staticmethod
    def _send(reply: Reply, start_response: StartResponse) -> Iterable[bytes]:
        start_response(reply.status_line, reply.headers)
        return [reply.body]
