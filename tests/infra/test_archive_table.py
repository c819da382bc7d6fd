"""The archive's Glue table reads what the function archives: its columns fit the messages the
function logs (each archive line is one), and its partition projection finds the objects at
the keys the function writes them to.

Checked on the template (test_iac_parity keeps the module equal to it).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iac_eval import CfnStack
from iac_model import template

from localaws.finding_examples import DOCUMENTED_JAVA_FORMAT, DOCUMENTED_US_FORMAT
from localaws.findings import basic_findings, enhanced_findings
from localaws.registry import scan_event
from pipeline import archive, events
from pipeline.aws.ecr import ScanFindings
from pipeline.ops import archive_query
from pipeline.render import Renderer, image_context
from pipeline.writers.finding_events import finding_context
from pipeline.writers.image_scans import summary_fields

BUCKET, PREFIX = "team-findings-archive", "compliance/ecr/"
DIGEST = "sha256:" + "ab" * 32


def archive_table(prefix: str = PREFIX) -> dict[str, Any]:
    """The table over an existing bucket (its name is then known before deploying)."""
    stack = CfnStack(template(), {"ArchiveBucketName": BUCKET, "ArchivePrefix": prefix})
    table: dict[str, Any] = stack.properties("ArchiveTable")["TableInput"]
    return table


# ---------------------------------------------------------------------------- Hive types


def hive_type(text: str) -> Any:
    """``array<struct<a:string>>`` → ("array", ("struct", {"a": "string"}))."""
    node, rest = _type(text.replace(" ", ""))
    if rest:
        raise ValueError(f"unread: {rest!r}")
    return node


def _type(text: str) -> tuple[Any, str]:
    if text.startswith("array<"):
        inner, rest = _type(text[len("array<") :])
        return ("array", inner), rest.removeprefix(">")
    if text.startswith("struct<"):
        fields, rest = {}, text[len("struct<") :]
        while not rest.startswith(">"):
            name, rest = rest.split(":", 1)
            fields[name], rest = _type(rest)
            rest = rest.removeprefix(",")
        return ("struct", fields), rest[1:]
    match = re.match(r"(string|int|bigint|double|boolean)", text)
    if not match:
        raise ValueError(f"unknown type at {text!r}")
    return match.group(1), text[match.end() :]


def fits(value: Any, kind: Any) -> bool:
    """Whether the OpenX JSON SerDe reads ``value`` as ``kind``: null is every type, a string
    column takes any scalar, struct fields are matched regardless of case."""
    if value is None:
        return True
    if kind == "string":
        return isinstance(value, str | int | float | bool)
    if kind in ("int", "bigint"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind[0] == "array":
        return isinstance(value, list) and all(fits(v, kind[1]) for v in value)
    if kind[0] == "struct":
        if not isinstance(value, dict):
            return False
        keys = {k.lower(): v for k, v in value.items()}
        return all(fits(keys.get(name), inner) for name, inner in kind[1].items())
    raise ValueError(kind)


def names(kind: Any, path: str = "") -> set[str]:
    """Every column and struct field path of a type (``imagecontext.imagedigest``...)."""
    if isinstance(kind, tuple) and kind[0] == "struct":
        found = set()
        for name, inner in kind[1].items():
            found |= {f"{path}.{name}"} | names(inner, f"{path}.{name}")
        return found
    if isinstance(kind, tuple) and kind[0] == "array":
        return names(kind[1], path)
    return set()


def present(value: Any, path: list[str]) -> bool:
    if not path:
        return value is not None and value != []
    if isinstance(value, list):
        return any(present(v, path) for v in value)
    if not isinstance(value, dict):
        return False
    keys = {k.lower(): v for k, v in value.items()}
    return present(keys.get(path[0]), path[1:])


# ---------------------------------------------------------------------------- what is logged


def logged_messages() -> list[dict[str, Any]]:
    """Messages as the function logs (and archives) them: basic and enhanced findings of an
    image scan, its SUMMARY, and finding events in both of AWS's documented shapes."""
    time = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    messages = []
    for kind in ("basic", "enhanced"):
        body = scan_event(kind=kind, repository="team/web", digest=DIGEST, tags=["1.0"], time=time)
        scan = events.decode(json.dumps(body))
        assert isinstance(scan, events.ImageScan)
        renderer = Renderer(image_context(scan, account="111122223333", region="eu-west-1"))
        findings = (
            basic_findings(40, seed=kind)
            if kind == "basic"
            else enhanced_findings(40, seed=kind, repository="team/web", digest=DIGEST)
        )
        messages += [renderer.finding(f).text for f in findings]
        result = ScanFindings(
            registry_id="111122223333",
            status="COMPLETE",
            findings=findings,
            severity_counts={"HIGH": 40},
            completed_at=time,
            vulnerability_source_updated_at=time,
        )
        messages.append(renderer.summary(summary_fields(result, {"HIGH": 40})).text)  # type: ignore[arg-type]
    for documented in (DOCUMENTED_US_FORMAT, DOCUMENTED_JAVA_FORMAT):
        finding = events.decode(json.dumps(documented))
        assert isinstance(finding, events.FindingEvent)
        renderer = Renderer(finding_context(finding, finding.region))
        messages.append(renderer.finding(finding.detail).text)
    return [json.loads(m) for m in messages]


