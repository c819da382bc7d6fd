"""CloudWatch Logs calls checked against AWS's limits before moto sees them.

A request AWS would refuse is refused here too (400 ``InvalidParameterException``) and recorded
as a violation, since a well-behaved client never sends one. Events outside the accepted time
window are dropped and reported in ``rejectedLogEventsInfo`` here rather than by moto: moto
reports ``tooNewLogEventStartIndex`` as the last too-new index instead of the first, gives the
too-old end index inclusively, and ignores retention.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from localaws.motoserver.protocol import Call, Reply, error_reply
from localaws.motoserver.state import HarnessState, PutLogEventsRecord
from localaws.rules import logs as logs_rules

Forward = Callable[[bytes], Reply]


def _refuse(call: Call, state: HarnessState, where: str, problem: str) -> Reply:
    state.record_violation(f"{call.operation} {where}: {problem}")
    return error_reply("json", "InvalidParameterException", problem)


def create_log_group(call: Call, state: HarnessState, forward: Forward) -> Reply:
    group = call.params().get("logGroupName")
    problem = logs_rules.group_name_problem(group)
    if problem:
        return _refuse(call, state, repr(group), problem)
    return forward(call.body)


def create_log_stream(call: Call, state: HarnessState, forward: Forward) -> Reply:
    params = call.params()
    group, stream = params.get("logGroupName"), params.get("logStreamName")
    problem = logs_rules.group_name_problem(group) or logs_rules.stream_name_problem(stream)
    if problem:
        return _refuse(call, state, f"{group!r}/{stream!r}", problem)
    return forward(call.body)


def _retention_days(call: Call, group: str) -> int | None:
    from moto.logs.models import logs_backends

    found = logs_backends[call.account][call.region].groups.get(group)
    days = getattr(found, "retention_in_days", None)
    return int(days) if days else None


def put_log_events(call: Call, state: HarnessState, forward: Forward) -> Reply:
    params = call.params()
    group, stream = params.get("logGroupName"), params.get("logStreamName")
    events = params.get("logEvents")
    where = f"{group!r}/{stream!r}"
    counted = events if isinstance(events, list) else []
    valid_shape = all(isinstance(e, dict) for e in counted)
    state.record_put(
        PutLogEventsRecord(
            str(group),
            str(stream),
            len(counted),
            logs_rules.batch_bytes(counted) if valid_shape else 0,
        )
    )
    problem = (
        logs_rules.group_name_problem(group)
        or logs_rules.stream_name_problem(stream)
        or logs_rules.batch_problem(events)
    )
    if problem:
        return _refuse(call, state, where, problem)

    split = logs_rules.split_by_age(
        counted, int(time.time() * 1000), _retention_days(call, str(group))
    )
    if not split.rejected_info:
        return forward(call.body)
    # moto checks that the group and stream exist even when every event was dropped.
    reply = forward(orjson.dumps({**params, "logEvents": split.kept}))
    if reply.status != 200:
        return reply
    answer = orjson.loads(reply.body) if reply.body else {}
    answer["rejectedLogEventsInfo"] = split.rejected_info
    return reply.with_body(orjson.dumps(answer))
