"""Usage errors (exit 2), run-time errors (exit 1): one line on stderr, never a traceback;
``--help`` with examples on every command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from localaws import LocalAws

from .support import Queues

COMMANDS = [
    (),
    ("dlq",),
    ("dlq", "status"),
    ("dlq", "peek"),
    ("dlq", "redrive"),
    ("dlq", "tasks"),
    ("dlq", "cancel"),
    ("backfill",),
    ("search",),
    ("reconcile",),
]


def _one_line(text: str) -> str:
    assert text.endswith("\n") and text.count("\n") == 1, text
    assert text.startswith("error: "), text
    assert "Traceback" not in text
    return text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("dlq", "peek", "-q", "x", "--bogus"), "No such option: --bogus"),
        (("dlq", "status"), "Missing option '--queue'"),
        (("dlq", "peek", "-q", "x", "-n", "0"), "'-n' / '--count'"),
        (
            ("dlq", "redrive", "-q", "x", "--native", "--reason", "throttled"),
            "--reason cannot be used",
        ),
        (("dlq", "redrive", "-q", "x", "--native", "--rate", "1000"), "--rate"),
        (("dlq", "redrive", "-q", "x", "--wait"), "--wait follows native move tasks"),
        (("dlq", "redrive", "-q", "x", "--older-than", "soon"), "not a duration: 'soon'"),
        (("search", "not an id!"), "not a vulnerability id"),
        (("search",), "Missing argument 'VULNERABILITY_ID'"),
        (("search", "CVE-2024-1", "--engine", "grep"), "'grep'"),
        (("search", "CVE-2024-1", "--since", "last week"), "not a duration or ISO 8601 time"),
        (("backfill",), "--queue is required"),
        (("backfill", "--dry-run", "--kind", "weird"), "'weird'"),
        (("nonsense",), "No such command 'nonsense'"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(
    cli: Callable[..., Result], args: tuple[str, ...], expected: str
) -> None:
    result = cli(*args)

    assert result.exit_code == 2, result.output
    assert expected in _one_line(result.stderr)
    assert result.stdout == ""


def test_missing_queue_is_a_runtime_error(cli: Callable[..., Result]) -> None:
    result = cli("dlq", "status", "--queue", "no-such-queue")

    assert result.exit_code == 1
    assert _one_line(result.stderr) == "error: queue no-such-queue does not exist\n"


def test_missing_queue_url_is_a_runtime_error(cli: Callable[..., Result], aws: LocalAws) -> None:
    url = f"{aws.endpoint_url}/123456789012/gone"
    result = cli("dlq", "peek", "--queue", url)

    assert result.exit_code == 1
    assert _one_line(result.stderr) == f"error: queue {url} does not exist\n"


def test_aws_errors_are_one_line(cli: Callable[..., Result], aws: LocalAws) -> None:
    aws.inject_fault(
        "DescribeLogGroups",
        code="AccessDeniedException",
        status=400,
        message="User is not authorized\nto perform: logs:DescribeLogGroups",
    )

    result = cli("search", "CVE-2024-1")

    assert result.exit_code == 1
    assert _one_line(result.stderr) == (
        "error: DescribeLogGroups failed: AccessDeniedException: User is not authorized to "
        "perform: logs:DescribeLogGroups\n"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_everywhere_with_examples(
    cli: Callable[..., Result], command: tuple[str, ...]
) -> None:
    result = cli(*command, "--help")

    assert result.exit_code == 0, result.stderr
    assert "Usage: ecr-findings" in result.stdout
    assert "Examples:" in result.stdout or "Example:" in result.stdout


def _script() -> Path:
    return Path(sys.executable).parent / "ecr-findings"


def test_installed_script_exit_codes(aws: LocalAws, queues: Queues) -> None:
    """The console script itself: no traceback, exit codes 2, 1 and 0."""
    env = {**aws.env(), "PATH": str(_script().parent), "COLUMNS": "120"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_script()), *args], env=env, capture_output=True, text=True, timeout=60
        )

    usage = run("dlq", "peek", "--bogus")
    missing = run("--endpoint-url", aws.endpoint_url, "dlq", "status", "-q", "nope")
    fine = run("--region", aws.region, "dlq", "status", "-q", queues.dlq_url, "--json")

    assert (usage.returncode, usage.stdout) == (2, "")
    _one_line(usage.stderr)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert _one_line(missing.stderr) == "error: queue nope does not exist\n"
    assert fine.returncode == 0, fine.stderr
    assert '"messages_visible": 0' in fine.stdout


def test_profile_and_region_options(
    cli: Callable[..., Result],
    aws_client: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A named profile supplies region and keys; --region overrides the region."""
    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = eu-west-1\n")
    credentials = tmp_path / "credentials"
    credentials.write_text("[ops]\naws_access_key_id = ops\naws_secret_access_key = ops\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws_client("sqs", region_name="eu-west-1").create_queue(QueueName="eu-dlq")

    in_profile_region = cli("--profile", "ops", "dlq", "status", "-q", "eu-dlq", "--json")
    elsewhere = cli("--profile", "ops", "--region", "us-east-1", "dlq", "status", "-q", "eu-dlq")
    unknown = cli("--profile", "nobody", "dlq", "status", "-q", "eu-dlq")

    assert in_profile_region.exit_code == 0, in_profile_region.stderr
    assert "/eu-dlq" in json.loads(in_profile_region.stdout)["queue_url"]
    assert elsewhere.exit_code == 1
    assert _one_line(elsewhere.stderr) == "error: queue eu-dlq does not exist\n"
    assert unknown.exit_code == 1
    assert "nobody" in _one_line(unknown.stderr)


@pytest.mark.parametrize("command", [(), ("dlq",)], ids=["root", "dlq"])
def test_no_arguments_shows_the_help(cli: Callable[..., Result], command: tuple[str, ...]) -> None:
    result = cli(*command)

    assert result.exit_code == 2
    assert "Usage: ecr-findings" in result.stdout
    assert result.stderr == ""
