"""Generated findings: deterministic, shaped as ECR's model says, with the knobs tests need."""

from __future__ import annotations

from collections import Counter

import pytest

from localaws import findings
from localaws.shapes import shape, to_wire

DIGEST = "sha256:" + "ab" * 32


def test_same_seed_same_findings_other_seed_other_findings() -> None:
    assert findings.basic_findings(50, seed=7) == findings.basic_findings(50, seed=7)
    assert findings.basic_findings(50, seed=7) != findings.basic_findings(50, seed=8)
    one = findings.enhanced_findings(20, seed="x", repository="r", digest=DIGEST)
    assert one == findings.enhanced_findings(20, seed="x", repository="r", digest=DIGEST)


def test_basic_findings_have_the_ecr_shape() -> None:
    batch = findings.basic_findings(200, seed=1)
    model = shape("ecr", "ImageScanFinding")
    for finding in batch:
        to_wire(finding, model)  # raises on any member the model does not know
        assert finding["uri"].endswith(finding["name"])
        keys = [a["key"] for a in finding["attributes"]]
        assert keys == ["package_version", "package_name", "CVSS2_VECTOR", "CVSS2_SCORE"]
    assert len({f["name"] for f in batch}) == 200
    assert set(Counter(f["severity"] for f in batch)) <= set(findings.BASIC_SEVERITIES)


def test_enhanced_findings_have_the_ecr_shape() -> None:
    batch = findings.enhanced_findings(
        100, seed=2, repository="team/app", digest=DIGEST, account="210987654321", tags=["v1"]
    )
    model = shape("ecr", "EnhancedImageScanFinding")
    for finding in batch:
        to_wire(finding, model)
        assert finding["status"] == "ACTIVE" and finding["type"] == "PACKAGE_VULNERABILITY"
        assert finding["awsAccountId"] == "210987654321"
        assert finding["findingArn"].startswith("arn:aws:inspector2:us-east-1:210987654321:")
        image = finding["resources"][0]["details"]["awsEcrContainerImage"]
        assert (image["repositoryName"], image["imageHash"], image["imageTags"]) == (
            "team/app",
            DIGEST,
            ["v1"],
        )
        details = finding["packageVulnerabilityDetails"]
        assert details["vulnerabilityId"] in finding["title"]
        if finding["severity"] == "UNTRIAGED":
            assert "score" not in finding
        else:
            assert finding["score"] == details["cvss"][0]["baseScore"]
    assert {f["severity"] for f in batch} <= set(findings.ENHANCED_SEVERITIES)


def test_severities_can_be_restricted() -> None:
    batch = findings.basic_findings(40, seed=3, severities=["CRITICAL", "LOW"])
    assert {f["severity"] for f in batch} == {"CRITICAL", "LOW"}


@pytest.mark.parametrize("kind", ["basic", "enhanced"])
def test_forced_cves_appear_exactly_once(kind: str) -> None:
    forced = ["CVE-2024-3094", "CVE-2021-44228"]
    if kind == "basic":
        batch = findings.basic_findings(30, seed=4, include_cves=forced)
        names = [f["name"] for f in batch]
    else:
        batch = findings.enhanced_findings(
            30, seed=4, repository="r", digest=DIGEST, include_cves=forced
        )
        names = [f["packageVulnerabilityDetails"]["vulnerabilityId"] for f in batch]
    assert len(names) == 30
    assert all(names.count(cve) == 1 for cve in forced)


def test_cve_pool_limits_the_ids() -> None:
    pool = ["CVE-2023-0001", "CVE-2023-0002"]
    batch = findings.basic_findings(10, seed=5, cve_pool=pool)
    assert {f["name"] for f in batch} <= set(pool)


def test_too_many_forced_cves_is_an_error() -> None:
    with pytest.raises(ValueError):
        findings.basic_findings(1, seed=6, include_cves=["CVE-1", "CVE-2"])


def test_descriptions_of_an_exact_size() -> None:
    batch = findings.basic_findings(3, seed=7, description_bytes=5000)
    assert [len(f["description"].encode()) for f in batch] == [5000] * 3

    huge = findings.with_description_bytes(batch[0], 3 * 1024 * 1024)
    assert len(huge["description"].encode()) == 3 * 1024 * 1024
    assert huge["name"] == batch[0]["name"]
    assert len(batch[0]["description"].encode()) == 5000  # the original is untouched


def test_sized_text_never_splits_a_character() -> None:
    text = findings.sized_text("€€€", 4)  # 3 bytes each: one fits, then padding
    assert text == "€ " and len(text.encode()) == 4
