"""Notifications, pure: what is worth one, what it says, and that every message is one SNS
accepts (subject, size, structure, attributes) and AWS Chatbot can show, whatever the findings."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localaws.rules import sns as sns_rules
from pipeline import layout, limits, notify
from pipeline.events import FindingEvent
from pipeline.metrics import Metrics
from pipeline.vulnerabilities import WatchList

GROUP = "/aws/ecr/image-scan-findings/payments-api"
DIGEST = "sha256:" + "f2d60eff7946" + "0" * 52
CONTEXT: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "repository": "payments-api",
    "imageDigest": DIGEST,
    "imageTags": ["1.8.3", "latest"],
    "scanTime": "2026-11-29T06:00:00Z",
    "scanKind": "enhanced",
}
MORE = re.compile(r"^  …and ([\d,]+) more", re.MULTILINE)  # a list's last line


def basic(name: str, severity: str, package: str = "openssl", **attributes: str) -> dict[str, Any]:
    attrs = [{"key": "package_name", "value": package}, {"key": "package_version", "value": "3.0"}]
    attrs += [{"key": k, "value": v} for k, v in attributes.items()]
    return {"name": name, "severity": severity, "uri": "https://example.org", "attributes": attrs}


def enhanced(vulnerability: str, severity: str, *packages: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "findingArn": f"arn:aws:inspector2:eu-west-1:123456789012:finding/{vulnerability}",
        "title": f"{vulnerability} - {packages[0][0] if packages else '?'}",
        "severity": severity,
        "status": "ACTIVE",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": vulnerability,
            "vulnerablePackages": [
                {"name": n, "version": v, "fixedInVersion": f} for n, v, f in packages
            ],
        },
    }


def policy(min_severity: str = "CRITICAL", watched: tuple[str, ...] = ()) -> notify.Policy:
    return notify.Policy(min_severity, WatchList(watched), enabled=True)


def scan_message(findings: list[dict[str, Any]], p: notify.Policy) -> notify.SnsMessage | None:
    picked = notify.select(p, findings)
    counts = Counter(layout.normalize_severity(f.get("severity")) for f in findings)
    notice = notify.scan_notice(CONTEXT, GROUP, picked.entries, counts)
    return None if notice is None else notify.render(notice, p.min_severity)


def bodies(message: notify.SnsMessage) -> tuple[str, dict[str, Any]]:
    """The message's two bodies: the text, and the chat notification decoded."""
    document = json.loads(message.message)
    assert set(document) == {"default", "https"}
    assert document["default"] == message.text
    return document["default"], json.loads(document["https"])


def assert_accepted_by_sns(message: notify.SnsMessage) -> None:
    """What the local AWS's SNS rules (AWS's documented limits) say of this Publish."""
    request = sns_rules.PublishRequest(
        message.message,
        message.subject,
        "json",
        [sns_rules.Attribute(k, "String", v) for k, v in message.attributes.items()],
    )
    assert sns_rules.publish_problem(request) is None
    assert message.size <= limits.SNS_MAX_PUBLISH_BYTES
    assert sns_rules.publish_size(request) <= message.size


def assert_chatbot_shape(chat: dict[str, Any]) -> None:
    """AWS Chatbot's custom notification schema: version 1.0, source custom, a description."""
    assert chat["version"] == "1.0" and chat["source"] == "custom"
    content = chat["content"]
    assert content["textType"] == "client-markdown"
    assert isinstance(content["description"], str) and content["description"]
    assert len(content["description"]) <= notify.CHAT_DESCRIPTION_MAX_CHARS
    assert all(isinstance(s, str) for s in content["nextSteps"] + content["keywords"])
    assert all(isinstance(v, str) for v in chat["metadata"]["additionalContext"].values())


# ---- what is worth a notification --------------------------------------------------------


