"""Log group and stream names: the AWS sample's layout, inside CloudWatch's naming rules."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import layout, limits

PREFIX = "/aws/ecr/image-scan-findings/"
DIGEST = "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"
HEX = DIGEST.removeprefix("sha256:")
TIME = "2019-10-29T02:36:48Z"
KINDS = [*layout.SEVERITY_ORDER, layout.SUMMARY]
ECR_TAG_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"


def test_the_aws_sample_layout() -> None:
    tag = layout.first_tag([])
    assert layout.log_group_name(PREFIX, "my-repository-name") == (
        "/aws/ecr/image-scan-findings/my-repository-name"
    )
    assert layout.stream_name("CRITICAL", tag, DIGEST, TIME) == (
        f"CRITICAL-untagged-{HEX}-2019-10-29T02-36-48Z"
    )
    assert layout.stream_name(layout.SUMMARY, tag, DIGEST, TIME) == (
        f"SUMMARY-untagged-{HEX}-2019-10-29T02-36-48Z"
    )


def test_untagged_image_and_first_tag() -> None:
    assert layout.first_tag(()) == "untagged"
    assert layout.first_tag([]) == "untagged"
    assert layout.first_tag(("v1.2", "latest")) == "v1.2"


def test_slashes_in_the_repository_name_stay_in_the_group() -> None:
    assert layout.log_group_name(PREFIX, "team/app/api") == (
        "/aws/ecr/image-scan-findings/team/app/api"
    )
    assert re.fullmatch(limits.LOG_GROUP_NAME_PATTERN, PREFIX + "team/app/api")


def test_a_group_name_past_512_characters_is_refused() -> None:
    assert len(layout.log_group_name("/p/", "r" * 509)) == 512
    with pytest.raises(ValueError, match="log group name longer than 512"):
        layout.log_group_name("/p/", "r" * 510)


def test_digest_hex_drops_the_algorithm() -> None:
    assert layout.digest_hex(DIGEST) == HEX
    assert layout.digest_hex(HEX) == HEX


def test_colons_in_the_time_become_dashes() -> None:
    assert layout.stream_time("2019-10-29T02:36:48Z") == "2019-10-29T02-36-48Z"
    assert layout.stream_time("2021-12-03T18:03:16.5+02:00") == "2021-12-03T18-03-16.5+02-00"


@pytest.mark.parametrize("length", [300, 512, 1_000])
def test_a_long_tag_keeps_the_name_short_and_unique(length: int) -> None:
    tag_a, tag_b = "t" * (length - 1) + "a", "t" * (length - 1) + "b"
    name_a = layout.stream_name("INFORMATIONAL", tag_a, DIGEST, TIME)
    name_b = layout.stream_name("INFORMATIONAL", tag_b, DIGEST, TIME)
    assert len(name_a) <= 512 and len(name_b) <= 512
    assert name_a != name_b
    for name in (name_a, name_b):
        assert name.startswith("INFORMATIONAL-tttt")
        assert name.endswith(f"-{HEX}-2019-10-29T02-36-48Z")


def test_a_300_character_tag_is_kept_whole() -> None:
    # ECR tags are at most 300 characters: such a name fits without shortening.
    tag = "v" * 300
    assert layout.stream_name("HIGH", tag, DIGEST, TIME) == (
        f"HIGH-{tag}-{HEX}-2019-10-29T02-36-48Z"
    )


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    tag=st.text(max_size=700),
    time=st.text(max_size=40),
)
def test_stream_names_obey_cloudwatch_rules(kind: str, tag: str, time: str) -> None:
    name = layout.stream_name(kind, tag, DIGEST, time)
    assert len(name) <= limits.LOG_STREAM_NAME_MAX
    assert ":" not in name and "*" not in name
    assert name.startswith(f"{kind}-")


@settings(max_examples=300, deadline=None)
@given(
    tags=st.lists(
        st.text(alphabet=ECR_TAG_CHARS, min_size=1, max_size=1_000),
        min_size=2,
        max_size=2,
        unique=True,
    ),
    time=st.sampled_from([TIME, "2021-12-03T18:03:16.123456+00:00"]),
)
def test_distinct_tags_get_distinct_streams(tags: list[str], time: str) -> None:
    names = {layout.stream_name("HIGH", tag, DIGEST, time) for tag in tags}
    assert len(names) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("HIGH", "HIGH"),
        (" medium ", "MEDIUM"),
        ("", "UNDEFINED"),
        (None, "UNDEFINED"),
        (3, "UNDEFINED"),
    ],
)
def test_normalize_severity(value: object, expected: str) -> None:
    assert layout.normalize_severity(value) == expected


def test_severity_rank_orders_known_severities_first() -> None:
    ranks = [layout.severity_rank(s) for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW")]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4
    assert layout.severity_rank("SOMETHING_NEW") > layout.severity_rank("UNDEFINED")


# ---- reading names back: the sample's history carries its image only in its stream names ----

SHA256 = "sha256:" + "0123456789abcdef" * 4


def test_parse_a_name_the_aws_sample_wrote() -> None:
    name = f"HIGH-release-2024-01-{SHA256[7:]}-2019-10-29T02-36-48Z"

    parsed = layout.parse_stream_name(name)

    assert parsed == layout.StreamName("HIGH", "release-2024-01", SHA256, "2019-10-29T02:36:48Z")
    assert parsed.tagged


@pytest.mark.parametrize(
    "name",
    [
        "",
        "SUMMARY",
        f"SUMMARY-{SHA256[7:]}-2019-10-29T02-36-48Z",  # no tag
        f"SUMMARY-v1-{SHA256[7:-1]}-2019-10-29T02-36-48Z",  # 63 hex digits
        f"SUMMARY-v1-{SHA256[7:]}-2019-10-29T02:36:48Z",  # ':' cannot be in a stream name
        f"SUMMARY-v1-{SHA256[7:]}-2019-10-29",
        f"SUMMARY-v1-{SHA256[7:]}-2019-10-29T02-36-48Zx",
        "finding-events-2026-11-29",  # another kind of stream in the same group
    ],
)
def test_names_outside_the_layout_are_not_parsed(name: str) -> None:
    assert layout.parse_stream_name(name) is None


def test_an_untagged_image() -> None:
    parsed = layout.parse_stream_name(layout.stream_name("SUMMARY", "untagged", SHA256, TIME))
    assert parsed is not None and not parsed.tagged


_TIMES = st.builds(
    lambda when, fraction, zone: f"{when:%Y-%m-%dT%H:%M:%S}{fraction}{zone}",
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(9999, 12, 31)),
    st.sampled_from(["", ".5", ".123", ".123456"]),
    st.sampled_from(["Z", "+00:00", "+02:00", "-05:30"]),
)


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    tag=st.text(alphabet=ECR_TAG_CHARS, min_size=1, max_size=300),
    hex_digits=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    time=_TIMES,
)
def test_parse_inverts_stream_name(kind: str, tag: str, hex_digits: str, time: str) -> None:
    digest = f"sha256:{hex_digits}"
    parsed = layout.parse_stream_name(layout.stream_name(kind, tag, digest, time))
    assert parsed == layout.StreamName(kind, tag, digest, time)


@settings(max_examples=200, deadline=None)
@given(tag=st.text(alphabet=ECR_TAG_CHARS, min_size=450, max_size=1_000), time=_TIMES)
def test_a_shortened_tag_parses_to_its_short_form(tag: str, time: str) -> None:
    name = layout.stream_name("LOW", tag, SHA256, time)
    parsed = layout.parse_stream_name(name)
    assert parsed is not None
    assert (parsed.kind, parsed.digest, parsed.event_time) == ("LOW", SHA256, time)
    assert name == f"LOW-{parsed.tag}-{SHA256[7:]}-{layout.stream_time(time)}"


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=200))
def test_parse_never_fails_on_any_name(name: str) -> None:
    parsed = layout.parse_stream_name(name)
    if parsed is not None:
        assert parsed.digest.startswith("sha256:") and parsed.kind and parsed.tag
