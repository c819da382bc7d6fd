"""Notifications about findings: which are worth one, and the SNS message that says so (pure).

One message per image scan, and per image of a batch of finding events, that has findings at
or above ``NOTIFY_MIN_SEVERITY`` or naming a watched vulnerability. Each is published with
``MessageStructure=json`` and two bodies:
- ``default``: plain text, for email and every protocol not named (SQS, Lambda, …);
- ``https``: an AWS Chatbot custom notification (``{"version": "1.0", "source": "custom",
  "content": {…}}``): Chatbot subscribes to a topic over HTTPS and shows nothing else.
Subjects are printable ASCII and fewer than 100 characters; a message with its attributes
stays within SNS's 256 KiB, its lists cut short with "…and N more".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from pipeline import layout, limits
from pipeline.events import FindingEvent
from pipeline.vulnerabilities import WatchList, named_ids

NoticeKind = Literal["scan", "events"]

# Bounds that keep one finding's lines short whatever the API sent.
FIELD_MAX_CHARS = 200
PACKAGES_PER_ENTRY = 10
TAGS_SHOWN = 10
# A person reads the first findings; the log group holds every one.
TEXT_ENTRIES_MAX = 500
SUMMARY_IMAGES_MAX = 2_000  # about what 256 KiB holds
CHAT_ENTRIES_MAX = 10
# Chat is for a glance: a short description, the full list is in the email and the logs.
CHAT_DESCRIPTION_MAX_CHARS = 3_000
CHAT_NEXT_STEPS_MAX = 5
BULLET = "  • "  # starts each finding (or image) listed; fields never hold a line break
INDENT = " " * 18
NO_FIX = "NotAvailable"  # Inspector's fixedInVersion when there is no fix yet
UNKNOWN = "unknown"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode's Cc: C0, DEL and C1
MULTIPLE = "multiple"


@dataclass(frozen=True, slots=True)
class Policy:
    """What is worth a notification: findings at or above ``min_severity``, and findings
    naming a watched vulnerability whatever their severity. ``enabled``: a topic is set."""

    min_severity: str
    watch: WatchList
    enabled: bool

    def worth(self, severity: str, watched: bool) -> bool:
        return watched or layout.severity_rank(severity) <= layout.severity_rank(self.min_severity)


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str
    fixed_in: str  # "" when the finding names no fixed version


@dataclass(frozen=True, slots=True)
class Entry:
    """One finding worth telling about, as it is listed."""

    severity: str
    vulnerability: str
    watched: bool
    finding: Mapping[str, Any] = field(repr=False, compare=False)  # as logged
    status: str = ""  # a finding event's status (ACTIVE)
    key: str = ""  # a finding event's findingArn: one entry per finding

    def packages(self) -> tuple[list[Package], int]:
        """The first packages it names, and how many more (read when it is listed: most
        entries of a long list never are)."""
        return _packages(self.finding)


@dataclass(frozen=True, slots=True)
class Image:
    account: str | None
    region: str | None
    repository: str
    digest: str
    tags: tuple[str, ...]

    @property
    def label(self) -> str:
        """``repository:tag`` as people name an image."""
        return f"{self.repository}:{layout.first_tag(self.tags)}"


@dataclass(frozen=True, slots=True)
class Notice:
    """One image's findings worth a notification, and where they are logged."""

    kind: NoticeKind
    image: Image
    entries: tuple[Entry, ...]
    log_group: str
    streams: tuple[str, ...]
    scan_kind: str = ""
    scan_time: str = ""
    severity_counts: Mapping[str, int] = field(default_factory=dict)  # every finding (scans)

    @property
    def severity(self) -> str:
        """The highest severity listed."""
        return min((e.severity for e in self.entries), key=layout.severity_rank, default="")

    @property
    def watched(self) -> int:
        return sum(e.watched for e in self.entries)