def test_below_the_threshold_nothing_is_selected() -> None:
    findings = [basic("CVE-2024-0001", "HIGH"), basic("CVE-2024-0002", "MEDIUM")]
    assert notify.select(policy("CRITICAL"), findings).entries == []
    assert scan_message(findings, policy("CRITICAL")) is None


def test_at_or_above_the_threshold_and_watched_ones_are_selected() -> None:
    findings = [
        basic("CVE-2024-0001", "CRITICAL"),
        basic("CVE-2024-0002", "HIGH"),
        basic("CVE-2024-0003", "MEDIUM"),
        basic("cve-2021-44228", "LOW"),  # watched, written in lower case by the scanner
        basic("CVE-2024-0005", "INFORMATIONAL"),
    ]
    picked = notify.select(policy("HIGH", ("CVE-2021-44228",)), findings)
    assert [(e.vulnerability, e.severity, e.watched) for e in picked.entries] == [
        ("CVE-2024-0001", "CRITICAL", False),
        ("CVE-2024-0002", "HIGH", False),
        ("CVE-2021-44228", "LOW", True),
    ]
    assert picked.watched == [("CVE-2021-44228",)]


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        ("CRITICAL", {"CRITICAL"}),
        ("MEDIUM", {"CRITICAL", "HIGH", "MEDIUM"}),
        ("INFORMATIONAL", {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"}),
        ("UNDEFINED", set(layout.SEVERITY_ORDER)),  # UNTRIAGED too
    ],
)
def test_the_threshold_orders_severities(threshold: str, expected: set[str]) -> None:
    findings = [basic(f"CVE-2024-{i:04d}", s) for i, s in enumerate(layout.SEVERITY_ORDER)]
    findings.append(basic("CVE-2024-9999", "SEVERE"))  # unknown: never above a threshold
    picked = notify.select(policy(threshold), findings)
    assert {e.severity for e in picked.entries} == expected


def test_without_a_topic_only_the_watch_list_counts() -> None:
    p = notify.Policy("LOW", WatchList(["GHSA-jfh8-c2jp-5v3q"]), enabled=False)
    findings = [
        enhanced("GHSA-jfh8-c2jp-5v3q", "CRITICAL", ("lodash", "4.17.20", "4.17.21")),
        basic("CVE-2024-0001", "CRITICAL"),
    ]
    picked = notify.select(p, findings)
    assert picked.entries == []
    assert picked.watched == [("GHSA-jfh8-c2jp-5v3q",)]
    off = notify.Policy("LOW", WatchList([]), enabled=False)
    assert notify.select(off, findings) == notify.Selection()


# ---- what the message says ---------------------------------------------------------------


def test_an_enhanced_scan_message_names_ids_packages_fixes_and_streams() -> None:
    findings = [
        enhanced("CVE-2024-1111", "CRITICAL", ("openssl", "3.0.11", "3.0.13")),
        enhanced("CVE-2024-2222", "CRITICAL", ("glibc", "2.36", "NotAvailable")),
        enhanced(
            "CVE-2024-3333", "CRITICAL", ("curl", "7.88.1", "7.88.2"), ("libcurl4", "7.88.1", "")
        ),
        enhanced("CVE-2024-4444", "HIGH", ("zlib", "1.2.13", "1.3")),
    ]
    message = scan_message(findings, policy("CRITICAL"))
    assert message is not None
    assert message.subject == "CRITICAL: 3 new findings in payments-api:1.8.3"
    assert message.attributes == {
        "severity": "CRITICAL",
        "repository": "payments-api",
        "account": "123456789012",
    }
    text, chat = bodies(message)
    assert "CVE-2024-1111" in text and "openssl 3.0.11, fixed in 3.0.13" in text
    assert "glibc 2.36, no fixed version named" in text  # Inspector's NotAvailable
    assert "curl 7.88.1, fixed in 7.88.2" in text and "libcurl4 7.88.1, no fixed" in text
    assert "CVE-2024-4444" not in text  # HIGH is below the threshold
    assert f"Log group: {GROUP}" in text
    tag, hexdigest = "1.8.3", DIGEST.removeprefix("sha256:")
    for stream in (
        f"CRITICAL-{tag}-{hexdigest}-2026-11-29T06-00-00Z",
        f"SUMMARY-{tag}-{hexdigest}-2026-11-29T06-00-00Z",
    ):
        assert stream in text
    assert f"HIGH-{tag}" not in text  # nothing listed from it
    assert "account 123456789012, region eu-west-1" in text
    assert "All findings of the scan: CRITICAL 3, HIGH 1" in text
    assert_chatbot_shape(chat)
    assert chat["content"]["title"] == message.subject
    assert "`CVE-2024-1111` openssl 3.0.11 → 3.0.13" in chat["content"]["description"]
    assert any(GROUP in step for step in chat["content"]["nextSteps"])
    assert_accepted_by_sns(message)


