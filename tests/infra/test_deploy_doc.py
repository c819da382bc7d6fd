"""docs/deploy.md lists every parameter, variable and output, with the real defaults and rates."""

from __future__ import annotations

import re

from iac_model import PARAMETERS, ROOT, TERRAFORM_ONLY_VARIABLES, module, template

DOC = ROOT / "docs" / "deploy.md"


def table_rows(heading: str) -> list[list[str]]:
    """The cells of the first table under ``## heading``, header and rule excluded."""
    section = DOC.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def code(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


def test_parameters_table_matches_the_template_and_the_module() -> None:
    rows = {tuple(code(r[0]) + code(r[1])): r for r in table_rows("Parameters")}
    listed = {name for key in rows for name in key}
    assert set(PARAMETERS) | set(PARAMETERS.values()) | TERRAFORM_ONLY_VARIABLES <= listed
    parameters = template()["Parameters"]
    for cfn_name, tf_name in PARAMETERS.items():
        row = rows[(cfn_name, tf_name)]
        default = parameters[cfn_name].get("Default")
        tf_default = module().variables[tf_name]["default"]
        if default in (None, ""):
            # Not set: null in Terraform, or an empty list.
            assert "`" not in row[2] or code(row[2]) in (["null"], ["[]"]), cfn_name
            assert tf_default in (None, []), tf_name
        else:
            assert code(row[2]) == [str(default)], cfn_name
            tf_text = str(tf_default).lower() if isinstance(tf_default, bool) else str(tf_default)
            assert tf_text == str(default), tf_name


def test_outputs_table_matches_the_template_and_the_module() -> None:
    listed = {name for row in table_rows("Outputs") for name in code(row[0]) + code(row[1])}
    assert set(template()["Outputs"]) | set(module().outputs) == listed


def test_rates_table_is_the_templates_mapping() -> None:
    section = DOC.read_text().split("## Sizing", 1)[1]
    table = template()["Mappings"]["ConsumerRates"]
    columns = {"PutLogEvents": "PutLogEvents", "CreateLogStream": "CreateLogStream"}
    columns |= {"CreateLogGroup": "CreateLogGroup", "GetLogEvents": "GetLogEvents"}
    columns |= {"DescribeImageScanFindings": "EcrFindings"}
    for api, column in columns.items():
        lines = [line.strip() for line in section.splitlines()]
        (line,) = [line for line in lines if line.startswith(f"| {api} ")]
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        per_consumer = [float(cell.removesuffix("/s").replace(",", "")) for cell in cells[2:]]
        expected = [float(table[n][column]) for n in ("2", "5", "10")]
        assert per_consumer == expected, api
