"""``search``: a CVE found across repositories (basic and enhanced findings), nothing for an
absent one; the findings are logged by the real handler first."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import Result

from localaws import LocalAws, registry

from .support import (
    MEMBER_ACCOUNT,
    Queues,
    SeededImage,
    enqueue_scan_events,
    member_credentials,
    seed_images,
)

CVE = "CVE-2024-2961"
# A longer id that contains CVE: a substring match would wrongly report it.
CVE_LONGER = "CVE-2024-29610"


@pytest.fixture
def logged(
    aws: LocalAws,
    aws_client: Callable[..., Any],
    sqs: Any,
    queues: Queues,
    handler_env: Callable[[Any], Any],
) -> list[SeededImage]:
    images = seed_images(
        aws,
        aws_client("ecr"),
        [
            SeededImage("web/storefront", "v2", findings=30, cves=[CVE]),
            SeededImage("web/storefront", None, findings=10, cves=[CVE]),
            SeededImage("payments-api", "1.8.3", kind="enhanced", findings=20, cves=[CVE]),
            SeededImage("data/etl/spark", "3.5", findings=40, cves=[CVE_LONGER]),
            SeededImage("tools/shell", "latest", findings=5),
        ],
    )
    enqueue_scan_events(sqs, queues.url, images)
    stats = handler_env(sqs)
    assert (stats.deleted, stats.failed) == (5, 0)
    return images


def _search(cli: Callable[..., Result], *args: str) -> dict[str, Any]:
    result = cli("search", *args, "--rate", "100", "--json")  # pacing is not under test here
    assert result.exit_code == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _images_with(images: list[SeededImage], cve: str) -> set[tuple[str, str]]:
    return {(i.repository, i.digest) for i in images if cve in i.cves}


@pytest.mark.parametrize("engine", ["filter", "insights"])
def test_finds_a_cve_in_several_repositories(
    cli: Callable[..., Result], logged: list[SeededImage], engine: str
) -> None:
    found = _search(cli, CVE, "--engine", engine)

    assert found["log_groups_searched"] == 4
    assert {(h["repository"], h["image_digest"]) for h in found["hits"]} == _images_with(
        logged, CVE
    )
    assert (found["images"], found["repositories"]) == (3, 2)
    by_repository = {(h["repository"], h["tag"]): h for h in found["hits"]}
    assert set(by_repository) == {
        ("web/storefront", "v2"),
        ("web/storefront", "untagged"),
        ("payments-api", "1.8.3"),
    }
    enhanced = by_repository[("payments-api", "1.8.3")]
    assert enhanced["scan_kind"] == "enhanced"
    basic = by_repository[("web/storefront", "v2")]
    assert basic["scan_kind"] == "basic"
    for hit in found["hits"]:
        assert hit["severity"] in {
            "CRITICAL",
            "HIGH",
            "MEDIUM",
            "LOW",
            "INFORMATIONAL",
            "UNDEFINED",
            "UNTRIAGED",
        }
        assert hit["package"] != "-"  # package name and version, from either finding shape
        assert hit["scan_time"].endswith("Z")


def test_an_absent_cve_finds_nothing(cli: Callable[..., Result], logged: list[SeededImage]) -> None:
    assert _search(cli, "CVE-1999-0001")["hits"] == []

    result = cli("search", "CVE-1999-0001")
    assert result.exit_code == 0, result.stderr
    assert "No image has CVE-1999-0001 in 4 log groups" in result.stdout


def test_ids_match_exactly_and_case_is_normalised(
    cli: Callable[..., Result], logged: list[SeededImage]
) -> None:
    longer = _search(cli, CVE_LONGER.lower())

    assert longer["vulnerability_id"] == CVE_LONGER
    assert {h["repository"] for h in longer["hits"]} == {"data/etl/spark"}


def test_table_output(cli: Callable[..., Result], logged: list[SeededImage]) -> None:
    result = cli("search", CVE, "--concurrency", "2", "--rate", "50")

    assert result.exit_code == 0, result.stderr
    for text in ("web/storefront", "payments-api", "untagged", "Severity", "Package"):
        assert text in result.stdout
    assert f"{CVE}: 3 images in 2 repositories (4 log groups searched)." in result.stdout


def test_since_and_prefix_narrow_the_search(
    cli: Callable[..., Result], logged: list[SeededImage]
) -> None:
    recent = _search(cli, CVE, "--since", "2024-01-01")
    future = _search(cli, CVE, "--since", "2999-01-01T00:00Z")
    narrowed = _search(cli, CVE, "--log-group-prefix", "/aws/ecr/image-scan-findings/web/")

    assert recent["images"] == 3
    assert future["hits"] == []
    assert narrowed["log_groups_searched"] == 1
    assert {h["repository"] for h in narrowed["hits"]} == {"web/storefront"}


def test_no_log_groups_at_all(cli: Callable[..., Result], aws: LocalAws) -> None:
    found = _search(cli, CVE)

    assert (found["log_groups_searched"], found["hits"]) == (0, [])


def test_one_repository_name_in_two_accounts_is_two_images(
    cli: Callable[..., Result],
    aws: LocalAws,
    aws_client: Callable[..., Any],
    sqs: Any,
    queues: Queues,
    handler_env: Callable[[Any], Any],
    logged: list[SeededImage],
) -> None:
    # Organisation-wide: a member account's "web/storefront" is logged into the same group.
    member_ecr = aws_client("ecr", **member_credentials(aws_client("sts")))
    [theirs] = seed_images(
        aws,
        member_ecr,
        [SeededImage("web/storefront", "v2", findings=8, cves=[CVE])],
        registry_id=MEMBER_ACCOUNT,
    )
    enqueue_scan_events(sqs, queues.url, [theirs], account=MEMBER_ACCOUNT)
    assert handler_env(sqs).deleted == 1

    found = _search(cli, CVE)
    table = cli("search", CVE, "--rate", "100")

    assert (found["images"], found["repositories"]) == (4, 3)
    accounts = {(h["account"], h["repository"], h["tag"]) for h in found["hits"]}
    assert (MEMBER_ACCOUNT, "web/storefront", "v2") in accounts
    assert (registry.DEFAULT_ACCOUNT, "web/storefront", "v2") in accounts
    assert table.exit_code == 0, table.stderr
    assert "Account" in table.stdout and MEMBER_ACCOUNT in table.stdout
    assert "of 2 accounts" in table.stdout