def test_a_basic_finding_names_its_fixed_version_when_an_attribute_carries_one() -> None:
    findings = [
        basic("CVE-2024-0001", "CRITICAL", "expat", fixed_in_version="2.5.0-1+deb12u1"),
        basic("CVE-2024-0002", "CRITICAL", "perl"),
    ]
    message = scan_message(findings, policy())
    assert message is not None
    assert "expat 3.0, fixed in 2.5.0-1+deb12u1" in message.text
    assert "perl 3.0, no fixed version named" in message.text


def test_a_watched_low_finding_is_notified_and_marked() -> None:
    findings = [basic("CVE-2021-44228", "LOW", "log4j-core"), basic("CVE-2024-0001", "HIGH")]
    message = scan_message(findings, policy("CRITICAL", ("CVE-2021-44228",)))
    assert message is not None
    assert message.subject == "LOW: 1 new finding (1 watched) in payments-api:1.8.3"
    assert message.attributes["severity"] == "LOW"
    assert "CVE-2021-44228  (watched)" in message.text
    assert "logged 1 finding naming a watched vulnerability." in message.text
    assert "0 findings" not in message.text


def test_an_untagged_image_is_named_so() -> None:
    context = {**CONTEXT, "imageTags": []}
    picked = notify.select(policy(), [basic("CVE-2024-0001", "CRITICAL")])
    notice = notify.scan_notice(context, GROUP, picked.entries, {"CRITICAL": 1})
    assert notice is not None
    message = notify.render(notice, "CRITICAL")
    assert message.subject == "CRITICAL: 1 new finding in payments-api:untagged"
    assert "(tags: untagged)" in message.text
    assert "SUMMARY-untagged-" in message.text


def test_a_long_list_is_cut_with_how_many_more() -> None:
    findings = [basic(f"CVE-2024-{i:05d}", "CRITICAL") for i in range(notify.TEXT_ENTRIES_MAX + 40)]
    message = scan_message(findings, policy())
    assert message is not None
    text, chat = bodies(message)
    assert text.count(notify.BULLET + "CRITICAL      CVE-") == notify.TEXT_ENTRIES_MAX
    assert MORE.findall(text) == ["40"]
    shown = chat["content"]["description"].count("• ")
    chat_more = re.findall(r"^…and ([\d,]+) more$", chat["content"]["description"], re.MULTILINE)
    assert chat_more == [f"{len(findings) - shown:,}"]
    assert_accepted_by_sns(message)


def test_a_message_too_big_for_sns_lists_fewer_findings() -> None:
    """450 findings of 200-character ids and ten 200-character packages each are ~1.8 MB of
    text: the message lists what fits SNS's 256 KiB and says how many more there are."""
    long = "x" * 400
    findings = [
        enhanced(f"CVE-2024-{i:05d}-{long}", "CRITICAL", *[(f"{long}{j}", long, long)] * 10)
        for i in range(450)
        for j in [i]
    ]
    message = scan_message(findings, policy())
    assert message is not None
    assert_accepted_by_sns(message)
    assert message.size > limits.SNS_MAX_PUBLISH_BYTES - 10_000  # filled, not emptied
    listed = message.text.count(notify.BULLET)
    assert 0 < listed < 450
    assert MORE.findall(message.text) == [str(450 - listed)]


