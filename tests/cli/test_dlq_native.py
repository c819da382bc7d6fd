"""Native ``dlq redrive --native``, ``dlq tasks`` and ``dlq cancel`` (SQS message move tasks).

moto has no message move tasks. Without them the CLI must say so in one line and point at
selective redrive. To check what the CLI asks for, ``move_tasks`` teaches the local server
the three calls — a small emulation of SQS's behaviour, recording each request.

Like SQS, the emulation returns a message to "its original source queue" (no DestinationArn)
only when the queue's redrive policy moved it there: a message sent to the DLQ with
SendMessage — every one the consumer dead-letters, and EventBridge's undeliverable events —
has no known source, and the task fails with CouldNotDetermineMessageSource.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from typer.testing import Result

from .support import MAX_RECEIVE_COUNT, Queues, depth, scan_body, send_dead


@dataclass
class MoveTaskEmulation:
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    polls_to_finish: int = 1  # ListMessageMoveTasks calls before a task ends
    failure: str | None = None  # the task ends FAILED with this reason, having moved nothing


@pytest.fixture
def move_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[MoveTaskEmulation]:
    from moto.core.responses import ActionResult
    from moto.sqs.models import SQSBackend
    from moto.sqs.responses import SQSResponse

    emulation = MoveTaskEmulation()

    # Where each message was sent with SendMessage: a message the redrive policy moved to the
    # DLQ was sent to its source queue, one sent to the DLQ itself has no other source.
    send_message = SQSBackend.send_message

    def remember_queue(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send_message(backend, queue_name, *args, **kwargs)
        message.sent_to_queue = queue_name
        return message

    monkeypatch.setattr(SQSBackend, "send_message", remember_queue)

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
        moved = list(source.messages)
        origins = [getattr(m, "sent_to_queue", source.name) for m in moved]
        if "DestinationArn" not in task and source.name in origins:
            task.update(Status="FAILED", FailureReason="CouldNotDetermineMessageSource")
            return
        for message, origin in zip(moved, origins, strict=True):
            destination = task.get("DestinationArn", origin).split(":")[-1]
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


def test_native_redrive_goes_to_the_source_queue_by_default(
    cli: Callable[..., Result],
    sqs: Any,
    queues: Queues,
    dead: list[str],
    move_tasks: MoveTaskEmulation,
) -> None:
    # The consumer sent these to the DLQ itself (SendMessage): SQS cannot tell where they
    # came from, so the CLI names the queue whose RedrivePolicy names the DLQ.
    result = cli("dlq", "redrive", "--native", "-q", "findings-dlq", "--wait", "--json")

    assert result.exit_code == 0, result.stderr
    assert move_tasks.requests[0] == (
        "StartMessageMoveTask",
        {"SourceArn": queues.dlq_arn, "DestinationArn": queues.arn},
    )
    task = json.loads(result.stdout)
    assert (task["status"], task["moved"], task["failure_reason"]) == ("COMPLETED", 4, None)
    assert depth(sqs, queues.dlq_url) == (0, 0)
    assert depth(sqs, queues.url) == (4, 0)


def test_the_emulation_refuses_to_guess_the_source_of_sent_messages(
    sqs: Any, queues: Queues, dead: list[str], move_tasks: MoveTaskEmulation
) -> None:
    handle = sqs.start_message_move_task(SourceArn=queues.dlq_arn)["TaskHandle"]
    [task] = sqs.list_message_move_tasks(SourceArn=queues.dlq_arn)["Results"]

    assert handle and (task["Status"], task["FailureReason"]) == (
        "FAILED",
        "CouldNotDetermineMessageSource",
    )
    assert depth(sqs, queues.dlq_url) == (4, 0)


def test_the_emulation_returns_redriven_messages_to_their_source(
    sqs: Any, queues: Queues, move_tasks: MoveTaskEmulation
) -> None:
    # Moved by the queue's own redrive policy (receives past maxReceiveCount): SQS knows the
    # source, and so does the emulation.
    sqs.send_message(QueueUrl=queues.url, MessageBody=scan_body("team/api", "redriven"))
    for _ in range(MAX_RECEIVE_COUNT + 1):
        sqs.receive_message(QueueUrl=queues.url, VisibilityTimeout=0)
    assert depth(sqs, queues.dlq_url) == (1, 0)

    sqs.start_message_move_task(SourceArn=queues.dlq_arn)
    [task] = sqs.list_message_move_tasks(SourceArn=queues.dlq_arn)["Results"]

    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 1)
    assert depth(sqs, queues.url) == (1, 0)


def test_native_redrive_without_a_wait_then_tasks_and_cancel(
    cli: Callable[..., Result],
    sqs: Any,
    queues: Queues,
    dead: list[str],
    move_tasks: MoveTaskEmulation,
) -> None:
    move_tasks.polls_to_finish = 3
    result = cli("dlq", "redrive", "--native", "-q", "findings-dlq")

    assert result.exit_code == 0, result.stderr
    handle = move_tasks.tasks[0]["TaskHandle"]
    assert f"Started move task {handle}" in result.stdout
    assert queues.arn in result.stdout

    listed = cli("dlq", "tasks", "-q", queues.dlq_url, "--json")
    assert listed.exit_code == 0, listed.stderr
    [task] = json.loads(listed.stdout)
    assert (task["status"], task["task_handle"], task["to_move"]) == ("RUNNING", handle, 4)
    assert task["destination_arn"] == queues.arn

    cancelled = cli("dlq", "cancel", "-q", queues.dlq_url)  # finds the running task itself
    assert cancelled.exit_code == 0, cancelled.stderr
    assert move_tasks.requests[-1] == ("CancelMessageMoveTask", {"TaskHandle": handle})
    assert f"Cancelling move task {handle}" in cancelled.stdout


def test_native_redrive_asks_for_to_when_the_source_is_ambiguous(
    cli: Callable[..., Result], sqs: Any, queues: Queues, move_tasks: MoveTaskEmulation
) -> None:
    policy = {"deadLetterTargetArn": queues.dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    sqs.create_queue(QueueName="other", Attributes={"RedrivePolicy": json.dumps(policy)})

    error = _one_line_error(cli("dlq", "redrive", "--native", "-q", queues.dlq_url))

    assert "2 queues use" in error and "pick one with --to" in error
    assert move_tasks.requests == []


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
