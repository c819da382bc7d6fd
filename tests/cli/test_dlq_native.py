"""Native ``dlq redrive --native``, ``dlq tasks`` and ``dlq cancel`` (SQS message move tasks).

moto has no message move tasks. Without them the CLI must say so in one line and point at
selective redrive. To check what the CLI asks for, ``move_tasks`` teaches the local server
the three calls — a small emulation of SQS's behaviour, recording each request.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from typer.testing import Result

from .support import Queues, depth, scan_body, send_dead


@dataclass
class MoveTaskEmulation:
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    polls_to_finish: int = 1  # ListMessageMoveTasks calls before a task ends
    failure: str | None = None  # the task ends FAILED with this reason, having moved nothing


@pytest.fixture
def move_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[MoveTaskEmulation]:
    from moto.core.responses import ActionResult
    from moto.sqs.responses import SQSResponse

    emulation = MoveTaskEmulation()

    def params(response: Any, *names: str) -> dict[str, Any]:
        found = {n: response._get_param(n) for n in names}
        return {k: v for k, v in found.items() if v is not None}

    def start(self: Any) -> ActionResult:
        request = params(self, "SourceArn", "DestinationArn", "MaxNumberOfMessagesPerSecond")
        emulation.requests.append(("StartMessageMoveTask", request))
        source = self.sqs_backend.get_queue(request["SourceArn"].split(":")[-1])
        task = {
            "TaskHandle": str(uuid.uuid4()),
            "Status": "RUNNING",
            "SourceArn": request["SourceArn"],
            "ApproximateNumberOfMessagesMoved": 0,
            "ApproximateNumberOfMessagesToMove": len(source.messages),
            "StartedTimestamp": 1_700_000_000_000,
            "_polls": emulation.polls_to_finish,
            "_request": request,
        }
        if "DestinationArn" in request:
            task["DestinationArn"] = request["DestinationArn"]
        if "MaxNumberOfMessagesPerSecond" in request:
            task["MaxNumberOfMessagesPerSecond"] = request["MaxNumberOfMessagesPerSecond"]
        emulation.tasks.insert(0, task)
        return ActionResult({"TaskHandle": task["TaskHandle"]})

    def finish(backend: Any, task: dict[str, Any]) -> None:
        del task["TaskHandle"]  # SQS lists handles of running tasks only
        if emulation.failure:
            task.update(Status="FAILED", FailureReason=emulation.failure)
            return
        source = backend.get_queue(task["SourceArn"].split(":")[-1])
        if "DestinationArn" in task:
            destination = task["DestinationArn"].split(":")[-1]
        else:  # back to the queue whose RedrivePolicy names the DLQ
            destination = backend.list_dead_letter_source_queues(source.name)[0].name
        moved = list(source.messages)
        for message in moved:
            backend.send_message(destination, message.body)
        source._messages = [m for m in source._messages if m not in moved]
        task.update(Status="COMPLETED", ApproximateNumberOfMessagesMoved=len(moved))

    def list_tasks(self: Any) -> ActionResult:
        request = params(self, "SourceArn", "MaxResults")
        emulation.requests.append(("ListMessageMoveTasks", request))
        results = []
        for task in emulation.tasks:
            if task["SourceArn"] != request["SourceArn"]:
                continue
            if task["Status"] == "RUNNING":
                task["_polls"] -= 1
                if task["_polls"] <= 0:
                    finish(self.sqs_backend, task)
            results.append({k: v for k, v in task.items() if not k.startswith("_")})
        return ActionResult({"Results": results[: request.get("MaxResults", 10)]})

    def cancel(self: Any) -> ActionResult:
        request = params(self, "TaskHandle")
        emulation.requests.append(("CancelMessageMoveTask", request))
        task = next(t for t in emulation.tasks if t.get("TaskHandle") == request["TaskHandle"])
        task.update(Status="CANCELLING")
        return ActionResult({"ApproximateNumberOfMessagesMoved": 0})

    monkeypatch.setattr(SQSResponse, "start_message_move_task", start, raising=False)
    monkeypatch.setattr(SQSResponse, "list_message_move_tasks", list_tasks, raising=False)
    monkeypatch.setattr(SQSResponse, "cancel_message_move_task", cancel, raising=False)
    yield emulation


@pytest.fixture
def dead(sqs: Any, queues: Queues) -> list[str]:
    return [
        send_dead(
            sqs,
            queues.dlq_url,
            code="throttled",
            repository="team/api",
            body=scan_body("team/api", f"native-{i}"),
        )
        for i in range(4)
    ]


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    return result.stderr


def test_missing_api_is_reported_with_the_way_out(
    cli: Callable[..., Result], queues: Queues, dead: list[str]
) -> None:
    error = _one_line_error(cli("dlq", "redrive", "--native", "-q", queues.dlq_url))

    assert "message move tasks (StartMessageMoveTask) are not available" in error
    assert "redrive selectively instead: ecr-findings dlq redrive (without --native)" in error


def test_missing_api_for_tasks_and_cancel(cli: Callable[..., Result], queues: Queues) -> None:
    for args in (("dlq", "tasks"), ("dlq", "cancel", "some-handle")):
        error = _one_line_error(cli(*args, "-q", queues.dlq_url))
        assert "are not available at this endpoint" in error


def test_native_redrive_request_and_wait(
    cli: Callable[..., Result],
    sqs: Any,
    queues: Queues,
    dead: list[str],
    move_tasks: MoveTaskEmulation,
) -> None:
    result = cli(
        "dlq",
        "redrive",
        "--native",
        "-q",
        queues.dlq_url,
        "--to",
        queues.url,
        "--rate",
        "50",
        "--wait",
        "--json",
    )

    assert result.exit_code == 0, result.stderr
    assert move_tasks.requests[0] == (
        "StartMessageMoveTask",
        {
            "SourceArn": queues.dlq_arn,
            "DestinationArn": queues.arn,
            "MaxNumberOfMessagesPerSecond": 50,
        },
    )
    assert move_tasks.requests[1] == (
        "ListMessageMoveTasks",
        {"SourceArn": queues.dlq_arn, "MaxResults": 10},
    )
    task = json.loads(result.stdout)
    assert (task["status"], task["moved"]) == ("COMPLETED", 4)
    assert depth(sqs, queues.dlq_url) == (0, 0)
    assert depth(sqs, queues.url) == (4, 0)


def test_native_redrive_to_the_original_sources(
    cli: Callable[..., Result],
    sqs: Any,
    queues: Queues,
    dead: list[str],
    move_tasks: MoveTaskEmulation,
) -> None:
    move_tasks.polls_to_finish = 3
    result = cli("dlq", "redrive", "--native", "-q", "findings-dlq")

    assert result.exit_code == 0, result.stderr
    assert move_tasks.requests == [("StartMessageMoveTask", {"SourceArn": queues.dlq_arn})]
    handle = move_tasks.tasks[0]["TaskHandle"]
    assert f"Started move task {handle}" in result.stdout
    assert "the queues the messages came from" in result.stdout

    listed = cli("dlq", "tasks", "-q", queues.dlq_url, "--json")
    assert listed.exit_code == 0, listed.stderr
    [task] = json.loads(listed.stdout)
    assert (task["status"], task["task_handle"], task["to_move"]) == ("RUNNING", handle, 4)
    assert task["destination_arn"] is None

    cancelled = cli("dlq", "cancel", "-q", queues.dlq_url)  # finds the running task itself
    assert cancelled.exit_code == 0, cancelled.stderr
    assert move_tasks.requests[-1] == ("CancelMessageMoveTask", {"TaskHandle": handle})
    assert f"Cancelling move task {handle}" in cancelled.stdout


def test_native_wait_reports_a_failed_task(
    cli: Callable[..., Result],
    sqs: Any,
    queues: Queues,
    dead: list[str],
    move_tasks: MoveTaskEmulation,
) -> None:
    move_tasks.failure = "AccessDenied: not authorized to send to the source queue"

    result = cli("dlq", "redrive", "--native", "-q", queues.dlq_url, "--wait")

    assert result.exit_code == 1
    assert "Move task FAILED: 0 of 4 messages moved" in result.stdout
    assert "Failure: AccessDenied" in result.stdout
    assert depth(sqs, queues.dlq_url) == (4, 0)


def test_cancel_without_a_running_task(
    cli: Callable[..., Result], queues: Queues, move_tasks: MoveTaskEmulation
) -> None:
    error = _one_line_error(cli("dlq", "cancel", "-q", queues.dlq_url))

    assert error == f"error: no move task is running for {queues.dlq_arn}\n"