def test_finding_events_are_one_notice_per_image_one_entry_per_finding() -> None:
    def change(digest: str, arn: str, severity: str, vulnerability: str) -> FindingEvent:
        detail = enhanced(vulnerability, severity, ("openssl", "3.0.11", "3.0.14"))
        detail["findingArn"] = arn
        return FindingEvent(
            event_id=arn + severity,
            account="123456789012",
            region="eu-west-1",
            repository="payments-api",
            digest=digest,
            tags=("1.8.3",),
            time="2026-11-29T06:00:00Z",
            timestamp_ms=0,
            finding_arn=arn,
            status="ACTIVE",
            severity=severity,
            updated_at_ms=0,
            detail=detail,
        )

    other = "sha256:" + "1" * 64
    changes = [
        (change(DIGEST, "arn:a", "HIGH", "CVE-2024-6119"), "eu-west-1", True),
        (change(DIGEST, "arn:a", "CRITICAL", "CVE-2024-6119"), "eu-west-1", True),  # re-scored
        (change(DIGEST, "arn:b", "CRITICAL", "CVE-2024-0002"), "eu-west-1", False),  # known
        (change(DIGEST, "arn:c", "LOW", "CVE-2024-0003"), "eu-west-1", True),  # below
        (change(other, "arn:d", "CRITICAL", "CVE-2024-0004"), "eu-west-1", True),
    ]
    notices = notify.events_notices(policy("HIGH"), GROUP, "FINDING-EVENTS-2026-11-29", changes)
    assert [
        (n.image.digest, [e.vulnerability for e in n.entries], which) for n, which in notices
    ] == [
        (DIGEST, ["CVE-2024-6119"], [0, 1]),
        (other, ["CVE-2024-0004"], [4]),
    ]
    first = notices[0][0]
    assert first.entries[0].severity == "CRITICAL"  # the finding's last change
    message = notify.render(first, "HIGH")
    assert message.subject == "CRITICAL: 1 new finding in payments-api:1.8.3"
    assert "Stream:    FINDING-EVENTS-2026-11-29" in message.text
    assert "continuous scanning" in message.text
    assert "CVE-2024-6119  (ACTIVE)" in message.text
    assert "openssl 3.0.11, fixed in 3.0.14" in message.text
    _, chat = bodies(message)
    assert chat["metadata"]["eventType"] == "InspectorFindingEvents"


def test_the_summary_names_every_image_held_back() -> None:
    notices = []
    for i, (repository, severity) in enumerate([("a", "HIGH"), ("b", "CRITICAL"), ("a", "LOW")]):
        context = {**CONTEXT, "repository": repository, "imageDigest": f"sha256:{i:064x}"}
        picked = notify.select(policy("LOW"), [basic(f"CVE-2024-000{i}", severity)])
        notice = notify.scan_notice(context, f"/g/{repository}", picked.entries, {severity: 1})
        assert notice is not None
        notices.append(notice)
    message = notify.render_summary(notices, "LOW", 20)
    assert (
        message.subject == "CRITICAL: 3 more images with new findings (notification limit reached)"
    )
    assert message.attributes == {
        "severity": "CRITICAL",
        "repository": "multiple",
        "account": "123456789012",
    }
    for i in range(3):
        assert f"sha256:{i:064x}" in message.text
    assert "sent 20 notifications, its limit (NOTIFY_MAX_MESSAGES)" in message.text
    _, chat = bodies(message)
    assert_chatbot_shape(chat)
    assert_accepted_by_sns(message)