@dataclass(slots=True)
class Selection:
    """What the findings of one write hold: entries worth a notification (only when
    notifications are on), and the watched ids of each finding naming one."""

    entries: list[Entry] = field(default_factory=list)
    watched: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """One Publish request's content."""

    subject: str
    text: str  # the "default" body
    chat: str  # the "https" body: an AWS Chatbot custom notification
    attributes: Mapping[str, str]  # String message attributes, for filter policies
    message: str = ""  # the MessageStructure=json document holding both bodies

    @property
    def size(self) -> int:
        return publish_size(self.message, self.subject, self.attributes)


# ---- choosing -----------------------------------------------------------------------------


def select(policy: Policy, findings: Iterable[Mapping[str, Any]]) -> Selection:
    """One pass over logged findings (as the API returned them)."""
    selection = Selection()
    if not policy.watch and not policy.enabled:
        return selection
    for finding in findings:
        watched = policy.watch.watched_in(finding)
        if watched:
            selection.watched.append(watched)
        if policy.enabled:
            severity = layout.normalize_severity(finding.get("severity"))
            if policy.worth(severity, bool(watched)):
                selection.entries.append(entry(finding, severity, watched=bool(watched)))
    return selection


def entry(
    finding: Mapping[str, Any],
    severity: str,
    *,
    watched: bool,
    status: str = "",
    key: str = "",
) -> Entry:
    """A finding (or finding event detail) → what a notification lists of it."""
    ids = named_ids(finding)
    name = ids[0] if ids else finding.get("title") or finding.get("name") or "-"
    return Entry(
        severity=clip(severity, 20),
        vulnerability=clip(name),
        finding=finding,
        watched=watched,
        status=clip(status, 20),
        key=key,
    )


def _packages(finding: Mapping[str, Any]) -> tuple[list[Package], int]:
    """The first packages a finding names, and how many more it names."""
    details = finding.get("packageVulnerabilityDetails")
    if isinstance(details, Mapping):
        vulnerable = details.get("vulnerablePackages")
        packages = [
            p
            for p in (vulnerable if isinstance(vulnerable, list) else ())
            if isinstance(p, Mapping)
        ]
        if packages:
            listed = [
                Package(
                    clip(p.get("name") or "-"),
                    clip(p.get("version") or ""),
                    _fixed(p.get("fixedInVersion")),
                )
                for p in packages[:PACKAGES_PER_ENTRY]
            ]
            return listed, len(packages) - len(listed)
    attributes = finding.get("attributes")
    values = {
        a.get("key"): a.get("value")
        for a in (attributes if isinstance(attributes, list) else [])
        if isinstance(a, Mapping)
    }
    if values.get("package_name"):
        fixed = next((values[k] for k in _FIXED_KEYS if values.get(k)), None)
        package = Package(
            clip(values["package_name"]),
            clip(values.get("package_version") or ""),
            _fixed(fixed),
        )
        return [package], 0
    return [], 0


# Basic findings name a fixed version only when an attribute carries one.
_FIXED_KEYS = ("fixed_in_version", "fixed_version", "fixedInVersion")


def _fixed(value: object) -> str:
    return "" if not value or value == NO_FIX else clip(value)


def scan_notice(
    context: Mapping[str, Any],
    log_group: str,
    entries: Sequence[Entry],
    severity_counts: Mapping[str, int],
) -> Notice | None:
    """The notice of one logged image scan (``context``: its ``imageContext``), or None."""
    if not entries:
        return None
    image = _image(context)
    tag = layout.first_tag(image.tags)
    scan_time = str(context.get("scanTime") or "")
    listed = sorted(entries, key=_order)
    severities = sorted({e.severity for e in listed}, key=layout.severity_rank)
    streams = tuple(
        layout.stream_name(s, tag, image.digest, scan_time) for s in (*severities, layout.SUMMARY)
    )
    return Notice(
        kind="scan",
        image=image,
        entries=tuple(listed),
        log_group=log_group,
        streams=streams,
        scan_kind=str(context.get("scanKind") or ""),
        scan_time=scan_time,
        severity_counts=dict(severity_counts),
    )


