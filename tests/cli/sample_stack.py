"""Log groups as the AWS sample writes them, for upgrade tests.

The sample ("Logging image scan findings from Amazon ECR in CloudWatch using an AWS Lambda
function", aws-samples/ecr-image-scan-findings-logger) is one synchronous boto3 Lambda invoked
by EventBridge with the "ECR Image Scan" event. Per event it:

- calls DescribeImageScanFindings once (``maxResults=1000``, no further pages);
- creates the group ``/aws/ecr/image-scan-findings/<repository>`` (already exists: fine);
- names every stream ``<KIND>-<image-tags[0]>-<digest without sha256:>-<time with ':' → '-'>``
  (an untagged image fails here: it indexes the first tag);
- creates the SUMMARY stream and writes **first** one event, ``json.dumps`` of the response's
  ``findingSeverityCounts``;
- creates one stream per key of that map, then puts each basic finding (``findings``) as its
  own event, ``json.dumps`` of the finding as boto3 returned it, one PutLogEvents call each;
- stamps every event with the invocation's time (not the event's).

``write_like_the_sample`` does the same against the local AWS, so that our tools can be tried
on the history an upgrading user has.
"""

from __future__ import annotations

import json
import time
from typing import Any

SAMPLE_GROUP_PREFIX = "/aws/ecr/image-scan-findings/"


def write_like_the_sample(ecr: Any, logs: Any, event: dict[str, Any]) -> list[str]:
    """Log one scan event the way the sample's Lambda does; return the stream names."""
    detail = event["detail"]
    repository = detail["repository-name"]
    tag = detail["image-tags"][0]
    suffix = f"{tag}-{detail['image-digest'].replace('sha256:', '')}-{event['time']}"
    suffix = suffix.replace(":", "-")
    stamp = int(round(time.time() * 1000))

    response = ecr.describe_image_scan_findings(
        registryId=event["account"],
        repositoryName=repository,
        imageId={"imageDigest": detail["image-digest"], "imageTag": tag},
        maxResults=1000,
    )
    scan = response["imageScanFindings"]
    group = SAMPLE_GROUP_PREFIX + repository
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass

    summary = f"SUMMARY-{suffix}"
    logs.create_log_stream(logGroupName=group, logStreamName=summary)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=summary,
        logEvents=[{"timestamp": stamp, "message": json.dumps(scan["findingSeverityCounts"])}],
    )
    streams = {severity: f"{severity}-{suffix}" for severity in scan["findingSeverityCounts"]}
    for name in streams.values():
        logs.create_log_stream(logGroupName=group, logStreamName=name)
    for finding in scan.get("findings", []):
        logs.put_log_events(
            logGroupName=group,
            logStreamName=streams[finding["severity"]],
            logEvents=[{"timestamp": stamp, "message": json.dumps(finding)}],
        )
    return [summary, *streams.values()]
