"""The rule book on its own (no server): what both front ends answer from."""

from __future__ import annotations

import pytest

from localaws.findings import basic_findings, enhanced_findings
from localaws.rules import ecr, logs
from localaws.rules.errors import ApiError
from localaws.rules.faults import Fault, FaultBook
from pipeline import limits

NOW = 1_800_000_000_000
HOUR_MS = 60 * 60 * 1000
DIGEST = "sha256:" + "ab" * 32


def _request(**params: object) -> ecr.FindingsRequest:
    return ecr.findings_request(
        {"repositoryName": "app", "imageId": {"imageDigest": DIGEST}, **params}, "123456789012"
    )


def _pages(book: ecr.ScanBook, scan: ecr.SeededScan, **params: object) -> list[int]:
    sizes, token = [], None
    while True:
        request = _request(**params, **({"nextToken": token} if token else {}))
        page = ecr.findings_page(
            request, registry_id="123456789012", digest=DIGEST, scan=scan, scans=book
        )
        body = page["imageScanFindings"]
        sizes.append(len(body.get("findings", body.get("enhancedFindings", []))))
        token = page.get("nextToken")
        if token is None:
            return sizes


def test_basic_pages_follow_max_results_and_enhanced_pages_are_100() -> None:
    book = ecr.ScanBook()
    basic = book.seed("app", DIGEST, basic_findings(250, seed=1))
    assert _pages(book, basic) == [100, 100, 50]
    assert _pages(book, basic, maxResults=1000) == [250]
    enhanced = book.seed(
        "app",
        DIGEST,
        enhanced_findings(230, seed=2, repository="app", digest=DIGEST),
        kind="enhanced",
    )
    for max_results in (1, 10, 100, 1000):
        assert _pages(book, enhanced, maxResults=max_results) == [100, 100, 30]


def test_statuses_and_their_descriptions() -> None:
    book = ecr.ScanBook()
    assert book.seed("app", DIGEST, []).status == "COMPLETE"
    assert book.seed("app", DIGEST, [], kind="enhanced").status == "ACTIVE"
    for status, text in ecr.STATUS_DESCRIPTIONS.items():
        assert book.seed("app", DIGEST, [], status=status).description == text
    odd = book.seed("app", DIGEST, [], status="LIMIT_EXCEEDED")
    assert odd.description == "Scan status LIMIT_EXCEEDED."


def test_an_unreadable_scan_has_a_status_and_no_findings() -> None:
    book = ecr.ScanBook()
    scan = book.seed("app", DIGEST, basic_findings(3, seed=3), status="IN_PROGRESS")
    page = ecr.findings_page(_request(), registry_id="1", digest=DIGEST, scan=scan, scans=book)
    assert page["imageScanStatus"] == {
        "status": "IN_PROGRESS",
        "description": "The image scan is in progress.",
    }
    assert "imageScanFindings" not in page
    assert "imageScanFindingsSummary" not in ecr.scan_summary(scan)


@pytest.mark.parametrize("max_results", [0, 1001, True, "10"])
def test_max_results_out_of_range(max_results: object) -> None:
    with pytest.raises(ApiError) as exc:
        _request(maxResults=max_results)
    assert exc.value.code == "InvalidParameterException"
    assert "between 1 and 1000" in exc.value.message


def test_images_are_found_by_digest_tag_or_both() -> None:
    images = [("sha256:1", ("v1", "latest")), ("sha256:2", ())]
    assert ecr.find_image(images, {"imageTag": "latest"}) == "sha256:1"
    assert ecr.find_image(images, {"imageDigest": "sha256:2"}) == "sha256:2"
    assert ecr.find_image(images, {"imageDigest": "sha256:2", "imageTag": "v1"}) is None
    assert ecr.image_not_found({"imageTag": "v9"}, "app", "1").message == (
        "The image with imageId {imageDigest:'null', imageTag:'v9'} does not exist within the "
        "repository with name 'app' in the registry with id '1'"
    )


def test_no_scan_is_scan_not_found() -> None:
    with pytest.raises(ApiError) as exc:
        ecr.findings_page(
            _request(), registry_id="1", digest=DIGEST, scan=None, scans=ecr.ScanBook()
        )
    assert exc.value.code == "ScanNotFoundException"


def _events(*stamps: int, message: str = "m") -> list[dict[str, object]]:
    return [{"timestamp": t, "message": message} for t in stamps]


@pytest.mark.parametrize(
    ("events", "words"),
    [
        ([], "at least one log event"),
        ([{"message": "m"}], "integer timestamp"),
        (_events(NOW, message=""), "at least one character"),
        ([{"timestamp": NOW}], "at least one character"),
        (_events(*[NOW] * 10_001), "10001 log events"),
        (_events(NOW, message="x" * (limits.MAX_MESSAGE_BYTES + 1)), "1048577 bytes"),
        (_events(NOW, NOW - 1), "chronological order"),
        (_events(NOW - 24 * HOUR_MS - 1, NOW), "24 hours"),
    ],
    ids=["empty", "no-timestamp", "empty-message", "no-message", "count", "bytes", "order", "span"],
)
def test_batch_problems(events: list[dict[str, object]], words: str) -> None:
    problem = logs.batch_problem(events)
    assert problem is not None and words in problem


def test_the_limits_themselves_are_legal() -> None:
    assert logs.batch_problem(_events(NOW, message="x" * limits.MAX_MESSAGE_BYTES)) is None
    assert logs.batch_problem(_events(*[NOW] * 10_000)) is None
    assert logs.batch_problem(_events(NOW - 24 * HOUR_MS, NOW)) is None


def test_rejected_timestamps_are_reported_as_the_api_does() -> None:
    old, future = NOW - limits.MAX_AGE_MS, NOW + limits.MAX_FUTURE_MS
    split = logs.split_by_age(
        _events(old - 2, old - 1, NOW - 2 * 24 * HOUR_MS, NOW, future + 1, future + 2),
        NOW,
        retention_days=1,
    )
    assert split.rejected_info == {
        "tooOldLogEventEndIndex": 2,
        "expiredLogEventEndIndex": 3,
        "tooNewLogEventStartIndex": 4,
    }
    assert [e["timestamp"] for e in split.kept] == [NOW]


def test_names() -> None:
    assert logs.group_name_problem("/aws/ecr/ok_name-1.#") is None
    assert logs.group_name_problem("/bad:name") is not None
    assert logs.group_name_problem("/" + "g" * 512) is not None
    assert logs.stream_name_problem("s" * 512) is None
    assert logs.stream_name_problem("HIGH*v1") is not None


def test_faults_are_taken_call_by_call() -> None:
    book = FaultBook()
    book.add(Fault("PutLogEvents", "ThrottlingException", 400, "Rate exceeded", times=2, after=1))
    taken = [book.take("PutLogEvents") for _ in range(4)]
    assert [f is not None for f in taken] == [False, True, True, False]
    assert book.take("CreateLogGroup") is None
    with pytest.raises(ValueError):
        book.add(Fault("X", "Y", 200, "not an error", times=1, after=0))