def test_every_column_fits_every_logged_message() -> None:
    columns = archive_table()["StorageDescriptor"]["Columns"]
    messages = logged_messages()
    for column in columns:
        kind = hive_type(column["Type"])
        for message in messages:
            keys = {k.lower(): v for k, v in message.items()}
            assert fits(keys.get(column["Name"]), kind), (column["Name"], keys.get(column["Name"]))


def test_every_column_and_field_is_filled_by_some_message() -> None:
    """No column or struct field is misnamed: each holds a value in at least one message
    (so ``imagecontext.imagedigest`` is the key the function writes, not a guess)."""
    messages = logged_messages()
    # Fields that AWS sends but the samples here leave empty or leave out.
    unsampled = {
        "packagevulnerabilitydetails.relatedvulnerabilities",
        "packagevulnerabilitydetails.vulnerablepackages.filepath",
        "packagevulnerabilitydetails.vulnerablepackages.remediation",
        "packagevulnerabilitydetails.cvss.scoringvector",
    }
    for column in archive_table()["StorageDescriptor"]["Columns"]:
        paths = {column["Name"]} | {
            column["Name"] + field for field in names(hive_type(column["Type"]))
        }
        for path in sorted(paths - unsampled):
            assert any(present(m, path.split(".")) for m in messages), path


def test_columns_are_lower_case_as_glue_keeps_them() -> None:
    """Glue stores names lower-case; written so, the table reads back as it is declared."""
    for column in archive_table()["StorageDescriptor"]["Columns"]:
        assert column["Name"] == column["Name"].lower()
        assert column["Type"] == column["Type"].lower()


def test_the_query_relies_on_columns_the_table_has() -> None:
    columns = archive_table()["StorageDescriptor"]["Columns"]
    known = {c["Name"] for c in columns} | {
        c["Name"] + field for c in columns for field in names(hive_type(c["Type"]))
    }
    stack = CfnStack(template(), {"CreateArchiveBucket": "true"})
    query = stack.properties("ArchiveNamedQuery")["QueryString"]
    sql = "\n".join(line.split("--")[0] for line in query.splitlines())
    used = set(re.findall(r"\b(imagecontext\.\w+|packagevulnerabilitydetails\.\w+)", sql))
    used |= {w for w in ("name", "severity") if re.search(rf"\b{w}\b", sql)}
    assert used and used <= known, used - known
    # Three parameters: the id, the first day and the last day.
    assert sql.count("?") == 3
    assert f'FROM "{archive_table()["Name"]}"' in sql


