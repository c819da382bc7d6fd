"""cfn-lint and checkov find nothing, and every checkov skip says why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from iac_checks import (
    MIN_REASON_CHARS,
    cfn_lint,
    checkov_report,
    declared_skips,
    failed_checks,
    unjustified_skips,
)
from iac_model import MODULE, TEMPLATE, template


def test_cfn_lint_finds_nothing() -> None:
    result = cfn_lint(TEMPLATE)
    assert (result.returncode, result.stdout.strip()) == (0, ""), result.stdout + result.stderr


def test_template_suppresses_no_cfn_lint_rule() -> None:
    for logical_id, resource in template()["Resources"].items():
        assert "cfn-lint" not in resource.get("Metadata", {}), logical_id
    assert "cfn-lint" not in template().get("Metadata", {})


def test_every_checkov_skip_is_justified() -> None:
    skips = declared_skips(template(), MODULE.rglob("*.tf"))
    assert skips, "expected the documented skips"
    for where, reason in skips:
        assert len(reason.strip()) >= MIN_REASON_CHARS, f"{where}: no justification"


@pytest.mark.parametrize(
    ("framework", "folder"),
    [("cloudformation", TEMPLATE.parent), ("terraform", MODULE)],
)
def test_checkov_fails_nothing(framework: str, folder: Path) -> None:
    report = checkov_report(framework, folder)
    summary, results = report["summary"], report["results"]
    assert failed_checks(results) == []
    assert summary["parsing_errors"] == 0
    # It did look: the resources were parsed and checked.
    assert summary["passed"] >= 10
    assert unjustified_skips(results) == []


# Parameter defaults that turn every optional resource on: checkov reads a template with its
# defaults and leaves out what a false condition removes.
EVERYTHING_ON = {
    "CreateKmsKey": '"true"',
    "CreateAlarmTopic": '"true"',
    "WatchedVulnerabilities": "CVE-2021-44228",
    "CreateNotifyTopic": '"true"',
    "CreateArchiveBucket": '"true"',
    "ArchiveObjectLockMode": "GOVERNANCE",
    "ArchiveQueryResultsLocation": "s3://athena-results/ecr-findings/",
    "OrganizationId": "o-abcdefghij",
    "EcrReadRoleArn": '"arn:aws:iam::{account}:role/ecr-findings-reader"',
}


def test_checkov_fails_nothing_with_every_feature_on(tmp_path: Path) -> None:
    """The template with every optional resource created (the module's example already turns
    them on, so the Terraform run above covers them)."""
    text = TEMPLATE.read_text()
    for name, value in EVERYTHING_ON.items():
        pattern = re.compile(rf"(\n  {name}:\n    Type: \w+\n    Default: )[^\n]*")
        assert pattern.search(text), name
        text = pattern.sub(lambda m, value=value: m.group(1) + value, text, count=1)
    folder = tmp_path / "everything-on"
    folder.mkdir()
    (folder / "template.yaml").write_text(text)
    report = checkov_report("cloudformation", folder, tmp_path)
    results = report["results"]
    assert failed_checks(results) == []
    checked = {c["resource"].split(".")[-1] for c in results["passed_checks"]}
    assert {
        "ArchiveBucket",
        "NotifyTopic",
        "AlarmTopic",
        "ArchiveWorkGroup",
        "FindingsKey",
    } <= checked
    assert unjustified_skips(results) == []
