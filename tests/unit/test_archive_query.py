"""The archive query's pure parts: the SQL, the endpoint test, matching lines, deduplication."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import archive
from pipeline.ops import archive_query
from pipeline.ops.errors import OpsError

KEY = archive.ObjectKey(
    "p/", "finding", "123456789012", "us-east-1", "team/api", date(2026, 12, 1), "n"
)


@pytest.mark.parametrize(
    ("url", "aws"),
    [
        ("https://athena.us-east-1.amazonaws.com", True),
        ("https://athena.cn-north-1.amazonaws.com.cn", True),
        ("https://athena-fips.us-east-1.api.aws", True),
        ("http://127.0.0.1:5000", False),
        ("http://localhost:4566", False),
        ("https://amazonaws.com.example.org", False),
    ],
)
def test_aws_endpoints(url: str, aws: bool) -> None:
    assert archive_query.is_aws_endpoint(url) is aws


def test_the_sql_names_the_table_the_id_and_the_dates() -> None:
    sql = archive_query.athena_sql(
        "CVE-2024-3094", "ecr_findings", "archive", date(2026, 1, 1), date(2026, 1, 31)
    )
    assert 'FROM "ecr_findings"."archive"' in sql
    assert (
        "WHERE (name = 'CVE-2024-3094' OR packagevulnerabilitydetails.vulnerabilityid = "
        "'CVE-2024-3094') AND \"date\" >= '2026-01-01' AND \"date\" <= '2026-01-31'"
    ) in sql
    assert "date" not in archive_query.athena_sql("X-1", "d", "t", None, None).split("WHERE")[1]


@pytest.mark.parametrize("name", ['a"b', "a b", "a;drop", ""])
def test_names_that_are_not_glue_names_are_refused(name: str) -> None:
    with pytest.raises(OpsError, match="not a Glue"):
        archive_query.athena_sql("CVE-2024-3094", name, "archive", None, None)


def _line(vid: str, event_id: str, packages: list[str]) -> str:
    return json.dumps(
        {
            "severity": "HIGH",
            "packageVulnerabilityDetails": {
                "vulnerabilityId": vid,
                "vulnerablePackages": [{"name": p, "version": "1"} for p in packages],
            },
            "imageContext": {"eventId": event_id, "imageTags": ["v1"], "eventTime": "t"},
        }
    )


def test_lines_are_matched_exactly_one_hit_per_package() -> None:
    text = [
        _line("CVE-2024-1", "e1", ["a", "b"]),
        _line("CVE-2024-12345", "e2", ["c"]),
        "not json",
        json.dumps({"HIGH": 1}),
    ]
    hits = archive_query.hits_in_object("k", KEY, text, "CVE-2024-1")
    assert [(h.package, h.event_id, h.repository, h.tags) for h in hits] == [
        ("a 1", "e1", "team/api", ("v1",)),
        ("b 1", "e1", "team/api", ("v1",)),
    ]


@given(st.lists(st.sampled_from(["e1", "e2", "e3"]), max_size=8), st.permutations(["k1", "k2"]))
def test_an_event_in_two_objects_is_one_hit(event_ids: list[str], keys: list[str]) -> None:
    hits = [
        hit
        for key in keys
        for hit in archive_query.hits_in_object(
            key, KEY, [_line("CVE-2024-1", e, ["a"]) for e in event_ids], "CVE-2024-1"
        )
    ]
    kept = archive_query.deduplicated(hits)
    assert sorted(h.event_id for h in kept) == sorted(set(event_ids))
    assert archive_query.deduplicated(kept) == kept


def test_a_hit_carries_the_archived_status() -> None:
    closed = json.loads(_line("CVE-2024-1", "e1", ["a"])) | {"status": "CLOSED"}
    basic = {"name": "CVE-2024-1", "severity": "LOW", "imageContext": {"scanTime": "t"}}
    hits = archive_query.hits_in_object(
        "k", KEY, [json.dumps(closed), json.dumps(basic)], "CVE-2024-1"
    )
    assert sorted(h.status for h in hits) == ["ACTIVE", "CLOSED"]  # basic findings: ACTIVE
    assert "coalesce(status, 'ACTIVE') AS status" in archive_query.athena_sql(
        "CVE-2024-1", "ecr_findings", "archive", None, None
    )
