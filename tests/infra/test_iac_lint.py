"""cfn-lint and checkov find nothing, and every checkov skip says why."""

from __future__ import annotations

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
