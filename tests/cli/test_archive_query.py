"""``archive query``: the archive written by the real handler, read back by the CLI — its
objects directly (what a local AWS allows), or Athena's rows (canned by moto: the parsing and
the polling are what is checked there) — and which engine answered."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from typer.testing import Result

from localaws import LocalAws, registry
from pipeline import archive
from pipeline.ops import archive_query

from .support import Queues, SeededImage, enqueue_scan_events, seed_images

BUCKET = "org-scan-archive"
CVE = "CVE-2024-2961"
CVE_LONGER = "CVE-2024-29610"  # contains CVE: a substring match would wrongly report it
TODAY = datetime.now(UTC).date()


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def archived(
    aws: LocalAws,
    aws_client: Callable[..., Any],
    sqs: Any,
    queues: Queues,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    handler_env: Callable[[Any], Any],
) -> list[SeededImage]:
    """Images (and one finding event) logged and archived by the real handler."""
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    images = seed_images(
        aws,
        aws_client("ecr"),
        [
            SeededImage("web/storefront", "v2", findings=30, cves=[CVE]),
            SeededImage("payments-api", "1.8.3", kind="enhanced", findings=20, cves=[CVE]),
            SeededImage("data/etl/spark", "3.5", findings=40, cves=[CVE_LONGER]),
            SeededImage("tools/shell", "latest", findings=5),
        ],
    )
    enqueue_scan_events(sqs, queues.url, images)
    event = registry.finding_event(
        repository="team/api", digest="sha256:" + "ab" * 32, vulnerability_id=CVE, tags=["v9"]
    )
    sqs.send_message(QueueUrl=queues.url, MessageBody=json.dumps(event))
    stats = handler_env(sqs)
    assert (stats.deleted, stats.failed) == (5, 0)
    return images


def _query(cli: Callable[..., Result], *args: str) -> dict[str, Any]:
    result = cli("archive", "query", *args, "--json")
    assert result.exit_code == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _keys(s3: Any) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def test_the_objects_answer_what_search_answers(
    cli: Callable[..., Result], archived: list[SeededImage], s3: Any
) -> None:
    found = _query(cli, CVE, "--engine", "s3", "--bucket", BUCKET)

    assert (found["engine"], found["engine_reason"]) == ("s3", "asked for")
    assert found["objects_read"] == len(_keys(s3)) == 5  # four scans, one finding events'
    hits = found["hits"]
    with_cve = {(i.repository, i.digest) for i in archived if CVE in i.cves}
    assert {(h["repository"], h["image_digest"]) for h in hits if h["kind"] == "scan"} == with_cve
    [event] = [h for h in hits if h["kind"] == "finding"]
    assert (event["repository"], event["tags"]) == ("team/api", ["v9"])
    assert event["package"].startswith("openssl ")
    assert {h["date"] for h in hits} == {TODAY.isoformat()}
    assert {h["s3_key"] for h in hits} <= _keys(s3)
    assert all(h["s3_key"].startswith(f"ecr-findings/kind={h['kind']}/date=") for h in hits)
    assert found["images"] == 3

    # The same findings as the log groups hold: severity, package, scan time per image.
    searched = cli("search", CVE, "--all-scans", "--rate", "100", "--json")
    assert searched.exit_code == 0, searched.stderr
    logged = {
        (h["repository"], h["image_digest"], h["severity"], h["package"], h["scan_time"])
        for h in json.loads(searched.stdout)["hits"]
        if h["source"] == "scan"  # the image scans' findings (not the finding event's)
    }
    assert {
        (h["repository"], h["image_digest"], h["severity"], h["package"], h["scan_time"])
        for h in hits
        if h["kind"] == "scan"
    } == logged


def test_auto_reads_the_objects_on_a_local_aws_and_says_so(
    cli: Callable[..., Result], archived: list[SeededImage], aws: LocalAws
) -> None:
    result = cli("archive", "query", CVE, "--bucket", BUCKET)

    assert result.exit_code == 0, result.stderr
    assert "web/storefront" in result.stdout and "payments-api" in result.stdout
    assert "data/etl/spark" not in result.stdout
    assert f"{CVE}: 3 images" in result.stdout
    assert (
        f"Engine: S3 objects (5 read; the Athena endpoint {aws.endpoint_url} is not AWS's: "
        "its answers would be canned)."
    ) in " ".join(result.stdout.split())
    assert aws.calls["StartQueryExecution"] == 0


def test_nothing_found_still_says_which_engine(
    cli: Callable[..., Result], s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    result = cli("archive", "query", "CVE-1999-0001")

    assert result.exit_code == 0, result.stderr
    assert "No archived image has CVE-1999-0001." in result.stdout
    assert "Engine: S3 objects (0 read;" in result.stdout


def _put(s3: Any, day: date, repository: str, vulnerability_id: str = CVE) -> str:
    key = archive.scan_key(
        "ecr-findings/",
        account="123456789012",
        region="us-east-1",
        repository=repository,
        digest="sha256:" + f"{day.toordinal():064x}",
        time_ms=int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp() * 1000),
    ).key
    finding = {"name": vulnerability_id, "severity": "HIGH", "imageContext": {"imageTags": []}}
    summary = {"HIGH": 1, "imageContext": {}}
    s3.put_object(
        Bucket=BUCKET,
        Key=key,
        Body=archive.encode_lines([json.dumps(finding), json.dumps(summary)]),
    )
    return key


def test_since_and_until_read_only_those_dates(
    cli: Callable[..., Result], aws: LocalAws, s3: Any
) -> None:
    days = [TODAY - timedelta(days=n) for n in (10, 5, 3, 0)]
    keys = {day: _put(s3, day, f"team/app-{n}") for n, day in enumerate(days)}
    s3.put_object(Bucket=BUCKET, Key="ecr-findings/kind=scan/README.txt", Body=b"not archive")
    gets = aws.calls["GetObject"]

    found = _query(
        cli,
        CVE,
        "--engine",
        "s3",
        "--bucket",
        BUCKET,
        "--since",
        (TODAY - timedelta(days=6)).isoformat(),
        "--until",
        "2d",
    )

    assert [h["s3_key"] for h in found["hits"]] == [keys[days[1]], keys[days[2]]]
    assert found["objects_read"] == 2
    assert aws.calls["GetObject"] - gets == 2  # the other dates' objects are not read


def _athena_rows(aws: LocalAws, rows: list[dict[str, str | None]]) -> None:
    """Queue what moto's Athena answers the next query with (a header row first)."""
    names = list(rows[0])
    body = {
        "region": "us-east-1",
        "results": [
            {
                "column_info": [{"Name": n, "Type": "varchar"} for n in names],
                "rows": [{"Data": [{"VarCharValue": n} for n in names]}]
                + [
                    {"Data": [{} if r[n] is None else {"VarCharValue": r[n]} for n in names]}
                    for r in rows
                ],
            }
        ],
    }
    request = urllib.request.Request(
        aws.endpoint_url + "/moto-api/static/athena/query-results",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        assert response.status == 201


ROW = {
    "s3_path": f"s3://{BUCKET}/ecr-findings/kind=scan/date=2026-11-29/account=123456789012/"
    "region=us-east-1/repository=team%2Fweb/abc-20261129T060000Z.json.gz",
    "kind": "scan",
    "date": "2026-11-29",
    "account": "123456789012",
    "region": "us-east-1",
    "repository": "team/web",
    "image_digest": "sha256:" + "cd" * 32,
    "tags": '["v1","latest"]',
    "severity": "CRITICAL",
    "packages": '["glibc 2.36", "glibc-common 2.36"]',
    "scan_time": "2026-11-29T06:00:00Z",
    "event_id": None,
}


def test_athena_rows_are_read_through_the_paginator(
    cli: Callable[..., Result], aws: LocalAws, aws_client: Callable[..., Any]
) -> None:
    _athena_rows(aws, [ROW])

    found = _query(
        cli, CVE, "--engine", "athena", "--since", "2026-11-01", "--database", "security"
    )

    assert found["engine"] == "athena" and found["objects_read"] is None
    key = str(ROW["s3_path"]).removeprefix(f"s3://{BUCKET}/")
    assert [(h["package"], h["tags"], h["s3_key"]) for h in found["hits"]] == [
        ("glibc 2.36", ["v1", "latest"], key),
        ("glibc-common 2.36", ["v1", "latest"], key),
    ]
    athena = aws_client("athena")
    [query_id] = athena.list_query_executions()["QueryExecutionIds"]
    assert found["query_execution_id"] == query_id
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["QueryExecutionContext"]["Database"] == "security"
    assert execution["WorkGroup"] == "primary"
    assert execution["Query"] == archive_query.athena_sql(
        CVE, "security", "archive", date(2026, 11, 1), None
    )
    assert (
        f"(name = '{CVE}' OR packagevulnerabilitydetails.vulnerabilityid = '{CVE}')"
        in (execution["Query"])
    )
    assert "\"date\" >= '2026-11-01'" in execution["Query"]
    assert aws.calls["GetQueryExecution"] >= 1


def test_athena_table_output_names_the_query(cli: Callable[..., Result], aws: LocalAws) -> None:
    _athena_rows(aws, [ROW])

    result = cli("archive", "query", CVE, "--engine", "athena")

    assert result.exit_code == 0, result.stderr
    assert "team/web" in result.stdout and "glibc-common 2.36" in result.stdout
    assert "Engine: Athena (query " in result.stdout and "asked for" in result.stdout


def test_auto_falls_back_to_the_objects_when_athena_fails(
    cli: Callable[..., Result],
    archived: list[SeededImage],
    aws: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Taken for AWS's endpoint, so that auto asks Athena first; the local AWS then fails it.
    monkeypatch.setattr(archive_query, "is_aws_endpoint", lambda url: True)
    aws.inject_fault("StartQueryExecution", code="InvalidRequestException", times=5)

    found = _query(cli, CVE, "--bucket", BUCKET)

    assert found["engine"] == "s3"
    assert found["engine_reason"].startswith(
        "Athena failed (StartQueryExecution failed: InvalidRequestException"
    )
    assert found["images"] == 3


def test_errors_are_one_line(cli: Callable[..., Result], aws: LocalAws) -> None:
    no_bucket = cli("archive", "query", CVE, "--engine", "s3")
    aws.inject_fault("StartQueryExecution", code="AccessDeniedException", times=5)
    denied = cli("archive", "query", CVE, "--engine", "athena")
    backwards = cli("archive", "query", CVE, "--since", "1d", "--until", "3d", "--bucket", BUCKET)
    bad_id = cli("archive", "query", "not an id!")

    assert no_bucket.exit_code == 1
    assert no_bucket.stderr == (
        "error: reading the archive's objects needs its bucket: pass --bucket or set "
        "ARCHIVE_BUCKET\n"
    )
    assert denied.exit_code == 1
    assert denied.stderr.startswith("error: StartQueryExecution failed: AccessDeniedException")
    assert backwards.exit_code == 1 and "is after --until" in backwards.stderr
    assert bad_id.exit_code == 2 and "not a vulnerability id" in bad_id.stderr


@pytest.mark.parametrize("command", [("archive",), ("archive", "query")])
def test_help_with_examples(cli: Callable[..., Result], command: tuple[str, ...]) -> None:
    result = cli(*command, "--help")

    assert result.exit_code == 0, result.stderr
    assert "Usage: ecr-findings" in result.stdout and "Examples:" in result.stdout
