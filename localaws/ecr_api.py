"""DescribeImageScanFindings answered from seeded scans, with ECR's real pagination; and, when
asked, DescribeImages completed with each seeded scan's status and summary, as ECR reports them
(moto reports none).

The repository and the image are looked up in moto's ECR backend (same process), so the
not-found errors are the ones a client would get from the real service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from localaws.protocol import Call, Reply, error_reply, json_reply
from localaws.scans import ScanBook
from pipeline import limits

DEFAULT_MAX_RESULTS = 100


def _invalid(message: str) -> Reply:
    return error_reply("json", "InvalidParameterException", message)


def _image_id_text(image_id: dict[str, Any]) -> str:
    digest = image_id.get("imageDigest") or "null"
    tag = image_id.get("imageTag") or "null"
    return f"{{imageDigest:'{digest}', imageTag:'{tag}'}}"


def describe_image_scan_findings(call: Call, scans: ScanBook) -> Reply:
    from moto.core.exceptions import ServiceException
    from moto.ecr.models import ecr_backends

    params = call.params()
    repository = params.get("repositoryName")
    image_id = params.get("imageId")
    if not isinstance(repository, str) or not isinstance(image_id, dict):
        return _invalid("repositoryName and imageId are required")
    max_results = params.get("maxResults", DEFAULT_MAX_RESULTS)
    if (
        not isinstance(max_results, int)
        or isinstance(max_results, bool)
        or not 1 <= max_results <= limits.ECR_FINDINGS_MAX_RESULTS
    ):
        return _invalid(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must "
            f"have value between 1 and {limits.ECR_FINDINGS_MAX_RESULTS}'"
        )
    # Reading another account's registry is allowed here: cross-account access is granted by
    # policies this harness does not model.
    registry = str(params.get("registryId") or call.account)
    backend = ecr_backends[registry][call.region]
    try:
        images = list(backend.describe_images(repository, registry, [image_id]))
    except ServiceException as exc:
        return error_reply("json", exc.code, exc.message)
    image = images[0]
    digest: str = image.get_image_digest()

    scan = scans.find(registry, call.region, repository, digest)
    if scan is None:
        return error_reply(
            "json",
            "ScanNotFoundException",
            f"Image scan does not exist for the image with '{_image_id_text(image_id)}' in the "
            f"repository with name '{repository}' in the registry with id '{registry}'",
        )

    answer_id = {"imageDigest": digest}
    if image_id.get("imageTag"):
        answer_id["imageTag"] = image_id["imageTag"]
    response: dict[str, Any] = {
        "registryId": str(image.registry_id),
        "repositoryName": repository,
        "imageId": answer_id,
        "imageScanStatus": {"status": scan.status, "description": scan.description},
    }
    if scan.status not in limits.READABLE_SCAN_STATUSES:
        return json_reply(response)

    offset = 0
    token = params.get("nextToken")
    if token is not None:
        try:
            offset = scans.offset(scan, str(token))
        except ValueError as exc:
            return _invalid(f"Invalid parameter at 'nextToken': {exc}")
    page = limits.ECR_ENHANCED_FINDINGS_PAGE if scan.kind == "enhanced" else max_results
    end = offset + page
    member = "enhancedFindings" if scan.kind == "enhanced" else "findings"
    response["imageScanFindings"] = {
        "imageScanCompletedAt": scan.completed_at,
        "vulnerabilitySourceUpdatedAt": scan.source_updated_at,
        "findingSeverityCounts": scan.severity_counts,
        member: list(scan.findings[offset:end]),
    }
    if end < len(scan.findings):
        response["nextToken"] = scans.token(scan, end)
    return json_reply(response)


def describe_images(
    call: Call, scans: ScanBook, with_scans: bool, forward: Callable[[bytes], Reply]
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
        if scan is None:
            continue
        detail["imageScanStatus"] = {"status": scan.status, "description": scan.description}
        if scan.status in limits.READABLE_SCAN_STATUSES:
            detail["imageScanFindingsSummary"] = {
                "imageScanCompletedAt": scan.completed_at,
                "vulnerabilitySourceUpdatedAt": scan.source_updated_at,
                "findingSeverityCounts": scan.severity_counts,
            }
    return json_reply(answer)
