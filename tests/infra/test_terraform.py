"""Terraform itself reads the module: formatted, valid, and planned against the local AWS for
a few sets of inputs, where the plan creates what ``iac_eval`` says the inputs create.

Needs the ``terraform`` binary and the AWS provider in a local plugin directory (no download
here): ``TF_PLUGIN_DIR``, or ``/opt/tf-plugins``. Without them these tests are skipped, and
the module is still parsed and compared by the other tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from iac_eval import TfModule
from iac_model import MODULE, module

from localaws import LocalAws

PLUGINS = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))
SERVICES = (
    "athena cloudwatch cloudwatchevents cloudwatchlogs glue iam kms lambda s3 sns sqs sts".split()
)
CODE = {"s3_bucket": "deploy-artifacts", "s3_key": "ecr-findings-logger/arm64.zip"}
SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "created": {
        "create_kms_key": True,
        "create_alarm_topic": True,
        "findings_alarm_severity": "HIGH",
        "watched_vulnerabilities": ["CVE-2021-44228"],
        "create_notify_topic": True,
        "create_archive_bucket": True,
        "archive_object_lock_mode": "COMPLIANCE",
        "archive_prefix": "",
        "archive_query_results_location": "s3://athena-results/ecr-findings/",
    },
    "given": {
        "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/stack",
        "alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:alarms",
        "notify_topic_arn": "arn:aws:sns:us-east-1:123456789012:findings",
        "notify_topic_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/topic",
        "archive_bucket_name": "team-findings-archive",
        "archive_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/archive",
    },
}


def terraform() -> str:
    found = shutil.which("terraform")
    if found is None or not (PLUGINS / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip(f"terraform or its AWS provider in {PLUGINS} is not installed")
    return found


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [terraform(), *args, "-no-color"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        # No CLI configuration file, no version check: offline and the same everywhere.
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TF_CLI_CONFIG_FILE": "/dev/null",
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
        },
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def init(folder: Path) -> None:
    run("init", "-backend=false", f"-plugin-dir={PLUGINS}", "-input=false", cwd=folder)


def test_the_module_is_formatted() -> None:
    run("fmt", "-check", "-recursive", "-diff", str(MODULE), cwd=MODULE)


def test_the_example_and_the_modules_are_valid(tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    shutil.copytree(MODULE, copy)
    for folder in (copy / "examples" / "complete", copy / "modules" / "member-account"):
        init(folder)
        run("validate", cwd=folder)


def root_module(folder: Path, endpoint: str, variables: dict[str, Any]) -> None:
    """A root module calling the module, its provider pointed at the local AWS."""
    if not (folder / "module").exists():
        shutil.copytree(MODULE, folder / "module")
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in SERVICES)
    (folder / "main.tf").write_text(
        f"""provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {{
{endpoints}
  }}
}}

module "findings_logger" {{
  source = "./module"
{chr(10).join(f"  {name} = {json.dumps(value)}" for name, value in variables.items())}
}}
"""
    )


@pytest.fixture(scope="module")
def planning(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One root module folder, initialised once: each scenario rewrites its main.tf (a new
    module call needs no new init)."""
    terraform()
    folder = tmp_path_factory.mktemp("plan")
    root_module(folder, "http://127.0.0.1:1", CODE)
    init(folder)
    return folder


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_plan_creates_what_the_inputs_ask_for(
    scenario: str, planning: Path, local_aws: LocalAws
) -> None:
    """Terraform evaluates every expression (an index into a resource not created, a null in
    a string or a function, a failed precondition would stop the plan) and plans what
    iac_eval expects."""
    local_aws.reset()
    variables = {**CODE, **SCENARIOS[scenario]}
    root_module(planning, local_aws.endpoint_url, variables)
    run("plan", "-input=false", "-refresh=false", "-out=plan.bin", cwd=planning)
    shown = json.loads(run("show", "-json", "plan.bin", cwd=planning).stdout)

    planned = {
        change["address"].removeprefix("module.findings_logger.")
        for change in shown["resource_changes"]
        if change["mode"] == "managed" and change["change"]["actions"] == ["create"]
    }
    expected = TfModule(module(), variables)
    created = {
        f"{address}[0]" if "count" in expected.module.resources[address] else address
        for address in expected.created()
    }
    assert planned == created
