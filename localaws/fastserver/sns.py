"""SNS for the fast endpoint: Publish in memory, only what the notifications call (moto serves
SNS to the other front end). Every request is checked by the rule book
(``localaws.rules.sns``); one it refuses is answered with InvalidParameter, as SNS answers it,
and recorded, so that the benchmark can fail loudly even when the client swallows the error."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from localaws.rules import sns as rules
from localaws.rules.errors import ApiError

Form = Mapping[str, Sequence[str]]


class SnsService:
    def __init__(self) -> None:
        self.messages: list[tuple[str, rules.PublishRequest]] = []  # (topic, request)
        self.violations: list[str] = []
        self.published = 0  # messages accepted since the last stats reset

    def reset_stats(self) -> None:
        self.violations.clear()
        self.published = 0

    def reset(self) -> None:
        self.messages.clear()

    def publish(self, form: Form) -> str:
        """Store one message; its MessageId."""
        topic = (form.get("TopicArn") or form.get("TargetArn") or [""])[0]
        if not topic.startswith("arn:") or ":sns:" not in topic:
            raise self._refused(f"TopicArn or TargetArn is not an SNS ARN: {topic!r}")
        request = rules.publish_request(form)
        problem = rules.publish_problem(request)
        if problem:
            raise self._refused(problem)
        self.messages.append((topic, request))
        self.published += 1
        return str(uuid.uuid4())

    def _refused(self, problem: str) -> ApiError:
        self.violations.append(f"Publish: {problem}")
        return ApiError("InvalidParameter", f"Invalid parameter: {problem}")
