"""SNS: notifications published within a per-invocation budget (``NOTIFY_MAX_MESSAGES``).

What a message says is ``pipeline.notify``'s; here it is sent. A failed Publish (after the
SDK's retries) is ``notify_failed``, retryable: the writer fails the message, so a retry
notifies again (at least once). Beyond the budget an image is not notified on its own but
named in the one summary message sent when the invocation ends.
"""

from __future__ import annotations

from typing import Any

from pipeline.aws.errors import classify
from pipeline.config import Settings
from pipeline.errors import PipelineError, RetryableError
from pipeline.metrics import Metrics
from pipeline.notify import Notice, Policy, SnsMessage, render, render_summary
from pipeline.vulnerabilities import WatchList


async def publish(client: Any, topic_arn: str, message: SnsMessage) -> str:
    """Publish one message (both bodies, MessageStructure=json); its MessageId."""
    try:
        response = await client.publish(
            TopicArn=topic_arn,
            Subject=message.subject,
            Message=message.message,
            MessageStructure="json",
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in message.attributes.items()
            },
        )
    except Exception as exc:
        err = classify(exc, "Publish")
        raise RetryableError("notify_failed", f"{err.code}: {err.message}") from None
    return str(response.get("MessageId", ""))


class Notifier:
    """Sends the notices of one consumer; lives across warm invocations. ``policy`` says what
    is worth a notification (and holds the watch list, which counts even without a topic)."""

    def __init__(self, settings: Settings, client: Any) -> None:
        self.topic_arn = settings.notify_topic_arn
        self.client = client
        self.limit = settings.notify_max_messages
        self.policy = Policy(
            min_severity=settings.notify_min_severity,
            watch=WatchList(settings.watched_vulnerabilities),
            enabled=bool(self.topic_arn) and client is not None,
        )
        self._sent = 0
        self._held: list[Notice] = []

    def begin(self) -> None:
        """A new invocation: a new budget."""
        self._sent = 0
        self._held = []

    async def send(self, notice: Notice | None, metrics: Metrics) -> None:
        """Publish one notice, or hold it for the summary once the budget is spent. Raises
        RetryableError("notify_failed") when the publish fails (its slot is given back)."""
        if notice is None or not self.policy.enabled:
            return
        if self._sent >= self.limit:
            self._held.append(notice)
            metrics.notifications_suppressed += 1
            return
        self._sent += 1  # taken before the call: images notify concurrently
        try:
            await publish(
                self.client, str(self.topic_arn), render(notice, self.policy.min_severity)
            )
        except BaseException:
            self._sent -= 1
            raise
        metrics.notifications += 1

    async def finish(self, metrics: Metrics) -> str | None:
        """Send the summary of the images held back, if any; why it failed, if it did (the
        images are logged by now: nothing can be retried for it)."""
        if not self._held:
            return None
        held, self._held = self._held, []
        message = render_summary(held, self.policy.min_severity, self.limit)
        # Counted until it is sent: a publish that fails, or is cut off by its timeout, leaves
        # them counted (NotificationsFailed: the images are logged, nothing retries this).
        metrics.notifications_failed += len(held)
        try:
            await publish(self.client, str(self.topic_arn), message)
        except PipelineError as err:
            return f"{len(held)} images not named in a summary notification: {err.message}"
        metrics.notifications_failed -= len(held)
        metrics.notifications += 1
        return None
