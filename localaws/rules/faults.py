"""Scheduled error responses for named operations (throttles, 5xx, hangs), consumed call by call."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass


@dataclass(slots=True)
class Fault:
    """Answer ``times`` calls with this error, after letting ``after`` calls through.

    ``delay_s`` holds each faulted call that long before it answers: a call that hangs, as one
    does when AWS is slow, and then fails, so nothing it carried is applied.
    """

    operation: str
    code: str = "ThrottlingException"
    status: int = 400
    message: str = "Rate exceeded"
    times: int = 1
    after: int = 0
    delay_s: float = 0.0


class FaultBook:
    """Thread-safe: the server answers requests on many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._released = threading.Event()

    def add(self, fault: Fault) -> None:
        if fault.times < 1 or fault.after < 0:
            raise ValueError("times must be >= 1 and after >= 0")
        if fault.delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        if not 400 <= fault.status <= 599:
            raise ValueError(f"status must be an HTTP error status, not {fault.status}")
        with self._lock:
            self._faults.append(fault)

    def take(self, operation: str) -> Fault | None:
        """The fault that answers this call, if any; every pending fault counts the call."""
        with self._lock:
            chosen: Fault | None = None
            for fault in self._faults:
                if fault.operation != operation:
                    continue
                if fault.after > 0:
                    fault.after -= 1
                elif chosen is None:
                    chosen = fault
                    fault.times -= 1
            self._faults = [f for f in self._faults if f.times > 0]
            return chosen

    def hold(self, fault: Fault) -> None:
        """Keep a faulted call waiting ``fault.delay_s``, or until the faults are cleared."""
        if fault.delay_s > 0:
            with self._lock:
                released = self._released
            released.wait(fault.delay_s)

    def clear(self) -> None:
        """Forget every pending fault and let calls still held answer now."""
        with self._lock:
            self._faults.clear()
            self._released.set()
            self._released = threading.Event()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [dataclasses.replace(f) for f in self._faults]
