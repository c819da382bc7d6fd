"""The async SDK (aioboto3) works against the local AWS through ``AWS_ENDPOINT_URL`` alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aioboto3

from localaws import LocalAws
from localaws.findings import basic_findings
from localaws.registry import create_repository, push_image


async def test_aioboto3_pages_findings_and_puts_log_events(
    aws: LocalAws, aws_client: Callable[..., Any]
) -> None:
    ecr_sync = aws_client("ecr")
    create_repository(ecr_sync, "team/app")
    digest = push_image(ecr_sync, "team/app", "v1")
    aws.seed_scan("team/app", digest, basic_findings(120, seed=1))
    session = aioboto3.Session()

    # No endpoint_url here: the client finds the server through the environment.
    async with session.client("ecr") as ecr, session.client("logs") as logs:
        paginator = ecr.get_paginator("describe_image_scan_findings")
        names = []
        async for page in paginator.paginate(
            repositoryName="team/app",
            imageId={"imageDigest": digest},
            PaginationConfig={"PageSize": 50},
        ):
            names += [f["name"] for f in page["imageScanFindings"]["findings"]]

        await logs.create_log_group(logGroupName="/g")
        await asyncio.gather(
            *(logs.create_log_stream(logGroupName="/g", logStreamName=f"s{i}") for i in range(5))
        )
        now = int(time.time() * 1000)
        await asyncio.gather(
            *(
                logs.put_log_events(
                    logGroupName="/g",
                    logStreamName=f"s{i}",
                    logEvents=[{"timestamp": now, "message": f"event {i}"}],
                )
                for i in range(5)
            )
        )

    assert names == [f["name"] for f in basic_findings(120, seed=1)]
    assert aws.calls["DescribeImageScanFindings"] == 3
    assert sorted(r.stream for r in aws.put_log_events_requests) == [f"s{i}" for i in range(5)]
    assert aws.violations == []
