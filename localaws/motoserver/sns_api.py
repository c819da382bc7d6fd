"""SNS Publish checked against AWS's limits (``localaws.rules.sns``) before moto sees it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from localaws.motoserver.protocol import Call, Reply, error_reply
from localaws.motoserver.state import HarnessState
from localaws.rules import sns as sns_rules


def publish(call: Call, state: HarnessState, forward: Callable[[bytes], Reply]) -> Reply:
    form = parse_qs(call.body.decode("utf-8", "replace"), keep_blank_values=True)
    problem = sns_rules.publish_problem(sns_rules.publish_request(form))
    if problem:
        state.record_violation(f"{call.operation}: {problem}")
        return error_reply("query", "InvalidParameter", f"Invalid parameter: {problem}")
    return forward(call.body)
