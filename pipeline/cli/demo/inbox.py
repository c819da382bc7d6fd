"""The demo's notification topic, and what a person subscribed to it receives.

An SQS queue stands in for the on-call engineer's inbox: subscribed to the topic with raw
delivery off, it gets each notification as SNS delivers it to every protocol without a body
of its own (email's too): the subject, the "default" text body and the message attributes
that subscription filter policies match.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from pipeline import layout

TOPIC = "ecr-findings-notifications"
INBOX = "on-call-inbox"


@dataclass(frozen=True)
class Received:
    """One notification as the subscriber got it."""

    subject: str
    text: str
    attributes: dict[str, str]

    @property
    def order(self) -> tuple[int, str]:
        return layout.severity_rank(self.attributes.get("severity", "")), self.subject


@dataclass
class Inbox:
    sqs: Any
    topic_arn: str
    queue_url: str
    batches: list[tuple[str, list[Received]]] = field(default_factory=list)

    def collect(self, after: str) -> list[Received]:
        """Everything that arrived since the last call, kept under ``after`` (what caused it)."""
        got: list[Received] = []
        while True:
            page = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = page.get("Messages", [])
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {
                    name: str(value["Value"])
                    for name, value in envelope.get("MessageAttributes", {}).items()
                }
                got.append(Received(envelope.get("Subject", ""), envelope["Message"], attributes))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        got.sort(key=lambda r: r.order)  # SNS keeps no order; images notify concurrently
        self.batches.append((after, got))
        return got

    @property
    def received(self) -> int:
        return sum(len(got) for _, got in self.batches)


def create(sns: Any, sqs: Any) -> Inbox:
    """The topic, and the inbox queue subscribed to it (its policy lets the topic send)."""
    topic_arn = str(sns.create_topic(Name=TOPIC)["TopicArn"])
    queue_url = str(sqs.create_queue(QueueName=INBOX)["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return Inbox(sqs, topic_arn, queue_url)


def show(out: Console, inbox: Inbox, published: int, in_full: str) -> None:
    """Each notification: its subject, the first line of its text, its attributes; then the
    whole text of the last one about repository ``in_full``, as an email shows it."""
    out.print(
        f"{inbox.received} notifications received by {INBOX}, subscribed to the topic; the "
        f"handler's Notifications metric: {published} published."
    )
    full: Received | None = None
    for after, got in inbox.batches:
        out.print(f"{after}: {len(got)}", highlight=False)
        for message in got:
            attributes = "  ".join(f"{k}={v}" for k, v in sorted(message.attributes.items()))
            out.print(f"  [bold]{escape(message.subject)}[/bold]", highlight=False)
            for line in textwrap.wrap(_first_line(message), out.width - 4):
                out.print(f"    {line}", markup=False, highlight=False)
            out.print(f"    [dim]Attributes: {escape(attributes)}[/dim]", highlight=False)
            if message.attributes.get("repository") == in_full:
                full = message
    if full is not None:
        out.print(f"The {in_full} notification in full, as an email shows it (its text body):")
        body = full.text.splitlines()[2:]  # after the subject and a blank line
        title = Text(f"Subject: {full.subject}", style="bold")
        out.print(Panel(Text("\n".join(body)), title=title, title_align="left", expand=False))


def _first_line(message: Received) -> str:
    """The body's first line after the subject it starts with."""
    lines = [line for line in message.text.splitlines() if line.strip()]
    return next((line for line in lines if line != message.subject), "")
