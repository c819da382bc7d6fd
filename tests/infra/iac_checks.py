"""Running the IaC linters (cfn-lint, checkov) the same way for every template and module."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from iac_model import ROOT

# A justification is a sentence, not a placeholder.
MIN_REASON_CHARS = 30


def checkov() -> str:
    """checkov lives in its own virtualenv (it pins an older botocore); make test passes it."""
    path = os.environ.get("CHECKOV") or str(ROOT / ".venv-checkov" / "bin" / "checkov")
    if not Path(path).is_file():
        pytest.skip(f"checkov not installed at {path} (make .venv-checkov/.installed)")
    return path


def cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )


@functools.cache
def checkov_report(framework: str, folder: Path, root: Path = ROOT) -> dict[str, Any]:
    """checkov's JSON report on a folder and what is below it, run once per session (the
    central folders hold the member-account template and module too); fails on its errors."""
    # A relative path: checkov's secret scan reads the file path it records inside the
    # Lambda environment, and some absolute paths look like secrets to it.
    result = subprocess.run(
        [checkov(), "--directory", str(folder.relative_to(root)), "--framework", framework]
        + ["--output", "json", "--skip-download", "--compact"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        # --skip-download keeps it offline; no API key is ever read.
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    parsed = json.loads(result.stdout)
    (report,) = parsed if isinstance(parsed, list) else [parsed]
    return dict(report)


def results_under(report: dict[str, Any], prefix: str) -> dict[str, list[dict[str, Any]]]:
    """The report's passed, failed and skipped checks of the files whose path (as checkov
    records it, from the scanned folder) starts with ``prefix``."""
    return {
        kind: [c for c in checks if str(c["file_path"]).startswith(prefix)]
        for kind, checks in report["results"].items()
        if kind in ("passed_checks", "failed_checks", "skipped_checks")
    }


def failed_checks(results: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["check_id"], c["resource"]) for c in results["failed_checks"]]


def unjustified_skips(results: dict[str, Any]) -> list[str]:
    """Checks checkov skipped without a sentence saying why."""
    return [
        s["check_id"]
        for s in results["skipped_checks"]
        if len(s["check_result"].get("suppress_comment", "")) < MIN_REASON_CHARS
    ]


def declared_skips(template: dict[str, Any], tf_files: Iterable[Path]) -> list[tuple[str, str]]:
    """(where, reason) of every checkov skip written in a template or Terraform files."""
    skips: list[tuple[str, str]] = []
    for logical_id, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            skips.append((f"{logical_id}:{skip['id']}", skip.get("comment", "")))
    for path in tf_files:
        for check, reason in re.findall(r"#checkov:skip=(\w+):?(.*)", path.read_text()):
            skips.append((f"{path.name}:{check}", reason))
    return skips
