"""DescribeImageScanFindings answered from seeded scans by the rule book; and, when asked,
DescribeImages completed with each seeded scan's status and summary, as ECR reports them
(moto reports none).

The repository and the image are looked up in moto's ECR backend (same process), so an image
exists here exactly when moto has it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from localaws.motoserver.protocol import Call, Reply, error_reply, json_reply
from localaws.rules import ecr
from localaws.rules.errors import ApiError


def _image(call: Call, request: ecr.FindingsRequest) -> tuple[str, str]:
    """(registry id, digest) of the image asked for, from moto's ECR backend."""
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[request.registry][call.region]
    repository = backend.repositories.get(request.repository)
    if repository is None or repository.registry_id != request.registry:
        raise ecr.repository_not_found(request.repository, request.registry)
    images = ((str(i.get_image_digest()), i.image_tags) for i in repository.images)
    digest = ecr.find_image(images, request.image_id)
    if digest is None:
        raise ecr.image_not_found(request.image_id, request.repository, request.registry)
    return str(repository.registry_id), digest


def describe_image_scan_findings(call: Call, scans: ecr.ScanBook) -> Reply:
    try:
        request = ecr.findings_request(call.params(), call.account)
        registry_id, digest = _image(call, request)
        scan = scans.find(request.registry, call.region, request.repository, digest)
        answer = ecr.findings_page(
            request, registry_id=registry_id, digest=digest, scan=scan, scans=scans
        )
    except ApiError as exc:
        return error_reply("json", exc.code, exc.message, exc.status)
    return json_reply(answer)


def describe_images(
    call: Call, scans: ecr.ScanBook, with_scans: bool, forward: Callable[[bytes], Reply]
) -> Reply:
    """moto's answer, plus ``imageScanStatus`` and ``imageScanFindingsSummary`` of seeded scans."""
    reply = forward(call.body)
    if not with_scans or reply.status != 200:
        return reply
    answer: dict[str, Any] = orjson.loads(reply.body)
    for detail in answer.get("imageDetails", []):
        scan = scans.find(
            str(detail.get("registryId") or call.account),
            call.region,
            str(detail.get("repositoryName")),
            str(detail.get("imageDigest")),
        )
        if scan is not None:
            detail.update(ecr.scan_summary(scan))
    return json_reply(answer)
