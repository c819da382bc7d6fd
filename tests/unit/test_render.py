"""Findings → JSON log messages: fields kept as returned, context added, always inside the limit."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import limits
from pipeline.events import ImageScan
from pipeline.render import Renderer, context_key, image_context

MARKER = re.compile(r"(?P<kept>.*)…\[truncated (?P<n>\d+) bytes\]", re.DOTALL)
LIST_MARKER = re.compile(r"…\[(?P<n>\d+) items truncated\]")
MB = 1024 * 1024

BASIC_FINDING: dict[str, Any] = {
    "name": "CVE-2024-0001",
    "description": "An out-of-bounds read in the example parser allows a crafted file to crash it.",
    "uri": "https://security-tracker.example.org/tracker/CVE-2024-0001",
    "severity": "MEDIUM",
    "attributes": [
        {"key": "package_version", "value": "1.2.3-1"},
        {"key": "package_name", "value": "libexample"},
        {"key": "CVSS2_VECTOR", "value": "AV:N/AC:L/Au:N/C:N/I:N/A:P"},
        {"key": "CVSS2_SCORE", "value": "5"},
    ],
}


def render(renderer: Renderer, finding: dict[str, Any]) -> dict[str, Any]:
    message = renderer.finding(finding)
    assert message.size == len(message.text.encode("utf-8"))
    parsed = json.loads(message.text)
    assert isinstance(parsed, dict)
    return parsed


def split_marker(text: str) -> tuple[str, int]:
    match = MARKER.fullmatch(text)
    assert match, f"no truncation marker at the end of {text[-60:]!r}"
    return match["kept"], int(match["n"])


def test_image_context(scan: ImageScan) -> None:
    assert image_context(scan, account="210987654321", region="eu-west-1") == {
        "account": "210987654321",
        "region": "eu-west-1",
        "repository": "my-repository-name",
        "imageDigest": "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
        "imageTags": [],
        "scanTime": "2019-10-29T02:36:48Z",
        "scanKind": "basic",
    }


def test_finding_fields_stay_at_top_level_with_the_context_added(context: dict[str, Any]) -> None:
    message = Renderer(context).finding(BASIC_FINDING)
    parsed = json.loads(message.text)
    assert list(parsed) == [*BASIC_FINDING, "imageContext"]
    assert {k: v for k, v in parsed.items() if k != "imageContext"} == BASIC_FINDING
    assert parsed["imageContext"] == context
    assert message.size == len(message.text.encode("utf-8"))


def test_an_empty_finding_still_gets_the_context(context: dict[str, Any]) -> None:
    assert render(Renderer(context), {}) == {"imageContext": context}


def test_a_finding_with_its_own_image_context_is_not_clobbered(context: dict[str, Any]) -> None:
    finding = {"name": "CVE-2024-0002", "imageContext": {"theirs": True}}
    parsed = render(Renderer(context), finding)
    assert parsed["imageContext"] == {"theirs": True}
    assert parsed["_imageContext"] == context
    assert parsed["name"] == "CVE-2024-0002"


def test_context_key_steps_around_existing_keys() -> None:
    assert context_key({}) == "imageContext"
    assert context_key({"imageContext": 1}) == "_imageContext"
    assert context_key({"imageContext": 1, "_imageContext": 2}) == "__imageContext"


def test_size_is_utf8_bytes(context: dict[str, Any]) -> None:
    finding = {
        "title": "d\u00e9passement de m\u00e9moire \u65e5\u672c \U0001f600",
        "severity": "LOW",
    }
    message = Renderer(context).finding(finding)
    assert message.size == len(message.text.encode("utf-8")) > len(message.text)
    assert json.loads(message.text)["title"] == finding["title"]


def test_datetimes_are_serialised_as_iso_8601(context: dict[str, Any]) -> None:
    observed = datetime(2024, 5, 1, 12, 30, 5, 123456, tzinfo=UTC)
    finding = {
        "findingArn": "arn:aws:inspector2:us-east-2:123456789012:finding/0123456789abcdef",
        "firstObservedAt": observed,
        "score": 7.5,
        "packageVulnerabilityDetails": {"vendorCreatedAt": observed},
    }
    parsed = render(Renderer(context), finding)
    assert parsed["firstObservedAt"] == "2024-05-01T12:30:05.123456+00:00"
    assert datetime.fromisoformat(parsed["firstObservedAt"]) == observed
    assert parsed["packageVulnerabilityDetails"]["vendorCreatedAt"] == observed.isoformat()
    assert parsed["score"] == 7.5


def test_the_summary_carries_the_counts_and_context(context: dict[str, Any]) -> None:
    summary = Renderer(context).summary({"findingSeverityCounts": {"CRITICAL": 10, "MEDIUM": 9}})
    parsed = json.loads(summary.text)
    assert parsed == {
        "findingSeverityCounts": {"CRITICAL": 10, "MEDIUM": 9},
        "imageContext": context,
    }
    assert summary.size == len(summary.text.encode("utf-8"))


def test_a_message_exactly_at_the_limit_is_left_whole(context: dict[str, Any]) -> None:
    finding = {**BASIC_FINDING, "description": "d" * 1_000}
    exact = len(Renderer(context).finding(finding).text.encode("utf-8"))
    assert Renderer(context, max_bytes=exact).finding(finding).size == exact
    cut = Renderer(context, max_bytes=exact - 1).finding(finding)
    assert cut.size <= exact - 1
    assert split_marker(json.loads(cut.text)["description"])[1] > 0


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("A" * (3 * MB), id="ascii-3MB"),
        pytest.param(
            ("\u65e5\u672c\u8a9e\u00e9" + "\U0001f600") * (3 * MB // 13), id="multibyte-3MB"
        ),
        pytest.param('"\\\n' * (200 * 1024), id="escaped-600KB"),
    ],
)
def test_a_huge_description_is_cut_with_a_marker(context: dict[str, Any], description: str) -> None:
    finding = {**BASIC_FINDING, "description": description}
    original = copy.deepcopy(finding)
    message = Renderer(context).finding(finding)

    assert message.size <= limits.MAX_MESSAGE_BYTES
    assert message.size == len(message.text.encode("utf-8"))
    parsed = json.loads(message.text)
    kept, n = split_marker(parsed["description"])
    assert "\ufffd" not in kept
    assert description.encode("utf-8").startswith(kept.encode("utf-8"))
    assert n == len(description.encode("utf-8")) - len(kept.encode("utf-8"))
    assert len(message.text.encode("utf-8")) > limits.MAX_MESSAGE_BYTES // 2  # room was used
    assert {k: v for k, v in parsed.items() if k not in ("description", "imageContext")} == {
        k: v for k, v in BASIC_FINDING.items() if k != "description"
    }
    assert parsed["imageContext"] == context
    assert finding == original


def test_multibyte_text_is_cut_on_a_character_boundary(context: dict[str, Any]) -> None:
    # Every character is 4 bytes: a byte-wise cut lands inside one unless it is careful.
    description = "\U0001f600" * 2_000
    parsed = render(Renderer(context, max_bytes=2_000), {"description": description})
    kept, n = split_marker(parsed["description"])
    assert kept and set(kept) == {"\U0001f600"}
    assert n == 4 * (2_000 - len(kept))


def test_thousands_of_short_strings_shorten_the_list(context: dict[str, Any]) -> None:
    items = [f"pkg-{i:06d}" for i in range(150_000)]  # ~2 MB, no string worth cutting
    finding = {"name": "CVE-2024-0003", "severity": "LOW", "attributes": items}
    message = Renderer(context).finding(finding)

    assert message.size <= limits.MAX_MESSAGE_BYTES
    parsed = json.loads(message.text)
    *kept, marker = parsed["attributes"]
    assert LIST_MARKER.fullmatch(marker)
    assert kept and kept == items[: len(kept)]
    assert parsed["name"] == "CVE-2024-0003" and parsed["severity"] == "LOW"


# ---- properties ------------------------------------------------------------------------------

KEYS = st.one_of(st.text(max_size=8), st.sampled_from(["imageContext", "_imageContext"]))
# Long strings repeat a random chunk: cheap to draw, yet any character can appear.
LONG_TEXT = st.builds(
    lambda chunk, times: chunk * times, st.text(min_size=1, max_size=16), st.integers(30, 400)
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),  # orjson's integer range
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    LONG_TEXT,
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=60), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=12,
)
FINDINGS = st.dictionaries(KEYS, JSON_VALUES, max_size=6)
SMALL_LIMIT = 3_000


@settings(max_examples=200, deadline=None)
@given(finding=FINDINGS)
def test_any_json_finding_renders_to_valid_json_inside_the_limit(finding: dict[str, Any]) -> None:
    ctx = {
        "account": "123456789012",
        "region": "us-east-1",
        "repository": "team/app",
        "imageDigest": "sha256:" + "ab" * 32,
        "imageTags": ["v1"],
        "scanTime": "2019-10-29T02:36:48Z",
        "scanKind": "basic",
    }
    full = orjson.dumps({**finding, context_key(finding): ctx})  # before truncate() edits it
    message = Renderer(ctx, max_bytes=SMALL_LIMIT).finding(finding)

    assert message.size <= SMALL_LIMIT
    assert message.size == len(message.text.encode("utf-8"))
    parsed = json.loads(message.text)
    key = context_key(finding)
    assert set(parsed) == {*finding, key}  # no field dropped
    assert isinstance(parsed[key], dict) and set(parsed[key]) == set(ctx)
    if len(full) <= SMALL_LIMIT:
        assert parsed == json.loads(full)  # nothing to cut: rendered exactly


# ---- truncation never harms the context, the caller's data, or the count of what was cut ----


def test_truncation_leaves_the_image_context_alone(context: dict[str, Any]) -> None:
    finding = {"name": "CVE-2024-0003", "attributes": [f"pkg-{i:04d}" for i in range(2_000)]}
    parsed = render(Renderer(context, max_bytes=5_000), finding)
    assert parsed["imageContext"] == context


def test_one_truncated_finding_does_not_change_later_messages(context: dict[str, Any]) -> None:
    renderer = Renderer(context, max_bytes=5_000)
    renderer.finding({"name": "CVE-2024-0003", "attributes": [f"p{i:04d}" for i in range(2_000)]})
    summary = json.loads(renderer.summary({"findingSeverityCounts": {"LOW": 1}}).text)
    assert summary["imageContext"]["imageDigest"] == context["imageDigest"]


def test_rendering_does_not_change_the_callers_finding(context: dict[str, Any]) -> None:
    finding: dict[str, Any] = {"name": "CVE-2024-0004", "details": {"description": "y" * 10_000}}
    Renderer(context, max_bytes=5_000).finding(finding)
    assert len(finding["details"]["description"]) == 10_000


def test_the_list_marker_counts_every_dropped_item() -> None:
    ctx = {"repository": "r"}  # no context string long enough to be cut first
    items = [f"i{i:05d}" for i in range(2_000)]
    parsed = render(Renderer(ctx, max_bytes=3_000), {"items": items})
    *kept, marker = parsed["items"]
    match = LIST_MARKER.fullmatch(marker)
    assert match and len(kept) + int(match["n"]) == len(items)


@pytest.mark.parametrize(
    "finding",
    [
        pytest.param({f"k{i:04d}": i for i in range(1_000)}, id="many-members"),
        pytest.param({"k" * 6_000: 1}, id="long-key"),
    ],
)
def test_a_finding_wide_in_keys_is_still_logged(
    context: dict[str, Any], finding: dict[str, Any]
) -> None:
    message = Renderer(context, max_bytes=5_000).finding(finding)
    assert message.size <= 5_000
