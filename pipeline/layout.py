"""Log group and stream names: the AWS sample's layout, which downstream tools parse.

Group:  <prefix><repository-name>
Stream: <SEVERITY>-<TAG>-<DIGEST_HEX>-<TIME>, and SUMMARY-<TAG>-<DIGEST_HEX>-<TIME>
        FINDING-EVENTS-<YYYY-MM-DD>: every finding event of the repository on that UTC day
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline import limits

SUMMARY = "SUMMARY"
# Streams that mark a takeover of an image whose first writer died: CLAIM-<TAG>-<DIGEST>-<TIME>-<n>.
CLAIM = "CLAIM"
MAX_TAKEOVERS = 9  # one digit: a claim name is never longer than its SUMMARY stream's
# Finding events (continuous scanning) of one repository and UTC day share one stream; the name
# has no digest or time tail, so it never parses as an image scan's stream.
FINDING_EVENTS = "FINDING-EVENTS"
UNTAGGED = "untagged"
UNDEFINED_SEVERITY = "UNDEFINED"
# Severities in the order streams are listed and written.
SEVERITY_ORDER = (
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNTRIAGED",
    "UNDEFINED",
)


def log_group_name(prefix: str, repository: str) -> str:
    name = f"{prefix}{repository}"
    if len(name) > limits.LOG_GROUP_NAME_MAX:
        raise ValueError(f"log group name longer than {limits.LOG_GROUP_NAME_MAX}: {name!r}")
    return name


def digest_hex(digest: str) -> str:
    """``sha256:abc…`` → ``abc…`` (any algorithm prefix is dropped)."""
    return digest.split(":", 1)[1] if ":" in digest else digest


def stream_time(event_time: str) -> str:
    return event_time.replace(":", "-")


def first_tag(tags: tuple[str, ...] | list[str]) -> str:
    return tags[0] if tags else UNTAGGED


def normalize_severity(value: object) -> str:
    """The severity a finding is filed under: upper-case, or UNDEFINED when absent."""
    if not isinstance(value, str) or not value.strip():
        return UNDEFINED_SEVERITY
    return value.strip().upper()


def _clean(part: str) -> str:
    # Stream names may hold anything but ':' and '*'.
    for bad in limits.LOG_STREAM_FORBIDDEN:
        part = part.replace(bad, "-")
    return part


def stream_name(kind: str, tag: str, digest: str, event_time: str) -> str:
    """The stream for one severity (or SUMMARY) of one image scan.

    A tag long enough to push the name past 512 characters is shortened, keeping a hash of
    the full tag so that distinct long tags still get distinct streams.
    """
    head, tail = _clean(kind), f"{digest_hex(digest)}-{stream_time(event_time)}"
    tag = _clean(tag)
    name = f"{head}-{tag}-{_clean(tail)}"
    if len(name) <= limits.LOG_STREAM_NAME_MAX:
        return name
    short = hashlib.sha256(tag.encode()).hexdigest()[:12]
    room = limits.LOG_STREAM_NAME_MAX - len(head) - len(tail) - len(short) - 4
    if room < 1:
        raise ValueError(f"stream name cannot fit {limits.LOG_STREAM_NAME_MAX} characters")
    return f"{head}-{tag[:room]}~{short}-{_clean(tail)}"


def finding_events_stream(timestamp_ms: int) -> str:
    """The stream of a repository's finding events logged with this timestamp's UTC day."""
    day = datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m-%d")
    return f"{FINDING_EVENTS}-{day}"


def claim_stream_prefix(summary_stream: str) -> str:
    """The prefix every takeover claim of one image shares (ends in ``-``)."""
    return f"{CLAIM}-{summary_stream.removeprefix(SUMMARY + '-')}-"


def claim_stream(summary_stream: str, generation: int) -> str:
    if not 1 <= generation <= MAX_TAKEOVERS:
        raise ValueError(f"claim generation must be 1..{MAX_TAKEOVERS}: {generation}")
    return f"{claim_stream_prefix(summary_stream)}{generation}"


def claim_generation(summary_stream: str, stream: str) -> int | None:
    """The generation of a takeover claim of this image (None if ``stream`` is not one)."""
    prefix = claim_stream_prefix(summary_stream)
    rest = stream.removeprefix(prefix)
    if rest == stream or not rest.isdigit() or len(rest) != 1 or rest == "0":
        return None
    return int(rest)


def severity_rank(severity: str) -> int:
    try:
        return SEVERITY_ORDER.index(severity)
    except ValueError:
        return len(SEVERITY_ORDER)


# The tail every name ends with: -<64 hex digits>-<TIME>, TIME being an ISO 8601 time with
# ':' → '-' (EventBridge's "2019-10-29T02-36-48Z"; fractions and offsets are allowed too).
_STREAM_TAIL = re.compile(
    r"-(?P<hex>[0-9a-fA-F]{64})"
    r"-(?P<date>\d{4}-\d{2}-\d{2})T(?P<hh>\d{2})-(?P<mm>\d{2})-(?P<ss>\d{2})"
    r"(?P<fraction>\.\d+)?(?P<zone>Z|[+-]\d{2}-\d{2})\Z"
)


@dataclass(frozen=True, slots=True)
class StreamName:
    """What a stream name says about its image scan."""

    kind: str  # a severity, or SUMMARY
    tag: str  # the first tag, or "untagged" (shortened as stream_name shortened it)
    digest: str  # sha256:<hex>
    event_time: str  # the scan event's time, ':' restored

    @property
    def tagged(self) -> bool:
        return self.tag != UNTAGGED


def parse_stream_name(name: str) -> StreamName | None:
    """The inverse of ``stream_name``: None for a name not in this layout.

    Tags may hold '-', so the name is read from the right: TIME has a fixed shape and the
    digest is 64 hex digits; the kind is everything before the first '-' (severities hold
    none), the tag what lies between.
    """
    tail = _STREAM_TAIL.search(name)
    if tail is None:
        return None
    kind, sep, tag = name[: tail.start()].partition("-")
    if not (kind and sep and tag):
        return None
    zone = tail["zone"] if tail["zone"] == "Z" else f"{tail['zone'][:3]}:{tail['zone'][4:]}"
    event_time = (
        f"{tail['date']}T{tail['hh']}:{tail['mm']}:{tail['ss']}{tail['fraction'] or ''}{zone}"
    )
    return StreamName(kind, tag, f"sha256:{tail['hex']}", event_time)