# ---- properties: whatever the input, SNS and Chatbot accept the message -------------------

short = st.text(max_size=20)
# Long values (over the 200-character field bound) drawn cheaply: a short text repeated.
long = st.builds(lambda part, n: part * n, st.text(min_size=1, max_size=5), st.integers(60, 150))
text = st.one_of(short, short, long)
severities = st.sampled_from([*layout.SEVERITY_ORDER, "SEVERE", "", "crítico"])


@st.composite
def findings_(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return basic(draw(text), draw(severities), draw(text), fixed_in_version=draw(text))
    packages = draw(st.lists(st.tuples(text, text, text), max_size=12))
    return enhanced(draw(text), draw(severities), *packages)


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "account": draw(st.one_of(st.none(), st.from_regex(r"[0-9]{12}", fullmatch=True))),
        "region": draw(st.one_of(st.none(), st.just("eu-west-1"))),
        "repository": draw(
            st.from_regex(r"[a-z0-9]{1,60}(/[a-z0-9._-]{1,60}){0,3}", fullmatch=True)
        ),
        "imageDigest": "sha256:" + draw(st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
        "imageTags": draw(st.lists(st.text(min_size=1, max_size=40), max_size=12)),
        "scanTime": "2026-11-29T06:00:00Z",
        "scanKind": draw(st.sampled_from(["basic", "enhanced"])),
    }


@given(head=st.text(), image=st.text())
def test_a_subject_is_printable_ascii_under_100_characters(head: str, image: str) -> None:
    subject = notify.subject(head, image)
    assert 0 < len(subject) <= limits.SNS_SUBJECT_MAX_CHARS
    assert all(" " <= c <= "~" for c in subject)
    assert subject == subject.strip()


printable = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)


@given(head=printable.filter(lambda h: len(h) <= 60), image=printable)
def test_a_subject_keeps_its_head_and_shortens_the_image(head: str, image: str) -> None:
    subject = notify.subject(head + " ", image)
    if len(head) + 1 + len(image) <= limits.SNS_SUBJECT_MAX_CHARS:
        assert subject == f"{head} {image}"  # what fits is kept as it is
    else:
        assert subject.startswith(f"{head} ") and subject.endswith("...")
        assert len(subject) == limits.SNS_SUBJECT_MAX_CHARS
        assert image.startswith(subject[len(head) + 1 : -3])


@settings(max_examples=40, deadline=None)
@given(
    context=contexts(),
    findings=st.lists(findings_(), min_size=1, max_size=15),
    threshold=st.sampled_from(["CRITICAL", "LOW", "UNDEFINED"]),
    watched=st.lists(st.from_regex(r"CVE-20[0-9]{2}-[0-9]{4}", fullmatch=True), max_size=3),
)
def test_every_scan_message_is_one_sns_and_chatbot_accept(
    context: dict[str, Any], findings: list[dict[str, Any]], threshold: str, watched: list[str]
) -> None:
    p = policy(threshold, tuple(watched))
    picked = notify.select(p, findings)
    notice = notify.scan_notice(context, GROUP, picked.entries, {"CRITICAL": 1})
    if notice is None:
        assert picked.entries == []
        return
    message = notify.render(notice, threshold)
    assert_accepted_by_sns(message)
    text, chat = bodies(message)
    assert_chatbot_shape(chat)
    assert chat["content"]["title"] == message.subject
    listed = len(re.findall(f"^{notify.BULLET}", text, re.MULTILINE))
    more = MORE.findall(text)
    assert listed + (int(more[0].replace(",", "")) if more else 0) == len(notice.entries)
    assert message.attributes["severity"] == notice.severity[:20] or not notice.severity.isascii()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3_000),
    repository=st.from_regex(r"[a-z]{1,200}", fullmatch=True),
    tag=st.text(min_size=1, max_size=300),
)
def test_every_summary_is_one_sns_accepts(n: int, repository: str, tag: str) -> None:
    picked = notify.select(policy(), [basic("CVE-2024-0001", "CRITICAL")])
    context = {**CONTEXT, "repository": repository, "imageTags": [tag]}
    notice = notify.scan_notice(context, "/g/" + repository, picked.entries, {})
    assert notice is not None
    message = notify.render_summary([notice] * n, "CRITICAL", 20)
    assert_accepted_by_sns(message)
    text, chat = bodies(message)
    assert_chatbot_shape(chat)
    named = text.count(notify.BULLET)
    more = MORE.findall(text)
    assert named + (int(more[0].replace(",", "")) if more else 0) == n


