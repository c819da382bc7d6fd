"""The AWS sample's algorithm, as the yardstick: synchronous boto3, one call per finding.

Per scan event, in order: one DescribeImageScanFindings call (the first page only, up to 1,000
findings), create the log group, then for every finding make sure its severity stream exists
and put that one finding with its own PutLogEvents call; last, the SUMMARY stream and its
event. Nothing runs concurrently. It writes the same layout as the consumer, so both are timed
on the same work (except that enhanced images beyond the first page are not read at all).

This module is the sample's logic wrapped in an SQS-event handler; it is deliberately not
built on the consumer's code.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import boto3

LOG_GROUP_PREFIX = "/aws/ecr/image-scan-findings/"
FIRST_PAGE = 1000  # the sample asks for one page of maxResults=1000 and never follows nextToken
ENHANCED_PAGE = 100  # what ECR returns a page for enhanced findings, whatever maxResults says


def handler(event: Mapping[str, Any], context: object = None) -> dict[str, list[Any]]:
    """Log every record of an SQS event, one after the other."""
    ecr = boto3.client("ecr")
    logs = boto3.client("logs")
    for record in event.get("Records") or ():
        log_scan(json.loads(record["body"]), ecr, logs)
    return {"batchItemFailures": []}


def log_scan(event: Mapping[str, Any], ecr: Any, logs: Any) -> None:
    detail = event["detail"]
    repository = str(detail["repository-name"]).split(":repository/", 1)[-1]
    digest = str(detail["image-digest"])
    tags = list(detail.get("image-tags") or [])
    params: dict[str, Any] = {
        "repositoryName": repository,
        "imageId": {"imageDigest": digest},
        "maxResults": FIRST_PAGE,
    }
    if event.get("account"):
        params["registryId"] = event["account"]
    response = ecr.describe_image_scan_findings(**params)
    scan = response.get("imageScanFindings") or {}
    findings = scan.get("findings") or scan.get("enhancedFindings") or []

    group = LOG_GROUP_PREFIX + repository
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    suffix = "-".join(
        [tags[0] if tags else "untagged", digest.split(":", 1)[-1], event["time"].replace(":", "-")]
    )
    context = {
        "account": event.get("account"),
        "region": event.get("region"),
        "repository": repository,
        "imageDigest": digest,
        "imageTags": tags,
        "scanTime": event["time"],
        "scanKind": "enhanced" if "enhancedFindings" in scan else "basic",
    }
    created: set[str] = set()
    for finding in findings:
        stream = f"{_severity(finding)}-{suffix}"
        if stream not in created:
            _create_stream(logs, group, stream)
            created.add(stream)
        _put_one(logs, group, stream, {**finding, "imageContext": context})
    summary = f"SUMMARY-{suffix}"
    _create_stream(logs, group, summary)
    counts = scan.get("findingSeverityCounts") or {}
    _put_one(logs, group, summary, {"findingSeverityCounts": counts, "imageContext": context})


def _severity(finding: Mapping[str, Any]) -> str:
    value = finding.get("severity")
    return value.upper() if isinstance(value, str) and value else "UNDEFINED"


def _create_stream(logs: Any, group: str, stream: str) -> None:
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass


def _put_one(logs: Any, group: str, stream: str, document: Mapping[str, Any]) -> None:
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": int(time.time() * 1000), "message": json.dumps(document, default=str)}
        ],
    )


def planned_calls(images: Iterable[tuple[bool, Iterable[Mapping[str, Any]]]]) -> int:
    """How many AWS calls the baseline makes for ``(enhanced, findings)`` per image.

    Used to extrapolate a sampled baseline run to the whole data set.
    """
    total = 0
    for enhanced, findings in images:
        first_page = list(findings)[: ENHANCED_PAGE if enhanced else FIRST_PAGE]
        streams = Counter(_severity(f) for f in first_page)
        # describe + create group + one create per stream + one put per finding + summary x2
        total += 2 + len(streams) + len(first_page) + 2
    return total
