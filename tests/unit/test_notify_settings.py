"""The watch list and the notification settings: ids normalised once, every bad value named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.vulnerabilities import WatchList, named_ids, normalize_id, parse_watch_list

ids = st.one_of(
    st.from_regex(r"[cC][vV][eE]-20[0-9]{2}-[0-9]{4,7}", fullmatch=True),
    st.from_regex(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}", fullmatch=True),
    st.from_regex(r"(ALAS2|RHSA|DSA)-20[0-9]{2}[-:][0-9]{3,5}", fullmatch=True),
)


def test_defaults_leave_notifications_off() -> None:
    s = load_settings({})
    assert s.watched_vulnerabilities == ()
    assert s.notify_topic_arn is None
    assert (s.notify_min_severity, s.notify_max_messages) == ("CRITICAL", 20)


def test_blank_values_mean_none() -> None:
    s = load_settings({"WATCHED_VULNERABILITIES": " , ", "NOTIFY_TOPIC_ARN": ""})
    assert (s.watched_vulnerabilities, s.notify_topic_arn) == ((), None)


def test_the_watch_list_is_normalised_once() -> None:
    s = load_settings(
        {"WATCHED_VULNERABILITIES": " cve-2021-44228, GHSA-jfh8-c2jp-5v3q ,CVE-2021-44228,"}
    )
    assert s.watched_vulnerabilities == ("CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q")


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        (
            "WATCHED_VULNERABILITIES",
            "CVE-2021-44228,log4shell!,x",
            "Value error, not vulnerability ids: 'log4shell!', 'x' (expected comma-separated "
            "ids such as CVE-2021-44228,GHSA-jfh8-c2jp-5v3q)",
        ),
        (
            "NOTIFY_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:findings.fifo",
            "Value error, must be a standard topic (FIFO topics deliver to no email or chat)",
        ),
        (
            "NOTIFY_TOPIC_ARN",
            "arn:aws:sqs:us-east-1:123456789012:findings",
            "Value error, must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
        ),
        (
            "NOTIFY_MIN_SEVERITY",
            "SEVERE",
            "Input should be 'CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL' or 'UNDEFINED'",
        ),
        ("NOTIFY_MAX_MESSAGES", "-1", "Input should be greater than or equal to 0"),
        ("NOTIFY_MAX_MESSAGES", "10001", "Input should be less than or equal to 10000"),
    ],
)
def test_one_bad_variable(name: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    assert str(caught.value) == f"invalid configuration: {name}={value!r}: {reason}"


def test_the_threshold_is_read_in_any_case_and_a_topic_in_any_partition() -> None:
    s = load_settings(
        {
            "NOTIFY_MIN_SEVERITY": " high ",
            "NOTIFY_TOPIC_ARN": "arn:aws-us-gov:sns:us-gov-west-1:123456789012:sec_findings-1",
            "NOTIFY_MAX_MESSAGES": "0",  # every notification goes into the one summary
        }
    )
    assert s.notify_min_severity == "HIGH"
    assert s.notify_topic_arn == "arn:aws-us-gov:sns:us-gov-west-1:123456789012:sec_findings-1"
    assert s.notify_max_messages == 0


@given(st.lists(ids, max_size=8), st.lists(st.sampled_from(["", " ", "  "]), min_size=9))
def test_a_watch_list_is_its_ids_normalised_in_order_without_repeats(
    found: list[str], spaces: list[str]
) -> None:
    text = ",".join(f"{spaces[i]}{v}{spaces[i + 1]}" for i, v in enumerate(found))
    expected = list(dict.fromkeys(normalize_id(v) for v in found))
    assert list(parse_watch_list(text)) == expected
    assert [normalize_id(v) for v in expected] == expected  # normalising is idempotent


def test_what_a_finding_names() -> None:
    basic = {"name": "cve-2024-0001", "severity": "LOW"}
    enhanced = {
        "title": "CVE-2024-0002 - openssl",
        "packageVulnerabilityDetails": {"vulnerabilityId": "GHSA-jfh8-c2jp-5v3q"},
    }
    assert named_ids(basic) == ("CVE-2024-0001",)
    assert named_ids(enhanced) == ("GHSA-jfh8-c2jp-5v3q",)
    assert named_ids({"name": "not an id", "packageVulnerabilityDetails": "odd"}) == ()
    assert named_ids({"name": 7, "packageVulnerabilityDetails": {"vulnerabilityId": None}}) == ()


def test_a_watch_list_matches_normalised_ids() -> None:
    watch = WatchList(["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"])
    assert watch.watched_in({"name": "cve-2021-44228"}) == ("CVE-2021-44228",)
    assert watch.watched_in(
        {"packageVulnerabilityDetails": {"vulnerabilityId": "GHSA-jfh8-c2jp-5v3q"}}
    ) == ("GHSA-jfh8-c2jp-5v3q",)
    # GHSA ids are not CVEs: compared as written.
    assert watch.watched_in({"name": "ghsa-jfh8-c2jp-5v3q"}) == ()
    assert watch.watched_in({"name": "CVE-2021-45046"}) == ()
    assert not WatchList([]) and len(watch) == 2


def spelled(i: str, lower: bool, pad: str) -> str:
    return pad + (i.lower() if lower else i) + pad


@given(st.lists(ids, min_size=1, max_size=4), st.data())
def test_the_watch_list_matches_what_the_finding_names(
    watched: list[str], data: st.DataObject
) -> None:
    """The fast match (set lookups) agrees with normalising every id the finding names."""
    # Values the finding may hold: a watched id or another, in any case, padded, or no text.
    spelling = st.builds(
        spelled, st.sampled_from(watched) | ids, st.booleans(), st.sampled_from(["", " "])
    )
    name = data.draw(st.one_of(st.none(), st.integers(), spelling))
    vulnerability = data.draw(st.one_of(st.none(), st.just({"not": "a string"}), spelling))
    watch = WatchList(watched)
    finding = {"name": name, "packageVulnerabilityDetails": {"vulnerabilityId": vulnerability}}
    expected = tuple(i for i in named_ids(finding) if i in set(watch.ids))
    assert watch.watched_in(finding) == expected
