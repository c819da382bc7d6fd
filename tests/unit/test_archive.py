"""The archive's keys and objects: Hive-style partitions no repository name can break, and
bytes that depend on the lines only."""

from __future__ import annotations

import base64
import gzip
import hashlib
import random
import string
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import archive
from pipeline.config import load_settings
from pipeline.errors import ConfigError

DIGEST = "sha256:" + "ab" * 32
TIME_MS = int(datetime(2026, 11, 29, 6, 0, 7, tzinfo=UTC).timestamp() * 1000)

ecr_names = st.from_regex(
    r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/){0,4}[a-z0-9]+(?:[._-][a-z0-9]+)*", fullmatch=True
)
any_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
keys = st.builds(
    archive.ObjectKey,
    prefix=st.sampled_from(["", "ecr-findings/", "org/scans/"]),
    kind=st.sampled_from(archive.KINDS),
    account=st.one_of(st.from_regex(r"\d{12}", fullmatch=True), any_text),
    region=st.one_of(st.sampled_from(["us-east-1", "eu-west-3"]), any_text),
    repository=st.one_of(ecr_names, any_text),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2999, 12, 31)),
    name=st.one_of(st.text(string.hexdigits, min_size=1, max_size=80), any_text),
)
lines = st.lists(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=200),
    max_size=30,
)


def test_the_layout() -> None:
    key = archive.scan_key(
        "ecr-findings/",
        account="123456789012",
        region="eu-west-1",
        repository="team/app",
        digest=DIGEST,
        time_ms=TIME_MS,
    )
    assert key.key == (
        "ecr-findings/kind=scan/date=2026-11-29/account=123456789012/region=eu-west-1/"
        f"repository=team%2Fapp/{'ab' * 32}-20261129T060007Z.json.gz"
    )


def test_a_finding_events_object_is_named_by_its_sorted_event_ids() -> None:
    ids = ["b-2", "a-1", "c-3"]
    key = archive.finding_key(
        "",
        account=None,
        region="us-east-1",
        repository="app",
        day=date(2026, 12, 1),
        event_ids=ids,
    )
    expected = hashlib.sha256(b"a-1\nb-2\nc-3").hexdigest()[:32]
    assert key.key == (
        f"kind=finding/date=2026-12-01/account=unknown/region=us-east-1/repository=app/"
        f"{expected}.json.gz"
    )


@given(keys)
def test_a_key_parses_back_into_its_parts(key: archive.ObjectKey) -> None:
    assert archive.parse_key(key.key, key.prefix) == key


@given(keys)
def test_no_value_adds_a_level(key: archive.ObjectKey) -> None:
    levels = key.key[len(key.prefix) :].split("/")
    assert len(levels) == 6
    assert [level.split("=", 1)[0] for level in levels[:5]] == [
        "kind",
        "date",
        "account",
        "region",
        "repository",
    ]
    assert levels[-1].endswith(archive.SUFFIX)


@given(keys)
def test_a_key_sits_under_its_kind_and_day(key: archive.ObjectKey) -> None:
    assert key.key.startswith(archive.day_prefix(key.prefix, key.kind, key.day))
    assert archive.day_prefix(key.prefix, key.kind, key.day).startswith(
        archive.kind_prefix(key.prefix, key.kind)
    )


@pytest.mark.parametrize(
    "key",
    [
        "ecr-findings/other/file.json.gz",
        "ecr-findings/kind=scan/date=2026-11-29/account=1/region=r/repository=a/n.json",
        "ecr-findings/kind=image/date=2026-11-29/account=1/region=r/repository=a/n.json.gz",
        "ecr-findings/kind=scan/date=2026-13-29/account=1/region=r/repository=a/n.json.gz",
        "ecr-findings/kind=scan/account=1/date=2026-11-29/region=r/repository=a/n.json.gz",
        "ecr-findings/kind=scan/date=2026-11-29/account=1/region=r/repository=a/b/n.json.gz",
        "elsewhere/kind=scan/date=2026-11-29/account=1/region=r/repository=a/n.json.gz",
    ],
)
def test_other_keys_are_not_archive_objects(key: str) -> None:
    assert archive.parse_key(key, "ecr-findings/") is None


def test_the_scan_object_name() -> None:
    assert archive.scan_object_name(DIGEST, TIME_MS) == f"{'ab' * 32}-20261129T060007Z"
    assert archive.utc_day(TIME_MS) == date(2026, 11, 29)


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=20), st.randoms())
def test_the_same_events_give_the_same_name_in_any_order(
    ids: list[str], rnd: random.Random
) -> None:
    shuffled = list(ids)
    rnd.shuffle(shuffled)
    name = archive.finding_object_name(ids)
    assert name == archive.finding_object_name(shuffled)
    assert len(name) == archive.EVENT_IDS_HASH_CHARS and set(name) <= set(string.hexdigits)


@given(lines)
def test_the_same_lines_give_the_same_bytes(text: list[str]) -> None:
    first = archive.encode_lines(text)
    assert first == archive.encode_lines(list(text))
    # A gzip member: magic, deflate, no FNAME flag, MTIME zero.
    assert first[:3] == b"\x1f\x8b\x08"
    assert first[3] & 0x08 == 0
    assert first[4:8] == b"\x00\x00\x00\x00"
    assert gzip.decompress(first).decode() == "".join(f"{line}\n" for line in text)
    assert archive.decode_lines(first) == text


@given(lines, lines)
def test_other_lines_give_other_bytes(a: list[str], b: list[str]) -> None:
    assert (archive.encode_lines(a) == archive.encode_lines(b)) == (a == b)


def test_a_line_break_inside_a_line_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        archive.encode_lines(['{"a": 1}', '{"b":\n 2}'])


def test_the_checksum_is_sha256_base64() -> None:
    body = archive.encode_lines(['{"a":1}'])
    assert archive.checksum_sha256(body) == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_a_key_too_long_for_s3_is_refused() -> None:
    key = archive.ObjectKey("p/", "scan", "1", "r", "a" * 1000, date(2026, 1, 1), "n")
    with pytest.raises(ValueError, match="longer than 1024"):
        _ = key.key


def test_the_longest_settings_and_names_still_fit_a_key() -> None:
    repository = "/".join(["a"] * 128)  # 255 characters, 127 of them "/"
    key = archive.scan_key(
        "p" * 127 + "/",
        account="123456789012",
        region="ap-southeast-7",
        repository=repository,
        digest="sha512:" + "f" * 193,
        time_ms=TIME_MS,
    )
    assert len(key.key.encode()) <= archive.KEY_MAX_BYTES


def test_archive_settings() -> None:
    s = load_settings({})
    assert (s.archive_bucket, s.archive_prefix, s.archive_kms_key_arn) == (
        None,
        "ecr-findings/",
        None,
    )
    s = load_settings({"ARCHIVE_BUCKET": "", "ARCHIVE_PREFIX": "", "ARCHIVE_KMS_KEY_ARN": ""})
    assert (s.archive_bucket, s.archive_prefix, s.archive_kms_key_arn) == (None, "", None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARCHIVE_BUCKET", "My_Bucket"),
        ("ARCHIVE_BUCKET", "ab"),
        ("ARCHIVE_PREFIX", "ecr-findings"),
        ("ARCHIVE_PREFIX", "/ecr-findings/"),
        ("ARCHIVE_PREFIX", "a//b/"),
        ("ARCHIVE_PREFIX", "p" * 128 + "/"),
    ],
)
def test_bad_archive_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})
