"""``LocalAws``: a moto server in a background thread, behind our emulation middleware.

moto's backends are module-level state, so every LocalAws in one process shares the same
resources; run one per process (the test suite keeps one for the whole session).

Known moto gap not emulated here: EventBridge ``put_events`` → rule → SQS target delivers a body
without the ``account`` field; events built with ``registry.scan_event`` carry it unless asked not
to.
"""

from __future__ import annotations

import threading
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from localaws.env import DEFAULT_REGION, endpoint_environment
from localaws.motoserver.middleware import RESET_PATH, LocalAwsMiddleware
from localaws.motoserver.state import HarnessState, PutLogEventsRecord
from localaws.rules.ecr import SeededScan
from localaws.rules.faults import Fault
from localaws.rules.inspector2 import FindingBook
from pipeline.events import ScanKind


def _quiet_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietRequestHandler(MotoRequestHandler):
        """No access log line per request: it floods test output and slows the server."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    return QuietRequestHandler


class LocalAws:
    """A local AWS endpoint on 127.0.0.1 (a random free port unless ``port`` is given).

    Not emulated: moto's EventBridge → SQS delivery omits the event's ``account``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION):
        self.host = host
        self.region = region
        self._port = port
        self._state = HarnessState()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalAws:
        if self._server is not None:
            return self
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from localaws.motoserver import bucket_policies, cloudformation, events_patterns

        events_patterns.install()
        cloudformation.install()
        bucket_policies.install()
        app = LocalAwsMiddleware(DomainDispatcherApplication(create_backend_app), self._state)
        self._server = make_server(
            self.host, self._port, app, threaded=True, request_handler=_quiet_handler()
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-aws", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()  # release the socket now, not at garbage collection
        if self._thread is not None:
            self._thread.join()
        self._server, self._thread = None, None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalAws is not running; call start() first")
        return int(self._server.server_port)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs (and subprocesses) at this endpoint."""
        return endpoint_environment(self.endpoint_url, self.region)

    def reset(self) -> None:
        """Empty moto (``POST /moto-api/reset``) and forget seeds, faults and records."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(self.endpoint_url + RESET_PATH, method="POST", data=b"")
        with opener.open(request, timeout=30) as response:
            response.read()
        self._state.clear()

    # -- ECR scan findings -------------------------------------------------------------------
    @property
    def scan_summaries_in_describe_images(self) -> bool:
        """Whether DescribeImages reports seeded scans (status, completion time, severity
        counts) as ECR does. Off by default, as moto answers; ``reset`` turns it off."""
        return self._state.scan_summaries_in_describe_images

    @scan_summaries_in_describe_images.setter
    def scan_summaries_in_describe_images(self, on: bool) -> None:
        self._state.scan_summaries_in_describe_images = on

    def seed_scan(
        self,
        repository: str,
        digest: str,
        findings: Iterable[Mapping[str, Any]],
        *,
        kind: ScanKind = "basic",
        status: str | None = None,
        description: str | None = None,
        registry_id: str | None = None,
        region: str | None = None,
        severity_counts: Mapping[str, int] | None = None,
        completed_at: datetime | float | None = None,
        vulnerability_source_updated_at: datetime | float | None = None,
    ) -> SeededScan:
        """What DescribeImageScanFindings answers for this image (the image must be in moto).

        ``status`` None: what a finished scan of that ``kind`` reports (COMPLETE or ACTIVE).
        ``registry_id``/``region`` of None match any account/region. ``severity_counts``
        overrides the counts derived from ``findings`` (e.g. to emulate "COMPLETE but the
        findings are not readable yet"). Seeding the same image again replaces the scan and
        invalidates its page tokens. Findings are checked against botocore's ECR model.
        """
        return self._state.scans.seed(
            repository,
            digest,
            findings,
            kind=kind,
            status=status,
            description=description,
            registry_id=registry_id,
            region=region,
            severity_counts_override=severity_counts,
            completed_at=completed_at,
            vulnerability_source_updated_at=vulnerability_source_updated_at,
        )

    # -- Inspector findings ------------------------------------------------------------------
    @property
    def inspector_findings(self) -> FindingBook:
        """The findings Inspector's ListFindings answers with, filtered and paged by the rule
        book (``localaws.inspector.Inspector`` seeds and changes them); ``reset`` empties it."""
        return self._state.findings

    # -- faults ------------------------------------------------------------------------------
    def inject_fault(
        self,
        operation: str,
        *,
        code: str = "ThrottlingException",
        status: int = 400,
        times: int = 1,
        after: int = 0,
        message: str = "Rate exceeded",
        delay_s: float = 0.0,
    ) -> None:
        """Answer the next ``times`` calls to ``operation`` with this error, after ``after``.

        With ``delay_s`` each such call hangs that long (or until ``clear_faults``) first.
        """
        self._state.faults.add(Fault(operation, code, status, message, times, after, delay_s))

    def clear_faults(self) -> None:
        self._state.faults.clear()

    def pending_faults(self) -> list[Fault]:
        return self._state.faults.pending()

    # -- records -----------------------------------------------------------------------------
    @property
    def calls(self) -> Counter[str]:
        """Operation name → number of calls received (faulted and refused calls included)."""
        return self._state.calls

    @property
    def put_log_events_requests(self) -> list[PutLogEventsRecord]:
        """One (group, stream, n_events, n_bytes) per PutLogEvents received, refused included."""
        return self._state.put_log_events_requests

    @property
    def violations(self) -> list[str]:
        """Requests AWS would have refused; a correct client leaves this empty."""
        return self._state.violations
