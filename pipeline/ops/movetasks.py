"""Native redrive: SQS message move tasks (StartMessageMoveTask and friends).

SQS moves the messages itself, server-side, up to 500 a second; one task per DLQ at a time.
Some endpoints (older SDK targets, local emulators) lack these calls: that is reported as
MoveTasksUnavailable so that the CLI can point at selective redrive. Callers use a client
without retries, so that a missing API is reported at once; only ``wait`` polls through
throttling.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from pipeline.aws.errors import THROTTLING_CODES, error_code
from pipeline.ops.errors import OpsError, describe_aws_error

MAX_RATE = 500  # MaxNumberOfMessagesPerSecond upper bound
FINISHED = frozenset({"COMPLETED", "CANCELLED", "FAILED"})

# How a server says it does not know the operation. A bare HTTP 500 is what an emulator
# without the call answers.
_UNAVAILABLE = frozenset(
    {
        "InvalidAction",
        "UnknownOperationException",
        "UnknownOperation",
        "NotImplemented",
        "InvalidOperation",
        "501",
        "500",
        "404",
    }
)


class MoveTasksUnavailable(OpsError):
    pass


@dataclass(frozen=True)
class MoveTask:
    status: str
    source_arn: str
    destination_arn: str | None
    task_handle: str | None  # only while RUNNING
    rate: int | None
    moved: int
    to_move: int | None
    failure_reason: str | None
    started_at: datetime | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> MoveTask:
        started = item.get("StartedTimestamp")
        to_move = item.get("ApproximateNumberOfMessagesToMove")
        return cls(
            status=str(item.get("Status", "UNKNOWN")),
            source_arn=str(item.get("SourceArn", "")),
            destination_arn=item.get("DestinationArn"),
            task_handle=item.get("TaskHandle"),
            rate=item.get("MaxNumberOfMessagesPerSecond"),
            moved=int(item.get("ApproximateNumberOfMessagesMoved", 0)),
            to_move=int(to_move) if to_move is not None else None,
            failure_reason=item.get("FailureReason"),
            started_at=datetime.fromtimestamp(int(started) / 1000, UTC) if started else None,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "source_arn": self.source_arn,
            "destination_arn": self.destination_arn,
            "task_handle": self.task_handle,
            "max_messages_per_second": self.rate,
            "moved": self.moved,
            "to_move": self.to_move,
            "failure_reason": self.failure_reason,
            "started_at": self.started_at.isoformat() if self.started_at else None,
        }


def start(
    sqs: Any, dlq_arn: str, *, destination_arn: str | None = None, rate: int | None = None
) -> str:
    """Start moving every message of the DLQ; return the task handle. Without a destination
    SQS returns each message to the queue it came from — which it knows only for messages its
    redrive policy moved: the task fails (CouldNotDetermineMessageSource) on a message sent to
    the DLQ with SendMessage. The CLI always names one."""
    request: dict[str, Any] = {"SourceArn": dlq_arn}
    if destination_arn:
        request["DestinationArn"] = destination_arn
    if rate is not None:
        request["MaxNumberOfMessagesPerSecond"] = rate
    response = _call(sqs.start_message_move_task, "StartMessageMoveTask", **request)
    return str(response["TaskHandle"])


def list_tasks(sqs: Any, dlq_arn: str, *, max_results: int = 10) -> list[MoveTask]:
    """The most recent tasks for this DLQ (SQS keeps up to ten), newest first."""
    response = _call(
        sqs.list_message_move_tasks,
        "ListMessageMoveTasks",
        SourceArn=dlq_arn,
        MaxResults=max_results,
    )
    return [MoveTask.from_api(item) for item in response.get("Results", [])]


def cancel(sqs: Any, task_handle: str) -> int:
    """Cancel a running task; return how many messages it had moved."""
    response = _call(sqs.cancel_message_move_task, "CancelMessageMoveTask", TaskHandle=task_handle)
    return int(response.get("ApproximateNumberOfMessagesMoved", 0))


def running_handle(sqs: Any, dlq_arn: str) -> str:
    for task in list_tasks(sqs, dlq_arn):
        if task.status == "RUNNING" and task.task_handle:
            return task.task_handle
    raise OpsError(f"no move task is running for {dlq_arn}")


def wait(
    sqs: Any,
    dlq_arn: str,
    task_handle: str,
    *,
    poll_seconds: float = 2.0,
    on_progress: Callable[[MoveTask], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> MoveTask:
    """Follow a task until it finishes. A finished task loses its handle, so once ours is no
    longer listed as running, the newest task is ours."""
    while True:
        try:
            tasks = list_tasks(sqs, dlq_arn)
        except ClientError as exc:
            if error_code(exc) not in THROTTLING_CODES:
                raise
            sleep(poll_seconds)
            continue
        task = next((t for t in tasks if t.task_handle == task_handle), None)
        if task is None and tasks and tasks[0].status in FINISHED:
            task = tasks[0]
        if task is None:
            raise OpsError(f"move task {task_handle} is no longer listed for {dlq_arn}")
        if on_progress:
            on_progress(task)
        if task.status in FINISHED:
            return task
        sleep(poll_seconds)


def _call(method: Callable[..., Any], operation: str, **request: Any) -> dict[str, Any]:
    try:
        response: dict[str, Any] = method(**request)
    except ClientError as exc:
        if error_code(exc) in _UNAVAILABLE:
            raise MoveTasksUnavailable(
                f"SQS message move tasks ({operation}) are not available at this endpoint "
                f"({describe_aws_error(exc)}); redrive selectively instead: "
                "ecr-findings dlq redrive (without --native)"
            ) from None
        raise
    return response
