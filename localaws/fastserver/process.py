"""Start the fast endpoint in its own process and drive its admin API."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from localaws.rules.faults import Fault

STARTUP_TIMEOUT_S = 30.0
ADMIN_TIMEOUT_S = 120.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The endpoint is local: never route admin calls through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeAwsProcess:
    """``with FakeAwsProcess(latency_ms=10) as aws: aws.url, aws.seed(...), aws.stats()``.

    ``reset("all")`` also forgets pending faults and seeds; ``reset("stats")`` forgets faults.
    """

    def __init__(self, latency_ms: float = 10.0) -> None:
        self.latency_ms = latency_ms
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> FakeAwsProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "localaws.fastserver.app", "--latency-ms", str(self.latency_ms)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"fake AWS endpoint did not start (said {line!r})")
        self.url = line.removeprefix("READY ")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # aiohttp shuts down cleanly on SIGINT
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def seed(self, images: list[dict[str, Any]]) -> int:
        return int(self._admin("POST", "/_seed", {"images": images})["seeded"])

    def inject_fault(self, operation: str, **options: Any) -> None:
        """As ``LocalAws.inject_fault`` (same options and defaults, those of ``Fault``): the next
        ``times`` calls to ``operation``, after ``after`` more, fail."""
        self._admin("POST", "/_fault", dataclasses.asdict(Fault(operation, **options)))

    def reset(self, scope: str = "stats") -> None:
        self._admin("POST", "/_reset", {"scope": scope})

    def stats(self) -> dict[str, Any]:
        return self._admin("GET", "/_stats")

    def _admin(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        return admin_request(self.url, method, path, body)


def admin_request(url: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """One admin call; usable from any process that knows the endpoint URL."""
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with _OPENER.open(request, timeout=ADMIN_TIMEOUT_S) as response:
        result: dict[str, Any] = orjson.loads(response.read())
    return result
