"""What the demo shows after the run: log groups and streams, a CVE search, the DLQ."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from rich.console import Console

from pipeline import layout
from pipeline.cli import output
from pipeline.cli.image import print_image
from pipeline.cli.search import print_hidden, print_hits
from pipeline.config import DEFAULT_LOG_GROUP_PREFIX
from pipeline.ops import dlq as dlq_ops
from pipeline.ops.current import ACTIVE
from pipeline.ops.image import ImageReader, parse_ref
from pipeline.ops.search import Searcher


def queue_name(queue_url: str) -> str:
    return queue_url.rsplit("/", 1)[-1]


def logs_landed(logs: Any, out: Console, example: str) -> None:
    """Events per severity stream of every image; the streams of the ``example`` repository."""
    groups = [
        g["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=DEFAULT_LOG_GROUP_PREFIX
        )
        for g in page["logGroups"]
    ]
    columns = {
        "CRITICAL": "CRIT",
        "HIGH": "HIGH",
        "MEDIUM": "MED",
        "LOW": "LOW",
        "INFORMATIONAL": "INFO",
        "UNDEFINED": "UNDEF",
        "UNTRIAGED": "UNTRI",
    }
    severities = tuple(columns)
    out.print(f"Log groups {DEFAULT_LOG_GROUP_PREFIX}<repository>, events per severity stream:")
    grid = output.table("Repository", "Image", *columns.values(), "Streams")
    example_names: list[str] = []
    for group in groups:
        per_image: dict[str, Counter[str]] = defaultdict(Counter)
        for event in _events(logs, group):
            severity, _, image = event["logStreamName"].partition("-")
            per_image[image][severity] += 1
        names = _stream_names(logs, group)
        for image, counts in sorted(per_image.items()):
            tag, digest = _image_label(image)
            grid.add_row(
                group.removeprefix(DEFAULT_LOG_GROUP_PREFIX),
                f"{tag} {digest}",
                *(str(counts.get(s, "")) for s in severities),
                str(sum(1 for n in names if n.partition("-")[2] == image)),
            )
        if group == DEFAULT_LOG_GROUP_PREFIX + example:
            example_names = names
    out.print(grid)
    out.print("Streams of one image (SUMMARY is written last: its presence means fully logged):")
    for name in example_names:
        out.print(f"  {name}")


def _events(logs: Any, group: str) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {"logGroupName": group}
    while True:
        page = logs.filter_log_events(**request)
        yield from page["events"]
        if not page.get("nextToken"):
            return
        request["nextToken"] = page["nextToken"]


def _stream_names(logs: Any, group: str) -> list[str]:
    names = [
        s["logStreamName"]
        for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
        for s in page["logStreams"]
    ]
    order = {name: layout.severity_rank(name.partition("-")[0]) for name in names}
    return sorted(names, key=lambda n: (n.partition("-")[2], n.startswith("SUMMARY"), order[n]))


def _image_label(stream_suffix: str) -> tuple[str, str]:
    """``<TAG>-<DIGESTHEX>-<TIME>`` → (tag, short digest)."""
    parsed = layout.parse_stream_name(f"{layout.SUMMARY}-{stream_suffix}")
    if parsed is None:
        return stream_suffix, ""
    return parsed.tag, layout.digest_hex(parsed.digest)[:12]


def cve_search(
    logs: Any, out: Console, cve: str, statuses: tuple[str, ...] | None = (ACTIVE,)
) -> None:
    searcher = Searcher(logs, DEFAULT_LOG_GROUP_PREFIX, rate=20, concurrency=4)
    result = searcher.search(cve, statuses=statuses)
    if result.hits:
        print_hits(out, cve, result)
    else:
        out.print(f"No image has {cve} now.")
        print_hidden(out, result)


def image_view(logs: Any, out: Console, ref: str) -> None:
    reader = ImageReader(logs, DEFAULT_LOG_GROUP_PREFIX, rate=20)
    print_image(out, reader.read(parse_ref(ref), (ACTIVE,)))


def _short(text: str, width: int = 46) -> str:
    """One line a message: drop the API name the error starts with, cut the rest."""
    text = re.sub(r"^[A-Z][A-Za-z]+: ", "", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def dead_letters(sqs: Any, dlq_url: str, out: Console) -> None:
    status = dlq_ops.status(sqs, dlq_url)
    now = dlq_ops.now_utc()
    out.print(f"{status.visible} messages in {queue_name(dlq_url)}")
    grid = output.table("Reason", "Messages", "Retryable")
    for reason, count in status.by_reason.most_common():
        grid.add_row(reason, str(count), str(status.retryable_by_reason.get(reason, 0)))
    out.print(grid)
    peeked = output.table("Failed", "Reason", "Repository", "Tag", "Receives", "Message")
    for message in dlq_ops.peek(sqs, dlq_url, 10):
        peeked.add_row(
            output.age(message.failed_at, now),
            message.reason,
            output.dash(message.repository),
            output.dash(message.image_tag),
            output.dash(message.receive_count),
            _short(message.letter.message if message.letter else message.body),
        )
    out.print(peeked)
    out.print("Send them back after a fix with: ecr-findings dlq redrive --reason <reason>")
    out.print(
        "(on AWS, --native has SQS move them all to the source queue; moto has no move tasks)"
    )
