"""Deterministic, realistic image-scan findings, shaped as boto3 returns them from ECR.

Basic findings are Clair-style (``name``, ``uri``, ``attributes``); enhanced findings are
Inspector's. Timestamps are datetimes here; the local server sends them as epoch seconds.
The same arguments always give the same findings.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

BASIC_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
ENHANCED_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED")
# Roughly how often each severity shows up in a scan of a typical Debian-based image.
_WEIGHTS = {
    "CRITICAL": 2,
    "HIGH": 8,
    "MEDIUM": 20,
    "LOW": 30,
    "INFORMATIONAL": 10,
    "UNDEFINED": 5,
    "UNTRIAGED": 5,
}
# (package, version, fixed-in version or None) as found in Debian 12 base images.
_PACKAGES: tuple[tuple[str, str, str | None], ...] = (
    ("openssl", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1"),
    ("glibc", "2.36-9+deb12u3", "2.36-9+deb12u4"),
    ("zlib", "1:1.2.13.dfsg-1", None),
    ("curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5"),
    ("libxml2", "2.9.14+dfsg-1.3~deb12u1", None),
    ("expat", "2.5.0-1", "2.5.0-1+deb12u1"),
    ("systemd", "252.19-1~deb12u1", None),
    ("perl", "5.36.0-7+deb12u1", None),
    ("tar", "1.34+dfsg-1.2+deb12u1", None),
    ("shadow", "1:4.13+dfsg1-1", None),
    ("gnutls28", "3.7.9-2+deb12u1", "3.7.9-2+deb12u2"),
    ("krb5", "1.20.1-2+deb12u1", "1.20.1-2+deb12u2"),
    ("sqlite3", "3.40.1-2", None),
    ("util-linux", "2.38.1-5+b1", "2.38.1-5+deb12u1"),
    ("ncurses", "6.4-4", None),
    ("libgcrypt20", "1.10.1-3", None),
)
_WEAKNESSES = (
    "a heap-based buffer overflow",
    "an out-of-bounds read",
    "a use-after-free",
    "an integer overflow",
    "a NULL pointer dereference",
    "improper certificate validation",
    "uncontrolled resource consumption",
)
_IMPACTS = (
    "allows remote attackers to cause a denial of service",
    "may allow a local user to escalate privileges",
    "can lead to disclosure of sensitive memory",
    "allows a crafted input to execute arbitrary code",
)
_SCORE_RANGES = {
    "CRITICAL": (9.0, 10.0),
    "HIGH": (7.0, 8.9),
    "MEDIUM": (4.0, 6.9),
    "LOW": (0.1, 3.9),
    "INFORMATIONAL": (0.0, 0.0),
    "UNDEFINED": (0.0, 0.0),
}
# Debian's own urgency words, as Inspector copies them into vendorSeverity.
_VENDOR_SEVERITY = {"UNTRIAGED": "not yet assigned", "INFORMATIONAL": "unimportant"}
# A fixed "now" keeps generated findings identical from run to run.
REFERENCE_TIME = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DEFAULT_ACCOUNT = "123456789012"


def _rng(seed: int | str) -> random.Random:
    return random.Random(seed)


def _cve_ids(
    rng: random.Random, n: int, pool: Sequence[str] | None, include: Sequence[str]
) -> list[str]:
    """``n`` CVE ids: ``include`` first at random positions, the rest from ``pool`` or fresh."""
    if len(include) > n:
        raise ValueError(f"cannot include {len(include)} CVEs in {n} findings")
    ids: list[str] = []
    seen = set(include)
    while len(ids) < n - len(include):
        cve = (
            rng.choice(pool)
            if pool
            else f"CVE-{rng.randint(2016, 2025)}-{rng.randint(1000, 49999)}"
        )
        if pool or cve not in seen:  # a pool may repeat: one CVE can hit several packages
            seen.add(cve)
            ids.append(cve)
    for cve in include:
        ids.insert(rng.randint(0, len(ids)), cve)
    return ids


def _severity(rng: random.Random, allowed: Sequence[str]) -> str:
    return rng.choices(list(allowed), weights=[_WEIGHTS.get(s, 1) for s in allowed])[0]


def _description(rng: random.Random, cve: str, package: str, n_bytes: int | None) -> str:
    text = (
        f"{cve}: {rng.choice(_WEAKNESSES)} in {package} {rng.choice(_IMPACTS)} "
        f"via a crafted request."
    )
    return text if n_bytes is None else sized_text(text, n_bytes)


def sized_text(text: str, n_bytes: int) -> str:
    """``text`` cut or padded (with a repeated sentence, ASCII) to exactly ``n_bytes`` bytes."""
    if n_bytes < 0:
        raise ValueError("n_bytes must be >= 0")
    data = text.encode()
    filler = b" Additional advisory detail follows."
    if len(data) < n_bytes:
        data += filler * ((n_bytes - len(data)) // len(filler) + 1)
    cut = data[:n_bytes].decode("utf-8", "ignore")  # never split a multi-byte character
    return cut + " " * (n_bytes - len(cut.encode()))


def _cvss2(rng: random.Random, severity: str) -> tuple[str, str]:
    low, high = _SCORE_RANGES.get(severity, (0.0, 0.0))
    score = round(rng.uniform(low, high), 1)
    access = rng.choice(("N", "A", "L"))
    vector = (
        f"AV:{access}/AC:{rng.choice('LMH')}/Au:N/C:{rng.choice('NPC')}/I:P/A:{rng.choice('NPC')}"
    )
    return vector, f"{score}"


def basic_findings(
    n: int,
    *,
    seed: int | str,
    severities: Sequence[str] | None = None,
    cve_pool: Sequence[str] | None = None,
    include_cves: Sequence[str] = (),
    description_bytes: int | None = None,
) -> list[dict[str, Any]]:
    """``n`` basic-scan findings. ``include_cves`` are guaranteed to appear (as ``name``)."""
    rng = _rng(seed)
    allowed = tuple(severities or BASIC_SEVERITIES)
    findings = []
    for cve in _cve_ids(rng, n, cve_pool, include_cves):
        package, version, _fixed = rng.choice(_PACKAGES)
        severity = _severity(rng, allowed)
        vector, score = _cvss2(rng, severity)
        findings.append(
            {
                "name": cve,
                "description": _description(rng, cve, package, description_bytes),
                "uri": f"https://security-tracker.debian.org/tracker/{cve}",
                "severity": severity,
                "attributes": [
                    {"key": "package_version", "value": version},
                    {"key": "package_name", "value": package},
                    {"key": "CVSS2_VECTOR", "value": vector},
                    {"key": "CVSS2_SCORE", "value": score},
                ],
            }
        )
    return findings


def _cvss3(rng: random.Random, severity: str) -> tuple[float, str]:
    low, high = _SCORE_RANGES.get(severity, (5.0, 5.0))
    score = round(rng.uniform(low, high), 1)
    vector = (
        f"CVSS:3.1/AV:{rng.choice('NALP')}/AC:{rng.choice('LH')}/PR:{rng.choice('NLH')}"
        f"/UI:{rng.choice('NR')}/S:U/C:{rng.choice('NLH')}/I:{rng.choice('NLH')}"
        f"/A:{rng.choice('NLH')}"
    )
    return score, vector


def enhanced_findings(
    n: int,
    *,
    seed: int | str,
    repository: str,
    digest: str,
    account: str = DEFAULT_ACCOUNT,
    region: str = "us-east-1",
    tags: Sequence[str] = ("latest",),
    severities: Sequence[str] | None = None,
    cve_pool: Sequence[str] | None = None,
    include_cves: Sequence[str] = (),
    description_bytes: int | None = None,
    observed_at: datetime = REFERENCE_TIME,
) -> list[dict[str, Any]]:
    """``n`` Inspector (enhanced scanning) findings for one image."""
    rng = _rng(seed)
    allowed = tuple(severities or ENHANCED_SEVERITIES)
    pushed_at = observed_at - timedelta(days=rng.randint(1, 30))
    image = {
        "type": "AWS_ECR_CONTAINER_IMAGE",
        "id": f"arn:aws:ecr:{region}:{account}:repository/{repository}/{digest}",
        "details": {
            "awsEcrContainerImage": {
                "registry": account,
                "repositoryName": repository,
                "imageHash": digest,
                "imageTags": list(tags),
                "platform": "DEBIAN_12",
                "pushedAt": pushed_at,
                "architecture": "amd64",
                "author": "",
            }
        },
    }
    findings = []
    for cve in _cve_ids(rng, n, cve_pool, include_cves):
        package, version, fixed = rng.choice(_PACKAGES)
        severity = _severity(rng, allowed)
        first_seen = observed_at - timedelta(hours=rng.randint(1, 24 * 14))
        published = first_seen - timedelta(days=rng.randint(1, 400))
        finding: dict[str, Any] = {
            "findingArn": f"arn:aws:inspector2:{region}:{account}:finding/"
            f"{rng.getrandbits(128):032x}",
            "awsAccountId": account,
            "description": _description(rng, cve, package, description_bytes),
            "title": f"{cve} - {package}",
            "severity": severity,
            "status": "ACTIVE",
            "type": "PACKAGE_VULNERABILITY",
            "firstObservedAt": first_seen,
            "lastObservedAt": observed_at,
            "updatedAt": observed_at,
            "packageVulnerabilityDetails": {
                "vulnerabilityId": cve,
                "source": "DEBIAN_CVE",
                "sourceUrl": f"https://security-tracker.debian.org/tracker/{cve}",
                "vendorSeverity": severity.lower()
                if severity != "UNTRIAGED"
                else "not yet assigned",
                "vendorCreatedAt": published,
                "vendorUpdatedAt": published + timedelta(days=rng.randint(0, 60)),
                "cvss": [],
                "referenceUrls": [f"https://www.cve.org/CVERecord?id={cve}"],
                "relatedVulnerabilities": [],
                "vulnerablePackages": [
                    {
                        "name": package,
                        "version": version.split(":")[-1].split("-")[0],
                        "release": version.split("-", 1)[1] if "-" in version else "",
                        "epoch": int(version.split(":")[0]) if ":" in version else 0,
                        "arch": "X86_64",
                        "packageManager": "OS",
                        "fixedInVersion": fixed or "NotAvailable",
                        "sourceLayerHash": f"sha256:{rng.getrandbits(256):064x}",
                    }
                ],
            },
            "remediation": {
                "recommendation": {
                    "text": f"Upgrade {package} to {fixed}." if fixed else "None Provided",
                }
            },
            "resources": [image],
            "fixAvailable": "YES" if fixed else "NO",
            "exploitAvailable": rng.choice(("YES", "NO", "NO", "NO")),
        }
        if severity != "UNTRIAGED":
            score, vector = _cvss3(rng, severity)
            cvss = {"baseScore": score, "scoringVector": vector, "source": "NVD", "version": "3.1"}
            finding["packageVulnerabilityDetails"]["cvss"] = [cvss]
            finding["score"] = score
            finding["scoreDetails"] = {
                "cvss": {
                    "score": score,
                    "scoreSource": "NVD",
                    "scoringVector": vector,
                    "version": "3.1",
                    "adjustments": [],
                }
            }
        findings.append(finding)
    return findings


def findings_of_kind(
    kind: str,
    n: int,
    *,
    seed: int | str,
    repository: str,
    digest: str,
    tags: Sequence[str] = (),
    include_cves: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """``n`` findings as the image's scan kind reports them: basic, or enhanced (Inspector)."""
    if kind == "enhanced":
        return enhanced_findings(
            n,
            seed=seed,
            repository=repository,
            digest=digest,
            tags=tags,
            include_cves=include_cves,
        )
    return basic_findings(n, seed=seed, include_cves=include_cves)


def with_description_bytes(finding: Mapping[str, Any], n_bytes: int) -> dict[str, Any]:
    """A copy of ``finding`` whose description is exactly ``n_bytes`` UTF-8 bytes long.

    ``with_description_bytes(basic_findings(1, seed=0)[0], 3 * 1024 * 1024)`` is a finding too
    large for one log event.
    """
    return {**finding, "description": sized_text(str(finding.get("description", "")), n_bytes)}
