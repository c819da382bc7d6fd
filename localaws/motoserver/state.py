"""What the local AWS remembers besides moto's own state: seeds, faults and records."""

from __future__ import annotations

import threading
from collections import Counter
from typing import NamedTuple

from localaws.rules.ecr import ScanBook
from localaws.rules.faults import FaultBook
from localaws.rules.inspector2 import FindingBook


class PutLogEventsRecord(NamedTuple):
    group: str
    stream: str
    n_events: int
    n_bytes: int  # Σ(UTF-8 message bytes + 26), the size AWS counts against the batch limit


class HarnessState:
    """Shared by the server's request threads and the test that drives them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.put_log_events_requests: list[PutLogEventsRecord] = []
        self.violations: list[str] = []
        self.faults = FaultBook()
        self.scans = ScanBook()
        self.findings = FindingBook()  # Inspector's
        # Off: moto's DescribeImages, which reports no scans. On: what ECR itself reports.
        self.scan_summaries_in_describe_images = False

    def record_call(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1

    def record_put(self, record: PutLogEventsRecord) -> None:
        with self._lock:
            self.put_log_events_requests.append(record)

    def record_violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def clear(self) -> None:
        """Forget everything, in place, so references held by tests stay valid."""
        with self._lock:
            self.calls.clear()
            self.put_log_events_requests.clear()
            self.violations.clear()
        self.faults.clear()
        self.scans.clear()
        self.findings.clear()
        self.scan_summaries_in_describe_images = False
