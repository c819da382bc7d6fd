"""docs/deploy.md's organization-wide steps use the member template and module as they are."""

from __future__ import annotations

import re

import hcl2
import iac_model
import member_model
from test_deploy_doc import DOC, code, table_rows

HEADING = "Organization-wide"


def section() -> str:
    return DOC.read_text().split(f"\n## {HEADING}\n", 1)[1].split("\n## ", 1)[0]


def test_member_table_lists_every_parameter_and_variable_with_its_default() -> None:
    rows = {tuple(code(r[0]) + code(r[1])): r for r in table_rows(HEADING)}
    listed = {name for key in rows for name in key}
    expected = set(member_model.PARAMETERS) | set(member_model.PARAMETERS.values())
    assert listed == expected | member_model.TERRAFORM_ONLY_VARIABLES
    parameters = member_model.template()["Parameters"]
    for cfn_name, tf_name in member_model.PARAMETERS.items():
        row = rows[(cfn_name, tf_name)]
        if parameters[cfn_name].get("Default") == "":
            assert row[2] == "empty", cfn_name
        elif "Default" in parameters[cfn_name]:
            assert code(row[2]) == [parameters[cfn_name]["Default"]], cfn_name
        else:
            assert row[2] == "(required)", cfn_name


def test_stackset_commands_name_real_parameters() -> None:
    keys = set(re.findall(r"ParameterKey=(\w+)", section()))
    assert keys == {
        "CentralEventBusArn",
        "CentralFunctionRoleArn",
        "ForwardEvents",
        "CreateReaderRole",
    }
    assert keys <= set(member_model.template()["Parameters"])
    assert "--template-body file://infra/cloudformation/member-account.yaml" in section()
    # The central account's own instance: only the reader role.
    assert "ParameterKey=ForwardEvents,ParameterValue=false" in section()
    assert "CAPABILITY_NAMED_IAM" in section()


def test_central_deploy_command_names_real_parameters() -> None:
    (command,) = [
        block
        for block in re.findall(r"```sh\n(.*?)```", section(), re.S)
        if "template.yaml" in block
    ]
    # The overrides run to the end of the command: the first line without a continuation.
    overrides = command.split("--parameter-overrides", 1)[1].split("\n")
    last = next(i for i, line in enumerate(overrides) if not line.endswith("\\"))
    names = set(re.findall(r"(\w+)=", "\n".join(overrides[: last + 1])))
    assert names <= set(iac_model.template()["Parameters"])
    assert {"OrganizationId", "EcrReadRoleArn"} <= names


def test_terraform_example_passes_real_variables() -> None:
    (example,) = re.findall(r"```hcl\n(.*?)```", section(), re.S)
    modules = hcl2.loads(example)["module"]
    sources = {
        "./infra/terraform": iac_model.module(),
        "./infra/terraform/modules/member-account": member_model.module(),
    }
    seen = set()
    for block in modules:
        for body in block.values():
            source = body["source"].strip('"')
            variables = sources[source].variables
            arguments = {
                k for k in body if k not in ("source", "providers") and not k.startswith("__")
            }
            assert arguments <= set(variables), (source, arguments - set(variables))
            required = {name for name, v in variables.items() if "default" not in v}
            assert required <= arguments, source
            seen.add(source)
    assert seen == set(sources)


def test_the_documented_role_arn_template_is_the_member_output() -> None:
    rendered = (
        "arn:aws:iam::{account}:role/"
        + (member_model.template()["Parameters"]["ReaderRoleName"]["Default"])
    )
    assert section().count(rendered) >= 3  # central deploy, Terraform, outputs