def events_notice(
    image: Image, log_group: str, stream: str, entries: Sequence[Entry]
) -> Notice | None:
    """The notice of one image's finding events in one day stream, one entry per finding (the
    last of its changes), or None."""
    if not entries:
        return None
    latest: dict[str, Entry] = {}
    for e in entries:
        latest[e.key] = e
    listed = sorted(latest.values(), key=_order)
    return Notice("events", image, tuple(listed), log_group, (stream,))


def events_notices(
    policy: Policy,
    log_group: str,
    stream: str,
    changes: Sequence[tuple[FindingEvent, str | None, bool]],
) -> list[tuple[Notice, list[int]]]:
    """The notices of finding events about to be logged in one day stream, one per image, each
    with the indexes of the changes it lists. A change is (finding event, its region, whether
    it makes the finding ACTIVE); it is worth telling when it does, at or above the threshold
    or naming a watched vulnerability."""
    images: dict[tuple[str | None, str | None, str, str], list[tuple[int, Entry]]] = {}
    first: dict[tuple[str | None, str | None, str, str], Image] = {}
    for k, (finding, region, becomes_active) in enumerate(changes):
        watched = bool(policy.watch.watched_in(finding.detail))
        if not (policy.enabled and becomes_active and policy.worth(finding.severity, watched)):
            continue
        key = (finding.account, region, finding.repository, finding.digest)  # tags may move
        first.setdefault(key, Image(*key, tags=finding.tags))
        listed = entry(
            finding.detail,
            finding.severity,
            watched=watched,
            status=finding.status,
            key=finding.finding_arn,
        )
        images.setdefault(key, []).append((k, listed))
    notices = []
    for key, found in images.items():
        notice = events_notice(first[key], log_group, stream, [e for _, e in found])
        if notice is not None:
            notices.append((notice, [k for k, _ in found]))
    return notices


def _order(e: Entry) -> tuple[int, bool, str]:
    return layout.severity_rank(e.severity), not e.watched, e.vulnerability


def _image(context: Mapping[str, Any]) -> Image:
    tags = context.get("imageTags")
    return Image(
        account=_optional(context.get("account")),
        region=_optional(context.get("region")),
        repository=str(context.get("repository") or ""),
        digest=str(context.get("imageDigest") or ""),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list | tuple) else (),
    )


def _optional(value: object) -> str | None:
    return str(value) if value else None


# ---- text ---------------------------------------------------------------------------------


