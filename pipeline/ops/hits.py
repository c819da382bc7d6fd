"""Which logged findings name a vulnerability, and what to show for each (pure).

A log event is one finding as the API returned it plus ``imageContext``. Basic findings name
the vulnerability in ``name`` and the package in ``attributes``; enhanced (Inspector) findings
in ``packageVulnerabilityDetails``. Events the AWS sample wrote (an upgrade keeps its log
groups) have no ``imageContext``: their tag, digest and scan time are in the stream name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from pipeline import layout
from pipeline.vulnerabilities import normalize_id as normalize_id  # ids' rules: in the core


@dataclass(frozen=True, order=True)
class Hit:
    severity_rank: int
    repository: str
    tag: str
    digest: str
    severity: str
    package: str
    scan_time: str
    log_group: str
    scan_kind: str
    # The image's registry: one central pipeline can log several accounts' repositories of
    # the same name into one group.
    account: str = ""
    region: str = ""

    @property
    def image(self) -> tuple[str, str, str, str]:
        return (self.account, self.region, self.repository, self.digest)

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account or None,
            "region": self.region or None,
            "repository": self.repository,
            "tag": self.tag,
            "image_digest": self.digest,
            "severity": self.severity,
            "package": self.package,
            "scan_time": self.scan_time,
            "scan_kind": self.scan_kind,
            "log_group": self.log_group,
        }


def names(finding: Mapping[str, Any], vulnerability_id: str) -> bool:
    """True when this finding is about ``vulnerability_id``."""
    if finding.get("name") == vulnerability_id:
        return True
    details = finding.get("packageVulnerabilityDetails")
    return isinstance(details, Mapping) and details.get("vulnerabilityId") == vulnerability_id


def hits_in(
    message: str,
    vulnerability_id: str,
    log_group: str,
    repository: str = "",
    stream: str = "",
) -> list[Hit]:
    """The hits one log message holds: one per vulnerable package, none if it does not match
    (a server-side filter may be loose, or the message may be the image's SUMMARY).
    ``stream`` names the event's stream: it tells the image of an event without context."""
    try:
        finding = orjson.loads(message)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(finding, dict) or not names(finding, vulnerability_id):
        return []
    context = finding.get("imageContext")
    if isinstance(context, Mapping):
        tags = context.get("imageTags") or []
        tag = str(tags[0]) if tags else layout.UNTAGGED
        digest, scan_time = (
            str(context.get("imageDigest") or ""),
            str(context.get("scanTime") or ""),
        )
    else:  # the AWS sample's event: the image is in the stream name
        context = {}
        parsed = layout.parse_stream_name(stream)
        tag = parsed.tag if parsed else layout.UNTAGGED
        digest, scan_time = (parsed.digest, parsed.event_time) if parsed else ("", "")
    severity = layout.normalize_severity(finding.get("severity"))
    return [
        Hit(
            severity_rank=layout.severity_rank(severity),
            repository=str(context.get("repository") or repository),
            tag=tag,
            digest=digest,
            severity=severity,
            package=package,
            scan_time=scan_time,
            log_group=log_group,
            scan_kind=str(context.get("scanKind") or ""),
            account=str(context.get("account") or ""),
            region=str(context.get("region") or ""),
        )
        for package in packages(finding)
    ]


def packages(finding: Mapping[str, Any]) -> list[str]:
    """``name version`` of each affected package, or ``-`` when the finding names none."""
    details = finding.get("packageVulnerabilityDetails")
    if isinstance(details, Mapping):
        found = [
            _package(p.get("name"), p.get("version"))
            for p in details.get("vulnerablePackages") or []
            if isinstance(p, Mapping)
        ]
        if found:
            return found
    attributes = {
        a.get("key"): a.get("value")
        for a in finding.get("attributes") or []
        if isinstance(a, Mapping)
    }
    if attributes.get("package_name"):
        return [_package(attributes.get("package_name"), attributes.get("package_version"))]
    return ["-"]


def attribute_registries(hits: Iterable[Hit]) -> list[Hit]:
    """Give hits without a registry (the AWS sample's events) the account and region of the
    other hits of the same image in the same log group, when exactly one registry logged it
    there: after an upgrade, the sample's scans and ours of one image are one image."""
    hits = list(hits)
    registries: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for hit in hits:
        if hit.account:
            registries.setdefault((hit.log_group, hit.digest), set()).add((hit.account, hit.region))
    attributed = []
    for hit in hits:
        known = registries.get((hit.log_group, hit.digest), set())
        if not hit.account and len(known) == 1:
            [(account, region)] = known
            hit = replace(hit, account=account, region=region)
        attributed.append(hit)
    return attributed


def latest_scans(hits: Iterable[Hit]) -> list[Hit]:
    """Keep, for each image, only the hits of its most recent scan; sorted for display."""
    hits = list(hits)
    latest: dict[tuple[str, str, str, str], str] = {}
    for hit in hits:
        latest[hit.image] = max(latest.get(hit.image, ""), hit.scan_time)
    kept = {h for h in hits if h.scan_time == latest[h.image]}
    return sorted(kept)


def _package(name: Any, version: Any) -> str:
    return f"{name} {version}" if version else str(name)
