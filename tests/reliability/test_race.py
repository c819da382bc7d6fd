"""Concurrent duplicate delivery: two consumer processes given the same scan event at the same
moment (an EventBridge duplicate, or a message whose visibility timeout ran out while its first
consumer was still at work) must log it exactly once: no duplicated finding events, one SUMMARY
event. The loser backs off (a retry or a duplicate), it does not write a second copy."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import uuid
from typing import Any

from .conftest import FIGURES, NOTES, ROOT, Rig, basic_findings, not_exactly_once

ROUNDS = 3
TIMEOUT_S = 90


class Worker:
    """A warm consumer in its own process (``race_worker``), fed records on stdin."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.race_worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.extend(self.process.stderr)

    def wait_for(self, key: str) -> tuple[Any, list[dict[str, Any]]]:
        """The next line holding ``key``, and the outcome lines printed before it."""
        outcomes: list[dict[str, Any]] = []
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT_S)
            except queue.Empty:
                raise AssertionError(f"worker silent for {TIMEOUT_S} s") from None
            if line is None:
                self.process.wait(timeout=10)
                raise AssertionError(
                    f"worker exited ({self.process.returncode}): {''.join(self._stderr)[-2000:]}"
                )
            if not line.startswith("{"):
                continue
            doc = json.loads(line)
            if key in doc:
                return doc[key], outcomes
            if "outcome" in doc:
                outcomes.append(doc)

    def send(self, record: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(record) + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def test_two_consumers_racing_on_one_event_log_it_exactly_once(
    rig: Rig, subprocess_env: dict[str, str]
) -> None:
    workers = [Worker(subprocess_env), Worker(subprocess_env)]
    try:
        for worker in workers:
            worker.wait_for("ready")
        images = []
        first_outcomes: list[list[str]] = []
        settled: list[bool] = []
        for round_number in range(ROUNDS):
            image = rig.image(
                f"race/round-{round_number}", "v1", basic_findings(60, seed=500 + round_number)
            )
            images.append(image)
            body = image.body
            records = [rig.record(body, message_id=str(uuid.uuid4())) for _ in workers]
            for worker, record in zip(workers, records, strict=True):
                worker.send(record)  # both at once
            FIGURES["races"] += 1
            FIGURES["messages"] += len(records)
            answers = [worker.wait_for("response") for worker in workers]
            outcomes = [o["outcome"] for _, lines in answers for o in lines]
            first_outcomes.append(outcomes)

            # Whoever backed off with a retry gets its message again, later, alone.
            for (response, _), record in zip(answers, records, strict=True):
                receive_count = 1
                while response["batchItemFailures"] and receive_count < 4:
                    receive_count += 1
                    attributes = {"ApproximateReceiveCount": str(receive_count)}
                    FIGURES["messages"] += 1
                    workers[0].send({**record, "attributes": attributes})
                    response, _ = workers[0].wait_for("response")
                settled.append(response == {"batchItemFailures": []})
        tallies = rig.tally_all(images)
        NOTES.append(f"race of two consumer processes, outcomes per round: {first_outcomes}")

        assert not_exactly_once(tallies) == {}
        both_logged = [o for o in first_outcomes if o.count("done") > 1]
        assert both_logged == [], "both consumers reported the image logged"
        assert all(settled), "a message never settled after the race"
        assert rig.take_dead_letters() == {}
    finally:
        for worker in workers:
            worker.stop()
