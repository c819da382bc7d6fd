"""The fast front end of the local AWS, for the benchmark: ECR findings, CloudWatch Logs, SQS,
S3 PutObject and SNS Publish.

It speaks the AWS JSON protocol (the operation is named by the ``X-Amz-Target`` header), S3's
REST protocol (a PUT of ``/bucket/key``, or of ``/key`` on ``bucket.host``) and SNS's query
protocol (a form POST naming its ``Action``). It waits a fixed latency before answering every
AWS call, answers from the rule book (``localaws.rules``) and counts what it receives. It runs
in its own process (``python -m localaws.fastserver.app``, started by
``localaws.fastserver.process``) so that its CPU is not charged to a client measured in another
process.

Admin endpoints (not AWS, no latency):
- ``POST /_seed``  ``{"images": [...]}``: scan findings to serve (see ``fastserver.ecr``);
- ``POST /_fault`` ``{"operation": ..., "code": ..., ...}``: answer the next calls to an
  operation with an error (the fields of ``localaws.rules.faults.Fault``);
- ``POST /_reset`` ``{"scope": "stats" | "logs" | "all"}``: clear counters; also what was stored
  (logs, messages, objects); also seeds;
- ``GET /_stats``: calls per operation, error codes, PutLogEvents limit violations, Publish
  requests refused by the rules, per stream the events, bytes and PutLogEvents calls received
  since the last reset, the objects and messages stored (all, and since the last reset).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import orjson
from aiohttp import web

from localaws.fastserver.ecr import EcrService
from localaws.fastserver.logs import LogsService
from localaws.fastserver.s3 import S3Service, bucket_and_key
from localaws.fastserver.sns import SnsService
from localaws.fastserver.sqs import SqsService
from localaws.rules import s3 as s3_rules
from localaws.rules.errors import ApiError
from localaws.rules.faults import Fault, FaultBook

# Room for 1 MiB PutLogEvents batches (JSON-escaped) and for the seed of a large data set.
MAX_REQUEST_BYTES = 256 * 1024 * 1024
CONTENT_TYPES = {
    "Logs_20140328": "application/x-amz-json-1.1",
    "AmazonEC2ContainerRegistry_V20150921": "application/x-amz-json-1.1",
    "AmazonSQS": "application/x-amz-json-1.0",
}

_T = TypeVar("_T")
SNS_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"

Operation = Callable[[dict[str, Any]], dict[str, Any]]


class FakeAws:
    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.logs = LogsService()
        self.ecr = EcrService()
        self.sqs = SqsService()
        self.s3 = S3Service()
        self.sns = SnsService()
        self.faults = FaultBook()
        self.services: dict[str, dict[str, Operation]] = {
            "Logs_20140328": self.logs.operations,
            "AmazonEC2ContainerRegistry_V20150921": self.ecr.operations,
            "AmazonSQS": self.sqs.operations,
        }
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_post("/", self.handle_aws)
        app.router.add_put("/{path:.*}", self.handle_s3)
        app.router.add_post("/_seed", self.handle_seed)
        app.router.add_post("/_fault", self.handle_fault)
        app.router.add_post("/_reset", self.handle_reset)
        app.router.add_get("/_stats", self.handle_stats)
        return app

    async def handle_aws(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        if not target and request.content_type == "application/x-www-form-urlencoded":
            return await self.handle_query(request)
        prefix, _, name = target.partition(".")
        operation = self.services.get(prefix, {}).get(name)
        body = await request.read()
        unknown = target or request.headers.get("Content-Type", "?")

        def answer() -> dict[str, Any]:
            assert operation is not None
            return operation(orjson.loads(body) if body else {})

        payload: dict[str, Any]
        try:
            payload, status = await self._call(name if operation else None, unknown, answer), 200
        except ApiError as exc:
            payload, status = {"__type": exc.code, "message": exc.message}, exc.status
        return web.Response(
            body=orjson.dumps(payload),
            status=status,
            content_type=CONTENT_TYPES.get(prefix, "application/x-amz-json-1.1"),
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    async def handle_s3(self, request: web.Request) -> web.Response:
        """S3's REST protocol: PutObject only; any other S3 call is unknown."""
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        bucket, key = bucket_and_key(request.host, request.path)
        name = s3_rules.operation(request.method, f"/{bucket}/{key}", request.query, headers)
        known = name == "PutObject"
        request_id = uuid.uuid4().hex.upper()[:16]
        try:
            answer = await self._call(
                name if known else None,
                f"s3:{request.method} {name or request.path}",
                lambda: self.s3.put_object(bucket, key, headers, body),
            )
        except ApiError as exc:
            error = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{escape(exc.code)}</Code><Message>{escape(exc.message)}</Message>"
                f"<RequestId>{request_id}</RequestId></Error>"
            )
            return web.Response(
                text=error,
                status=exc.status,
                content_type="application/xml",
                headers={"x-amz-request-id": request_id},
            )
        return web.Response(status=200, headers={**answer, "x-amz-request-id": request_id})

    async def handle_query(self, request: web.Request) -> web.Response:
        """The query protocol (a form naming its Action): SNS Publish only."""
        form = parse_qs((await request.read()).decode("utf-8", "replace"), keep_blank_values=True)
        action = (form.get("Action") or [""])[0]
        request_id = str(uuid.uuid4())
        try:
            message_id = await self._call(
                action if action == "Publish" else None,
                f"query:{action or '?'}",
                lambda: self.sns.publish(form),
            )
        except ApiError as exc:
            kind = "Receiver" if exc.status >= 500 else "Sender"
            text = (
                f'<ErrorResponse xmlns="{SNS_NAMESPACE}"><Error><Type>{kind}</Type>'
                f"<Code>{escape(exc.code)}</Code><Message>{escape(exc.message)}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
            return web.Response(text=text, status=exc.status, content_type="text/xml")
        text = (
            f'<{action}Response xmlns="{SNS_NAMESPACE}"><{action}Result>'
            f"<MessageId>{message_id}</MessageId></{action}Result><ResponseMetadata>"
            f"<RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
        )
        return web.Response(text=text, content_type="text/xml")

    async def _call(self, name: str | None, unknown: str, answer: Callable[[], _T]) -> _T:
        """Every AWS call alike, whatever its protocol: counted in flight, the latency, a
        scheduled fault, then the answer. ``name`` None: not emulated (counted as ``unknown``).
        Raises the ApiError to send back, counted under ``errors``."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency_s)
            if name is None:
                self.unknown[unknown] += 1
                raise ApiError("UnknownOperationException", f"not emulated: {unknown!r}")
            self.calls[name] += 1
            fault = self.faults.take(name)
            if fault is not None:
                await asyncio.sleep(fault.delay_s)
                raise ApiError(fault.code, fault.message, fault.status)
            return answer()
        except ApiError as exc:
            self.errors[f"{name}:{exc.code}"] += 1
            raise
        finally:
            self.in_flight -= 1

    async def handle_seed(self, request: web.Request) -> web.Response:
        seed = orjson.loads(await request.read())
        try:
            return _json({"seeded": self.ecr.seed(seed.get("images") or [])})
        except (KeyError, ValueError) as exc:  # a finding the ECR model does not know
            return _json({"error": str(exc)}, status=400)

    async def handle_fault(self, request: web.Request) -> web.Response:
        try:
            self.faults.add(Fault(**orjson.loads(await request.read())))
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, status=400)
        return _json({"faults": len(self.faults.pending())})

    async def handle_reset(self, request: web.Request) -> web.Response:
        body = await request.read()
        scope = (orjson.loads(body) if body else {}).get("scope", "stats")
        if scope not in ("stats", "logs", "all"):
            return _json({"error": f"unknown scope {scope!r}"}, status=400)
        self.calls.clear()
        self.errors.clear()
        self.unknown.clear()
        self.max_in_flight = 0
        self.faults.clear()
        self.logs.reset_stats()
        self.sns.reset_stats()
        self.s3.reset_stats()
        if scope in ("logs", "all"):
            self.logs.reset_all()
            self.sqs.reset()
            self.s3.reset()
            self.sns.reset()
        if scope == "all":
            self.ecr.reset()
        return _json({"reset": scope})

    async def handle_stats(self, request: web.Request) -> web.Response:
        return _json(self.stats())

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "errors": dict(self.errors),
            "unknown": dict(self.unknown),
            "violations": list(self.logs.violations),
            "rejected_events": self.logs.rejected_events,
            "streams": self.logs.stream_stats(),
            "sqs_messages": self.sqs.sent(),
            "publish_violations": list(self.sns.violations),
            "s3_objects": len(self.s3.objects),
            "s3_bytes": self.s3.stored_bytes(),
            "s3_objects_written": self.s3.written,
            "sns_messages": len(self.sns.messages),
            "sns_messages_published": self.sns.published,
            "max_in_flight": self.max_in_flight,
            "server_cpu_s": time.process_time(),
        }


def _json(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=10.0)
    args = parser.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(1024)
    host, port = sock.getsockname()[:2]
    # The parent reads this one line to learn the address.
    print(f"READY http://{host}:{port}", flush=True)
    fake = FakeAws(latency_s=args.latency_ms / 1000)
    # A body is stored as sent: S3 keeps a gzip upload (Content-Encoding: gzip) compressed,
    # and its checksum is over the compressed bytes.
    web.run_app(fake.app(), sock=sock, print=None, access_log=None, auto_decompress=False)


if __name__ == "__main__":
    main()