def clip(value: object, limit: int = FIELD_MAX_CHARS) -> str:
    """One line of text: control characters (line breaks too) become spaces; cut to
    ``limit`` characters, ending in "…" when cut."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text if text.isprintable() else _CONTROL.sub(" ", text)


def ascii_text(value: object) -> str:
    """Printable ASCII only: anything else becomes "?" (line breaks and tabs a space)."""
    out = []
    for c in str(value):
        if " " <= c <= "~":
            out.append(c)
        else:
            out.append(" " if c in "\t\r\n" else "?")
    return "".join(out)


def subject(head: str, image: str) -> str:
    """``head`` + ``image``, printable ASCII, fewer than 100 characters: the image part is
    shortened first (ending in "..."), then the whole."""
    head = ascii_text(head).lstrip()
    image = ascii_text(image)
    room = limits.SNS_SUBJECT_MAX_CHARS - len(head)
    if len(image) > room:
        image = image[: room - 3] + "..." if room > 3 else ""
    text = (head + image)[: limits.SNS_SUBJECT_MAX_CHARS].strip()
    return text or "ECR findings"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _notice_subject(notice: Notice) -> str:
    head = f"{notice.severity}: {_plural(len(notice.entries), 'new finding')}"
    if notice.watched:
        head += f" ({notice.watched:,} watched)"
    return subject(head + " in ", notice.image.label)


def _registry(image: Image) -> str:
    return f"account {image.account or UNKNOWN}, region {image.region or UNKNOWN}"


def _tags(tags: Sequence[str]) -> str:
    if not tags:
        return "untagged"
    shown = ", ".join(clip(t, 100) for t in tags[:TAGS_SHOWN])
    more = len(tags) - TAGS_SHOWN
    return shown + (f", …and {more:,} more tags" if more > 0 else "")


def _package_line(p: Package) -> str:
    fixed = f"fixed in {p.fixed_in}" if p.fixed_in else "no fixed version named"
    return f"{p.name} {p.version}".rstrip() + f", {fixed}"


def _entry_lines(e: Entry) -> list[str]:
    marks = [m for m in (e.status, "watched" if e.watched else "") if m]
    head = f"{BULLET}{e.severity:<13} {e.vulnerability}" + (
        f"  ({', '.join(marks)})" if marks else ""
    )
    lines = [head]
    packages, more = e.packages()
    lines += [f"{INDENT}{_package_line(p)}" for p in packages]
    if more:
        lines.append(f"{INDENT}…and {more:,} more packages")
    return lines


def _what(notice: Notice, min_severity: str) -> str:
    """What the notice lists, each finding counted once: "3 findings at CRITICAL or above (1
    watched) and 2 more naming a watched vulnerability", "1 finding naming a watched …"."""
    rank = layout.severity_rank(min_severity)
    above = [e for e in notice.entries if layout.severity_rank(e.severity) <= rank]
    watched_above = sum(e.watched for e in above)
    watched_below = notice.watched - watched_above
    parts = []
    if above:
        marked = f" ({watched_above:,} watched)" if watched_above else ""
        parts.append(f"{_plural(len(above), 'finding')} at {min_severity} or above{marked}")
    if watched_below:
        count = f"{watched_below:,} more" if parts else _plural(watched_below, "finding")
        parts.append(f"{count} naming a watched vulnerability")
    what = " and ".join(parts)
    if notice.kind == "scan":
        return f"A new scan of this image logged {what}."
    return f"Amazon Inspector reported {what} becoming active in this image (continuous scanning)."


def text_parts(notice: Notice, min_severity: str) -> tuple[list[str], list[str], list[str]]:
    """The text of a notice as (head lines, one block per finding listed, tail lines)."""
    image = notice.image
    head = [
        _notice_subject(notice),
        "",
        _what(notice, min_severity),
        "",
        f"Repository: {image.repository}",
        f"Image:      {clip(image.digest)}  (tags: {_tags(image.tags)})",
        f"Registry:   {_registry(image)}",
    ]
    if notice.kind == "scan":
        head.append(f"Scan:       {clip(notice.scan_kind, 20)}, {clip(notice.scan_time, 64)}")
        counts = sorted(notice.severity_counts.items(), key=lambda kv: layout.severity_rank(kv[0]))
        if counts:
            head.append(
                "All findings of the scan: "
                + ", ".join(f"{clip(s, 20)} {n:,}" for s, n in counts[:20])
            )
    head += ["", "Findings:"]
    blocks = ["\n".join(_entry_lines(e)) for e in notice.entries[:TEXT_ENTRIES_MAX]]
    tail = ["", "To open in CloudWatch Logs:", f"  Log group: {notice.log_group}"]
    label = "Streams:" if len(notice.streams) > 1 else "Stream:"
    for i, stream in enumerate(notice.streams):
        tail.append(f"  {label if i == 0 else '':<10} {stream}")
    return head, blocks, tail


def _escaped_size(text: str) -> int:
    """The UTF-8 bytes of ``text`` inside a JSON string (SNS counts the JSON document)."""
    return len(orjson.dumps(text)) - 2


def fit_text(
    head: Sequence[str],
    blocks: Sequence[str],
    total: int,
    tail: Sequence[str],
    budget: int,
    noun: str = "",
) -> str:
    """``head``, as many ``blocks`` as keep the text's JSON-escaped size within ``budget``
    bytes, "…and N more" for the rest of ``total``, then ``tail`` (lines joined by "\n")."""

    def more(n: int) -> str:
        return f"  …and {n:,} more{noun}"

    size = _escaped_size("\n".join([*head, *tail]) + "\n")
    reserve = _escaped_size(more(total)) + 2  # each line adds itself and an escaped "\n"
    listed = 0
    for block in blocks:
        grown = size + _escaped_size(block) + 2
        if grown + (reserve if listed + 1 < total else 0) > budget:
            break
        size, listed = grown, listed + 1
    lines = [*head, *blocks[:listed]]
    if total > listed:
        lines.append(more(total - listed))
    return "\n".join([*lines, *tail]) + "\n"