@given(
    blocks=st.lists(st.one_of(short, long), max_size=40),
    extra=st.integers(0, 30),
    budget=st.integers(0, 6_000),
)
def test_fit_text_lists_the_longest_prefix_that_fits(
    blocks: list[str], extra: int, budget: int
) -> None:
    head, tail = ["Subject", "", "Findings:"], ["", "tail"]
    total = len(blocks) + extra  # some entries are never rendered as blocks
    text = notify.fit_text(head, blocks, total, tail, budget)
    lines = text.split("\n")
    assert lines[:3] == head and lines[-3:] == [*tail, ""]
    more = MORE.findall(text)
    listed = total - (int(more[0].replace(",", "")) if more else 0)
    assert "\n".join([*head, *blocks[:listed]]) in text
    fixed = notify.fit_text(head, [], total, tail, 10**9)
    if len(orjson.dumps(fixed)) - 2 <= budget:  # the head and tail alone fit: so does the text
        assert len(orjson.dumps(text)) - 2 <= budget
        if listed < len(blocks):  # and one more block would not have (room is kept for the
            # longest "…and N more" line, a few digits more than the one written at most)
            longer = notify.fit_text(head, blocks[: listed + 1], total, tail, 10**9)
            slack = len(f"{total:,}")
            assert len(orjson.dumps(longer)) - 2 + slack > budget or listed + 1 == total


# ---- metrics ------------------------------------------------------------------------------


def test_watched_findings_and_notifications_in_emf() -> None:
    metrics = Metrics()
    metrics.count_watched([("CVE-2021-44228",), (), ("CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q")])
    metrics.notifications, metrics.notifications_suppressed = 20, 3
    docs = metrics.emf("NS", now_ms=0)
    totals = docs[0]
    assert totals["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    assert (totals["WatchedFindings"], totals["Notifications"]) == (2, 20)
    assert totals["NotificationsSuppressed"] == 3
    names = {m["Name"] for m in totals["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"WatchedFindings", "Notifications", "NotificationsSuppressed"} <= names
    by_id = {d["Vulnerability"]: d["WatchedFindings"] for d in docs if "Vulnerability" in d}
    assert by_id == {"CVE-2021-44228": 2, "GHSA-jfh8-c2jp-5v3q": 1}


def test_nothing_to_count_emits_no_new_metric() -> None:
    [totals] = [
        d
        for d in Metrics().emf("NS", now_ms=0)
        if not d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
    ]
    assert not {"WatchedFindings", "Notifications", "NotificationsSuppressed"} & set(totals)


def test_the_first_line_counts_each_finding_once() -> None:
    watched = policy("CRITICAL", ("CVE-2021-44228",))
    both = scan_message(
        [basic("CVE-2021-44228", "CRITICAL"), basic("CVE-2024-0001", "CRITICAL")], watched
    )
    apart = scan_message(
        [basic("CVE-2021-44228", "LOW"), basic("CVE-2024-0001", "CRITICAL")], watched
    )
    assert both is not None and apart is not None
    assert "logged 2 findings at CRITICAL or above (1 watched)." in both.text
    assert (
        "logged 1 finding at CRITICAL or above and 1 more naming a watched vulnerability."
        in apart.text
    )