def test_the_operators_query_reads_the_table_the_stack_creates() -> None:
    """``ecr-findings archive query`` defaults to the stack's default database and table, and
    asks only for columns and fields the table has."""
    parameters = template()["Parameters"]
    assert parameters["ArchiveDatabaseName"]["Default"] == archive_query.DEFAULT_DATABASE
    assert parameters["ArchiveTableName"]["Default"] == archive_query.DEFAULT_TABLE
    table = archive_table()
    columns = {c["Name"]: hive_type(c["Type"]) for c in table["StorageDescriptor"]["Columns"]}
    columns |= {k["Name"]: hive_type(k["Type"]) for k in table["PartitionKeys"]}
    sql = archive_query.athena_sql("CVE-2021-44228", "ecr_findings", "archive", None, None)
    for column, field in re.findall(r"\b(imagecontext|packagevulnerabilitydetails)\.(\w+)", sql):
        assert field in columns[column][1], f"{column}.{field}"
    packages = columns["packagevulnerabilitydetails"][1]["vulnerablepackages"][1][1]
    assert {"name", "version"} <= set(packages)  # p.name, p.version
    assert columns["attributes"] == ("array", ("struct", {"key": "string", "value": "string"}))
    assert {"name", "severity", "kind", "date"} <= set(columns)


# ---------------------------------------------------------------------------- where it is


def partition_location(table: dict[str, Any], kind: str, day: str) -> str:
    parameters = table["Parameters"]
    location = parameters["storage.location.template"]
    return location.replace("${kind}", kind).replace("${date}", day)


def test_projection_covers_both_kinds_and_every_day_since_2020() -> None:
    table = archive_table()
    parameters = table["Parameters"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["kind", "date"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.kind.type"] == "enum"
    assert parameters["projection.kind.values"].split(",") == ["scan", "finding"]
    assert parameters["projection.date.type"] == "date"
    assert parameters["projection.date.format"] == "yyyy-MM-dd"
    assert parameters["projection.date.range"] == "2020-01-01,NOW"
    assert (
        parameters["projection.date.interval"],
        parameters["projection.date.interval.unit"],
    ) == (
        "1",
        "DAYS",
    )
    # Every partition key is projected, and nothing else is.
    projected = {
        k.split(".")[1] for k in parameters if k.startswith("projection.") and k.count(".") > 1
    }
    assert projected == {"kind", "date"}
    serde = table["StorageDescriptor"]["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"


@pytest.mark.parametrize("prefix", [PREFIX, "ecr-findings/", ""])
def test_a_partitions_location_holds_the_keys_of_its_kind_and_day(prefix: str) -> None:
    """The layout of the archive (a partition's objects sit below its kind= and date= folders,
    under the account=, region= and repository= ones), with the table's location above."""
    table = archive_table(prefix)
    assert table["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/{prefix}"
    key = (
        f"{prefix}kind=scan/date=2026-03-01/account=111122223333/region=eu-west-1/"
        f"repository=team%2Fweb/{'ab' * 32}-20260301T120000Z.json.gz"
    )
    location = partition_location(table, "scan", "2026-03-01")
    assert f"s3://{BUCKET}/{key}".startswith(location)
    assert location.startswith(table["StorageDescriptor"]["Location"])
    assert partition_location(table, "finding", "2026-03-01") not in f"s3://{BUCKET}/{key}"


@given(
    kind=st.sampled_from(["scan", "finding"]),
    day=st.dates(min_value=datetime(2020, 1, 1).date(), max_value=datetime(2030, 1, 1).date()),
    repository=st.from_regex(r"\A[a-z0-9]+([._/-][a-z0-9]+){0,4}\Z"),
)
def test_the_functions_keys_are_in_their_partitions(kind: str, day: Any, repository: str) -> None:
    """Keys as the archive writes them (pipeline.archive) land in their partition's location,
    and in no other partition's."""
    table = archive_table()
    key = archive.ObjectKey(
        prefix=PREFIX,
        kind=kind,
        account="111122223333",
        region="eu-west-1",
        repository=repository,
        day=day,
        name="x",
    ).key
    url = f"s3://{BUCKET}/{key}"
    assert url.startswith(partition_location(table, kind, day.isoformat()))
    other = "finding" if kind == "scan" else "scan"
    assert not url.startswith(partition_location(table, other, day.isoformat()))