# ---- chat (AWS Chatbot custom notifications) -----------------------------------------------


def _code(value: str) -> str:
    """Inline code in chat markdown (a backtick would end it)."""
    return "`" + value.replace("`", "'") + "`"


def _chat_entry(e: Entry) -> str:
    line = f"• *{e.severity}* {_code(e.vulnerability)}"
    if e.watched:
        line += " (watched)"
    packages, more = e.packages()
    if packages:
        p = packages[0]
        line += f" {p.name} {p.version}".rstrip()
        line += f" → {p.fixed_in}" if p.fixed_in else " (no fix named)"
        if len(packages) - 1 + more:
            line += f" +{len(packages) - 1 + more} packages"
    return line


def _chat_description(head: str, lines: Sequence[str], total: int) -> str:
    """``head`` and as many of ``lines`` as fit the chat limit, then "…and N more"."""
    for shown in range(min(len(lines), CHAT_ENTRIES_MAX), -1, -1):
        text = "\n".join([head, *lines[:shown]])
        if total > shown:
            text += f"\n…and {total - shown:,} more"
        if len(text) <= CHAT_DESCRIPTION_MAX_CHARS:
            return text
    return clip(head, CHAT_DESCRIPTION_MAX_CHARS)


def chat_message(
    *,
    title: str,
    description: str,
    next_steps: Sequence[str],
    keywords: Sequence[str],
    event_type: str,
    thread: str,
    context: Mapping[str, str],
) -> str:
    """An AWS Chatbot custom notification (its event schema: version 1.0, source custom)."""
    digest = hashlib.sha256(orjson.dumps([event_type, title, description])).hexdigest()
    return orjson.dumps(
        {
            "version": "1.0",
            "source": "custom",
            "id": digest[:32],
            "content": {
                "textType": "client-markdown",
                "title": title,
                "description": description,
                "nextSteps": list(next_steps[:CHAT_NEXT_STEPS_MAX]),
                "keywords": [k for k in keywords if k],
            },
            "metadata": {
                "threadId": thread,
                "summary": title,
                "eventType": event_type,
                "additionalContext": dict(context),
            },
        }
    ).decode()


def _thread(image: Image) -> str:
    """Notifications about one image share a chat thread."""
    key = f"{image.account}|{image.region}|{image.repository}|{image.digest}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def render_chat(notice: Notice, min_severity: str) -> str:
    image = notice.image
    head = (
        f"*{clip(image.label, 300)}* ({_code(clip(image.digest, 24))}), "
        f"{_registry(image)}. {_what(notice, min_severity)}"
    )
    description = _chat_description(
        head, [_chat_entry(e) for e in notice.entries[:CHAT_ENTRIES_MAX]], len(notice.entries)
    )
    return chat_message(
        title=_notice_subject(notice),
        description=description,
        next_steps=[
            f"Open log group {_code(notice.log_group)}, stream {_code(s)}" for s in notice.streams
        ],
        keywords=[notice.severity, image.repository[:100], "watched" if notice.watched else ""],
        event_type="ECRImageScanFindings" if notice.kind == "scan" else "InspectorFindingEvents",
        thread=_thread(image),
        context={
            "repository": image.repository,
            "imageDigest": clip(image.digest),
            "account": image.account or UNKNOWN,
            "region": image.region or UNKNOWN,
        },
    )


# ---- the message --------------------------------------------------------------------------


