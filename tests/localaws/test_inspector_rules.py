"""Inspector's ListFindings rules on their own (no server): filters, sorting, pages, and the
two wire forms of one finding."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localaws import registry
from localaws.inspector import (
    Inspector,
    as_scan_finding,
    event_detail,
    finding_event,
    image_finding,
)
from localaws.rules import inspector2
from localaws.rules.errors import ApiError
from localaws.shapes import shape, to_wire
from pipeline.events import FindingEvent, decode
from pipeline.finding_time import parse_finding_time

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REGION = "us-east-1"
REPOSITORIES = ("team-a/web", "team-a/api", "team-b/api", "tools")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
STATUSES = ("ACTIVE", "SUPPRESSED", "CLOSED")
ACCOUNTS = ("123456789012", "210987654321")


def _digest(n: int) -> str:
    return f"sha256:{n:064x}"


def _finding(n: int, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "repository": REPOSITORIES[n % len(REPOSITORIES)],
        "digest": _digest(n),
        "vulnerability_id": f"CVE-2024-{1000 + n}",
        "severity": SEVERITIES[n % len(SEVERITIES)],
        "status": STATUSES[n % len(STATUSES)],
        "account": ACCOUNTS[n % len(ACCOUNTS)],
        "updated_at": T0 + timedelta(minutes=n),
    }
    fields.update(overrides)
    return image_finding(**fields)


def _book(findings: Sequence[dict[str, Any]]) -> inspector2.FindingBook:
    book = inspector2.FindingBook()
    for finding in findings:
        book.put(finding)
    return book


def _list_all(book: inspector2.FindingBook, **params: Any) -> tuple[list[str], list[int]]:
    """Every page of one query: (finding ARNs in answer order, page sizes)."""
    arns: list[str] = []
    sizes: list[int] = []
    token = None
    for _ in range(1000):  # a page that does not advance must fail the test, not hang it
        request = inspector2.list_request({**params, **({"nextToken": token} if token else {})})
        page = inspector2.list_page(request, book, REGION)
        sizes.append(len(page["findings"]))
        arns += [f["findingArn"] for f in page["findings"]]
        token = page.get("nextToken")
        if token is None:
            return arns, sizes
    raise AssertionError("pages did not end")


def _arns(findings: Sequence[dict[str, Any]]) -> list[str]:
    return [str(f["findingArn"]) for f in findings]


def _string(name: str, comparison: str, value: str) -> dict[str, Any]:
    return {name: [{"comparison": comparison, "value": value}]}


# -- pages ------------------------------------------------------------------------------------


def test_pages_follow_max_results_default_50_at_most_100() -> None:
    findings = [_finding(n) for n in range(230)]
    book = _book(findings)

    arns, sizes = _list_all(book)
    assert sizes == [50, 50, 50, 50, 30]
    assert arns == _arns(findings)  # seeding order without sortCriteria
    assert _list_all(book, maxResults=100)[1] == [100, 100, 30]
    assert _list_all(book, maxResults=7)[1] == [7] * 32 + [6]


@pytest.mark.parametrize("max_results", [0, 101, True, "10", 2.5])
def test_max_results_out_of_range_is_refused(max_results: object) -> None:
    with pytest.raises(ApiError) as exc:
        inspector2.list_request({"maxResults": max_results})
    assert exc.value.code == "ValidationException"


def test_a_token_continues_only_its_own_query() -> None:
    book = _book([_finding(n) for n in range(5)])
    first = inspector2.list_request({"maxResults": 2})
    token = inspector2.list_page(first, book, REGION)["nextToken"]

    other = inspector2.list_request(
        {
            "maxResults": 2,
            "nextToken": token,
            **{"filterCriteria": _string("severity", "EQUALS", "LOW")},
        }
    )
    with pytest.raises(ApiError, match="other filter or sort criteria"):
        inspector2.list_page(other, book, REGION)
    forged = inspector2.list_request({"nextToken": token[:-4] + "AAAA"})
    with pytest.raises(ApiError, match="Invalid nextToken"):
        inspector2.list_page(forged, book, REGION)
    foreign = inspector2.list_request({"maxResults": 2, "nextToken": token})
    with pytest.raises(ApiError, match="Invalid nextToken"):
        inspector2.list_page(foreign, inspector2.FindingBook(), REGION)  # another book's secret


def test_a_finding_changed_or_removed_between_pages_does_not_shift_the_next_page() -> None:
    findings = [_finding(n) for n in range(6)]
    book = _book(findings)
    request = inspector2.list_request({"maxResults": 2})
    page = inspector2.list_page(request, book, REGION)
    assert _arns(page["findings"]) == _arns(findings[:2])

    book.delete(findings[1]["findingArn"])  # the last one returned
    book.update(findings[2]["findingArn"], {"status": "CLOSED"})
    after = inspector2.list_request({"maxResults": 2, "nextToken": page["nextToken"]})
    assert _arns(inspector2.list_page(after, book, REGION)["findings"]) == _arns(findings[2:4])


def test_sorting_by_severity_then_seeding_order_missing_values_last() -> None:
    findings = [_finding(n) for n in range(8)]
    untriaged = _finding(99, severity="UNTRIAGED")
    book = _book([*findings, untriaged])
    ranks = {s: inspector2.SEVERITY_ORDER.index(s) for s in inspector2.SEVERITY_ORDER}

    desc, _ = _list_all(book, maxResults=3, sortCriteria={"field": "SEVERITY", "sortOrder": "DESC"})
    expected = sorted([*findings, untriaged], key=lambda f: -ranks[f["severity"]])  # stable
    assert desc == _arns(expected)
    asc, _ = _list_all(book, maxResults=3, sortCriteria={"field": "SEVERITY", "sortOrder": "ASC"})
    assert asc == _arns(sorted([*findings, untriaged], key=lambda f: ranks[f["severity"]]))

    # Findings without the sort value (no EPSS score) come last, in both orders.
    no_epss = _finding(50)
    del no_epss["epss"]
    book.put(no_epss)
    for order in ("ASC", "DESC"):
        arns, _ = _list_all(book, sortCriteria={"field": "EPSS_SCORE", "sortOrder": order})
        assert arns[-1] == no_epss["findingArn"]


def test_findings_of_other_regions_are_not_listed() -> None:
    here = _finding(1)
    there = _finding(2, region="eu-west-1")
    book = _book([here, there])
    assert _list_all(book)[0] == [here["findingArn"]]


# -- filters ----------------------------------------------------------------------------------


FINDINGS = [_finding(n) for n in range(24)]


def _selected(criteria: dict[str, Any]) -> list[str]:
    return _list_all(_book(FINDINGS), filterCriteria=criteria)[0]


def test_the_criteria_reconcile_relies_on() -> None:
    def image(f: dict[str, Any]) -> dict[str, Any]:
        return dict(f["resources"][0]["details"]["awsEcrContainerImage"])

    cases: list[tuple[dict[str, Any], Any]] = [
        (_string("resourceType", "EQUALS", "AWS_ECR_CONTAINER_IMAGE"), lambda f: True),
        (_string("resourceType", "EQUALS", "AWS_EC2_INSTANCE"), lambda f: False),
        (
            _string("ecrImageRepositoryName", "EQUALS", "team-a/api"),
            lambda f: image(f)["repositoryName"] == "team-a/api",
        ),
        (
            _string("ecrImageRepositoryName", "PREFIX", "team-a/"),
            lambda f: image(f)["repositoryName"].startswith("team-a/"),
        ),
        (_string("ecrImageRepositoryName", "PREFIX", "api"), lambda f: False),  # not a substring
        (
            _string("ecrImageRepositoryName", "NOT_EQUALS", "tools"),
            lambda f: image(f)["repositoryName"] != "tools",
        ),
        (
            _string("ecrImageHash", "EQUALS", _digest(5)),
            lambda f: image(f)["imageHash"] == _digest(5),
        ),
        (_string("findingStatus", "EQUALS", "CLOSED"), lambda f: f["status"] == "CLOSED"),
        (
            _string("awsAccountId", "EQUALS", ACCOUNTS[1]),
            lambda f: f["awsAccountId"] == ACCOUNTS[1],
        ),
        (_string("findingType", "EQUALS", "PACKAGE_VULNERABILITY"), lambda f: True),
        (_string("severity", "EQUALS", "HIGH"), lambda f: f["severity"] == "HIGH"),
        (
            _string("vulnerabilityId", "EQUALS", "CVE-2024-1007"),
            lambda f: f["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2024-1007",
        ),
        (
            {"updatedAt": [{"startInclusive": (T0 + timedelta(minutes=10)).timestamp()}]},
            lambda f: f["updatedAt"] >= T0 + timedelta(minutes=10),
        ),
        (
            {"updatedAt": [{"endInclusive": (T0 + timedelta(minutes=3)).timestamp()}]},
            lambda f: f["updatedAt"] <= T0 + timedelta(minutes=3),
        ),
    ]
    selecting = 0
    for criteria, wanted in cases:
        expected = _arns([f for f in FINDINGS if wanted(f)])
        assert _selected(criteria) == expected, criteria
        selecting += 0 < len(expected) < len(FINDINGS)
    assert selecting == len(cases) - 4  # all but the all-or-nothing cases split the findings


def test_several_values_of_one_criterion() -> None:
    # EQUALS / PREFIX are joined by OR, NOT_EQUALS by AND; date ranges by OR.
    def repo(f: dict[str, Any]) -> str:
        return str(f["resources"][0]["details"]["awsEcrContainerImage"]["repositoryName"])

    either = {
        "ecrImageRepositoryName": [
            {"comparison": "EQUALS", "value": "tools"},
            {"comparison": "PREFIX", "value": "team-b/"},
        ]
    }
    assert _selected(either) == _arns([f for f in FINDINGS if repo(f) in ("tools", "team-b/api")])
    neither = {
        "ecrImageRepositoryName": [
            {"comparison": "NOT_EQUALS", "value": "tools"},
            {"comparison": "NOT_EQUALS", "value": "team-b/api"},
        ]
    }
    assert _selected(neither) == _arns([f for f in FINDINGS if repo(f).startswith("team-a/")])
    mixed = {
        "ecrImageRepositoryName": [
            {"comparison": "PREFIX", "value": "team-"},
            {"comparison": "NOT_EQUALS", "value": "team-a/web"},
        ]
    }
    assert _selected(mixed) == _arns(
        [f for f in FINDINGS if repo(f) in ("team-a/api", "team-b/api")]
    )
    ranges = {
        "updatedAt": [
            {"endInclusive": (T0 + timedelta(minutes=1)).timestamp()},
            {"startInclusive": (T0 + timedelta(minutes=22)).timestamp()},
        ]
    }
    assert _selected(ranges) == _arns([FINDINGS[n] for n in (0, 1, 22, 23)])


def test_tags_match_when_any_tag_does() -> None:
    tagged = _finding(1, tags=["v1", "latest"])
    untagged = _finding(2, tags=[])
    book = _book([tagged, untagged])
    select = lambda c, v: _list_all(book, filterCriteria=_string("ecrImageTags", c, v))[0]  # noqa: E731
    assert select("EQUALS", "latest") == [tagged["findingArn"]]
    assert select("PREFIX", "v") == [tagged["findingArn"]]
    assert select("NOT_EQUALS", "latest") == [untagged["findingArn"]]


@given(
    name=st.sampled_from(
        ["ecrImageRepositoryName", "severity", "findingStatus", "awsAccountId", "vulnerabilityId"]
    ),
    pick=st.integers(0, len(FINDINGS) - 1),
)
def test_not_equals_selects_the_complement_of_equals(name: str, pick: int) -> None:
    kind, read = inspector2.CRITERIA[name]
    value = read(to_wire(FINDINGS[pick], shape("inspector2", "Finding")))[0]
    equal = set(_selected(_string(name, "EQUALS", value)))
    other = set(_selected(_string(name, "NOT_EQUALS", value)))
    assert equal and not equal & other
    assert equal | other == set(_arns(FINDINGS))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    page=st.integers(1, 100),
    sort=st.none()
    | st.tuples(st.sampled_from(sorted(inspector2.SORT_FIELDS)), st.sampled_from(["ASC", "DESC"])),
    prefix=st.none() | st.sampled_from(["team-", "team-a/", "tools", "x"]),
    status=st.none() | st.sampled_from(STATUSES),
)
def test_every_matching_finding_is_listed_once_in_order(
    n: int, page: int, sort: tuple[str, str] | None, prefix: str | None, status: str | None
) -> None:
    findings = [_finding(i) for i in range(n)]
    book = _book(findings)
    criteria: dict[str, Any] = {}
    if prefix is not None:
        criteria.update(_string("ecrImageRepositoryName", "PREFIX", prefix))
    if status is not None:
        criteria.update(_string("findingStatus", "EQUALS", status))
    params: dict[str, Any] = {"maxResults": page, "filterCriteria": criteria}
    if sort:
        params["sortCriteria"] = {"field": sort[0], "sortOrder": sort[1]}

    arns, sizes = _list_all(book, **params)

    wanted = [
        f for f in book.all() if inspector2.matches(f, inspector2.list_request(params).criteria)
    ]
    assert sorted(arns) == sorted(_arns(wanted)) and len(set(arns)) == len(arns)
    assert all(size == page for size in sizes[:-1]) and sizes[-1] <= page
    if sort:
        read = inspector2.SORT_FIELDS[sort[0]]
        values = [(read(f) or [None])[0] for f in (book.get(a) for a in arns) if f]
        present = [v for v in values if v is not None]
        assert present == sorted(present, reverse=sort[1] == "DESC")
        assert values == present + [None] * (len(values) - len(present))  # missing ones last


@pytest.mark.parametrize(
    ("criteria", "problem"),
    [
        ({"noSuchThing": [{"comparison": "EQUALS", "value": "x"}]}, "unknown criterion"),
        ({"lambdaFunctionName": [{"comparison": "EQUALS", "value": "x"}]}, "does not evaluate"),
        ({"severity": [{"comparison": "CONTAINS", "value": "x"}]}, "enum value set"),
        ({"severity": [{"comparison": "EQUALS", "value": ""}]}, "length between 1 and 1024"),
        ({"severity": []}, "length between 1 and 10"),
        ({"severity": [{"comparison": "EQUALS", "value": "x"}] * 11}, "length between 1 and 10"),
        ({"updatedAt": [{"startInclusive": "yesterday"}]}, "expected a number"),
    ],
)
def test_invalid_criteria_are_refused(criteria: dict[str, Any], problem: str) -> None:
    with pytest.raises(ApiError, match=problem) as exc:
        inspector2.list_request({"filterCriteria": criteria})
    assert exc.value.code == "ValidationException"


def test_criteria_kinds_agree_with_the_model() -> None:
    filter_shapes = {
        "string": "StringFilterList",
        "date": "DateFilterList",
        "number": "NumberFilterList",
    }
    members = shape("inspector2", "FilterCriteria").members
    for name, (kind, _read) in inspector2.CRITERIA.items():
        assert members[name].name == filter_shapes[kind], name
    assert set(inspector2.SORT_FIELDS) == set(shape("inspector2", "SortField").enum)


# -- one finding, two wire forms --------------------------------------------------------------


@pytest.mark.parametrize("time_format", ["java", "us", "iso"])
def test_the_event_is_rendered_from_the_stored_finding(time_format: str) -> None:
    book = inspector2.FindingBook()
    inspector = Inspector(book, time_format=time_format)
    updated = datetime(2026, 3, 1, 12, 0, 5, 411000, tzinfo=UTC)
    seeded = inspector.seed(_finding(3, tags=["v3"], updated_at=updated))

    detail = seeded.event["detail"]
    assert set(detail) == set(seeded.finding)
    assert isinstance(seeded.finding["updatedAt"], float)  # ListFindings: epoch seconds
    assert isinstance(detail["updatedAt"], str)  # the event: Inspector's text
    assert detail["packageVulnerabilityDetails"] == seeded.finding["packageVulnerabilityDetails"]
    precision = 1000 if time_format == "us" else 1  # "Dec 3, 2021, 6:02:30 PM": whole seconds
    expected_ms = int(updated.timestamp() * 1000) // precision * precision
    assert parse_finding_time(detail["updatedAt"]) == expected_ms

    decoded = decode(__import__("orjson").dumps(seeded.event))
    assert isinstance(decoded, FindingEvent)
    assert (decoded.finding_arn, decoded.status, decoded.repository, decoded.tags) == (
        seeded.arn,
        seeded.finding["status"],
        REPOSITORIES[3],
        ("v3",),
    )
    assert decoded.updated_at_ms == expected_ms
    assert decoded.timestamp_ms > decoded.updated_at_ms  # sent after the change


def test_changes_update_the_one_record_and_its_events() -> None:
    book = inspector2.FindingBook()
    inspector = Inspector(book)
    seeded = inspector.seed(_finding(0, status="ACTIVE"))
    later = T0 + timedelta(days=1)

    closed = inspector.close(seeded.arn, updated_at=later)

    assert book.get(seeded.arn) == closed.finding
    assert closed.finding["status"] == "CLOSED" and closed.event["detail"]["status"] == "CLOSED"
    assert closed.finding["updatedAt"] == later.timestamp() == closed.finding["lastObservedAt"]
    assert closed.finding["firstObservedAt"] == seeded.finding["firstObservedAt"]
    assert closed.event["id"] != seeded.event["id"]
    assert len(book.all()) == 1
    inspector.remove(seeded.arn)
    assert book.all() == []
    with pytest.raises(KeyError):
        inspector.update(seeded.arn)


def test_a_finding_outside_the_model_is_refused() -> None:
    with pytest.raises(ValueError, match="no member"):
        inspector2.finding_wire({**_finding(0), "score": 1.0})
    incomplete = _finding(0)
    del incomplete["remediation"]
    with pytest.raises(ValueError, match="remediation"):
        inspector2.finding_wire(incomplete)
    with pytest.raises(ValueError, match="not an Inspector finding ARN"):
        inspector2.finding_wire({**_finding(0), "findingArn": "finding-1"})


def test_the_same_finding_in_ecrs_scan_findings() -> None:
    wire = inspector2.finding_wire(_finding(4))
    scan = as_scan_finding(wire)
    checked = to_wire(scan, shape("ecr", "EnhancedImageScanFinding"))
    assert checked["findingArn"] == wire["findingArn"]
    assert checked["updatedAt"] == wire["updatedAt"] and checked["score"] == wire["inspectorScore"]
    assert finding_event(wire)["resources"] == [wire["resources"][0]["id"]]


@settings(max_examples=80, deadline=None)
@given(
    repository=st.sampled_from(("tools", "team/web", "platform/base/api")),
    tags=st.lists(st.sampled_from(("v1", "v1.4.2", "latest")), max_size=2, unique=True),
    status=st.sampled_from(STATUSES),
    severity=st.sampled_from(SEVERITIES),
    updated_ms=st.integers(min_value=946_684_800_000, max_value=4_102_444_799_999),
    first_back_ms=st.integers(min_value=0, max_value=10**10),
    time_format=st.sampled_from(("java", "us", "iso")),
    resource_region=st.sampled_from((None, "N/A")),
)
def test_the_keyword_builders_event_is_the_stored_finding_rendered(
    repository: str,
    tags: list[str],
    status: str,
    severity: str,
    updated_ms: int,
    first_back_ms: int,
    time_format: str,
    resource_region: str | None,
) -> None:
    """``registry.finding_event`` builds nothing of its own: its detail is the record
    ``image_finding`` gives for the same keywords, the one ListFindings answers with."""
    updated = datetime.fromtimestamp(updated_ms / 1000, UTC)
    first = updated - timedelta(milliseconds=first_back_ms)
    common: dict[str, Any] = {
        "repository": repository,
        "digest": _digest(updated_ms),
        "tags": tags,
        "status": status,
        "severity": severity,
        "first_observed_at": first,
        "resource_region": resource_region,
    }
    event = registry.finding_event(**common, updated_at=updated, time_format=time_format)
    listed = inspector2.finding_wire(image_finding(**common, updated_at=updated))

    assert event["detail"] == event_detail(listed, time_format)
    assert event["resources"] == [listed["resources"][0]["id"]]
    assert event["time"] == updated.strftime("%Y-%m-%dT%H:%M:%SZ")  # sent when it changed
    decoded = decode(__import__("orjson").dumps(event))
    assert isinstance(decoded, FindingEvent)
    precision = 1000 if time_format == "us" else 1
    assert (decoded.finding_arn, decoded.status, decoded.repository, decoded.tags) == (
        listed["findingArn"],
        status,
        repository,
        tuple(tags),
    )
    assert decoded.updated_at_ms == updated_ms // precision * precision
    image = event["detail"]["resources"][0]["details"]["awsEcrContainerImage"]
    first_ms = updated_ms - first_back_ms
    assert parse_finding_time(image["pushedAt"]) == first_ms // precision * precision


def test_the_keyword_builders_event_is_in_its_findings_region() -> None:
    arn = "arn:aws:inspector2:eu-west-1:111122223333:finding/0f3c6a8e2d1b4a5c9e7f"
    event = registry.finding_event(repository="a/b", digest=_digest(1), finding_arn=arn)
    assert (event["region"], event["detail"]["findingArn"]) == ("eu-west-1", arn)
    with pytest.raises(ValueError, match="not an Inspector finding ARN"):
        registry.finding_event(repository="a/b", digest=_digest(1), finding_arn="finding-1")
