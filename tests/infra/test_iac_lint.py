"""cfn-lint and checkov find nothing, and every checkov skip says why."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from iac_model import MODULE, ROOT, TEMPLATE, template

# A justification is a sentence, not a placeholder.
MIN_REASON_CHARS = 30


def checkov() -> str:
    """checkov lives in its own virtualenv (it pins an older botocore); make test passes it."""
    path = os.environ.get("CHECKOV") or str(ROOT / ".venv-checkov" / "bin" / "checkov")
    if not Path(path).is_file():
        pytest.skip(f"checkov not installed at {path} (make .venv-checkov/.installed)")
    return path


def test_cfn_lint_finds_nothing() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, ""), result.stdout + result.stderr


def test_template_suppresses_no_cfn_lint_rule() -> None:
    for logical_id, resource in template()["Resources"].items():
        assert "cfn-lint" not in resource.get("Metadata", {}), logical_id
    assert "cfn-lint" not in template().get("Metadata", {})


def test_every_checkov_skip_is_justified() -> None:
    skips: list[tuple[str, str]] = []
    for logical_id, resource in template()["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            skips.append((f"{logical_id}:{skip['id']}", skip.get("comment", "")))
    for path in MODULE.rglob("*.tf"):
        for check, reason in re.findall(r"#checkov:skip=(\w+):?(.*)", path.read_text()):
            skips.append((f"{path.name}:{check}", reason))
    assert skips, "expected the documented skips"
    for where, reason in skips:
        assert len(reason.strip()) >= MIN_REASON_CHARS, f"{where}: no justification"


def _reports(output: str) -> list[dict[str, Any]]:
    parsed = json.loads(output)
    return parsed if isinstance(parsed, list) else [parsed]


@pytest.mark.parametrize(
    ("framework", "folder"),
    [("cloudformation", TEMPLATE.parent), ("terraform", MODULE)],
)
def test_checkov_fails_nothing(framework: str, folder: Path) -> None:
    # A relative folder: checkov's secret scan reads the file path it records inside the
    # Lambda environment, and some absolute paths look like secrets to it.
    result = subprocess.run(
        [checkov(), "--directory", str(folder.relative_to(ROOT)), "--framework", framework]
        + ["--output", "json", "--skip-download", "--compact"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        # --skip-download keeps it offline; no API key is ever read.
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    (report,) = _reports(result.stdout)
    summary, results = report["summary"], report["results"]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == []
    assert summary["parsing_errors"] == 0
    # It did look: the resources were parsed and checked.
    assert summary["passed"] >= 10
    for skipped in results["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason) >= MIN_REASON_CHARS, skipped["check_id"]