def publish_size(message: str, subject: str, attributes: Mapping[str, str]) -> int:
    """What counts against SNS's 256 KiB: the message, its attributes (and, to be safe, the
    subject), in UTF-8 bytes."""
    size = len(message.encode()) + len(subject.encode())
    for name, value in attributes.items():
        size += len(name.encode()) + len(b"String") + len(value.encode())
    return size


def _attributes(severity: str, repository: str, account: str) -> dict[str, str]:
    return {
        "severity": ascii_text(severity)[:20] or UNKNOWN,
        "repository": ascii_text(repository)[:256] or UNKNOWN,
        "account": ascii_text(account)[:20] or UNKNOWN,
    }


def _message(
    subject_: str,
    parts: tuple[Sequence[str], Sequence[str], Sequence[str]],
    total: int,
    chat: str,
    attributes: Mapping[str, str],
    noun: str = "",
) -> SnsMessage:
    """The message whose text lists as many blocks as SNS's limit leaves room for."""
    head, blocks, tail = parts
    # What the document costs besides the text (every other part is bounded, so the text
    # always has room for its head and tail).
    empty = orjson.dumps({"default": "", "https": chat}).decode()
    budget = limits.SNS_MAX_PUBLISH_BYTES - publish_size(empty, subject_, attributes)
    text = fit_text(head, blocks, total, tail, budget, noun)
    document = orjson.dumps({"default": text, "https": chat}).decode()
    return SnsMessage(subject_, text, chat, attributes, document)


def render(notice: Notice, min_severity: str) -> SnsMessage:
    """The SNS message of one notice, within every SNS limit."""
    image = notice.image
    return _message(
        _notice_subject(notice),
        text_parts(notice, min_severity),
        len(notice.entries),
        render_chat(notice, min_severity),
        _attributes(notice.severity, image.repository, image.account or UNKNOWN),
    )


def render_summary(notices: Sequence[Notice], min_severity: str, limit: int) -> SnsMessage:
    """The one message that names, image by image, what the per-invocation limit held back."""
    severity = min((n.severity for n in notices), key=layout.severity_rank, default=UNKNOWN)
    repositories = {n.image.repository for n in notices}
    accounts = {n.image.account or UNKNOWN for n in notices}
    subject_ = subject(
        f"{severity}: {_plural(len(notices), 'more image')} with new findings ",
        "(notification limit reached)",
    )
    intro = (
        f"This invocation sent {_plural(limit, 'notification')}, its limit "
        f"(NOTIFY_MAX_MESSAGES). These {_plural(len(notices), 'image')} also have new findings "
        f"at {min_severity} or above, or naming a watched vulnerability; each is logged in the "
        "log group named below it."
    )

    def line(n: Notice) -> list[str]:
        what = "image scan" if n.kind == "scan" else "finding events"
        watched = f", {n.watched:,} watched" if n.watched else ""
        return [
            f"{BULLET}{n.severity:<13} {clip(n.image.label, 300)}  {clip(n.image.digest)}",
            f"{INDENT}{_plural(len(n.entries), 'finding')}{watched} ({what}), {_registry(n.image)}",
            f"{INDENT}log group {n.log_group}",
        ]

    chat_lines = [
        f"• *{n.severity}* {_code(clip(n.image.label, 300))} {_plural(len(n.entries), 'finding')}"
        for n in notices[:CHAT_ENTRIES_MAX]
    ]
    chat = chat_message(
        title=subject_,
        description=_chat_description(intro, chat_lines, len(notices)),
        next_steps=[],
        keywords=[severity],
        event_type="NotificationSummary",
        thread="notification-summary",
        context={},
    )
    attributes = _attributes(
        severity,
        repositories.pop() if len(repositories) == 1 else MULTIPLE,
        accounts.pop() if len(accounts) == 1 else MULTIPLE,
    )

    blocks = ["\n".join(line(n)) for n in notices[:SUMMARY_IMAGES_MAX]]
    parts: tuple[list[str], list[str], list[str]] = ([subject_, "", intro, ""], blocks, [])
    return _message(subject_, parts, len(notices), chat, attributes, noun=" images")
