"""Decode an SQS record body (an EventBridge event) into the image scan or finding it announces.

Three event kinds are accepted:
- source ``aws.ecr``, detail-type ``ECR Image Scan``, scan-status ``COMPLETE`` (basic scanning);
- source ``aws.inspector2``, detail-type ``Inspector2 Scan``, scan-status
  ``INITIAL_SCAN_COMPLETE`` (enhanced scanning; ``detail.repository-name`` is the repository ARN);
- source ``aws.inspector2``, detail-type ``Inspector2 Finding`` about an
  ``AWS_ECR_CONTAINER_IMAGE`` (continuous scanning: one event per finding per change), decoded
  into a ``FindingEvent``.
Anything else raises PermanentError with a reason code. ``scan_complete_event`` builds scan
events (backfill enqueues one per image scanned earlier: the consumer cannot tell it from the
real thing).
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from pipeline import layout
from pipeline.errors import PermanentError, quote
from pipeline.finding_time import parse_finding_time

ScanKind = Literal["basic", "enhanced"]

ECR_SOURCE, ECR_DETAIL_TYPE, ECR_COMPLETE = "aws.ecr", "ECR Image Scan", "COMPLETE"
INSPECTOR_SOURCE, INSPECTOR_DETAIL_TYPE, INSPECTOR_COMPLETE = (
    "aws.inspector2",
    "Inspector2 Scan",
    "INITIAL_SCAN_COMPLETE",
)
FINDING_DETAIL_TYPE = "Inspector2 Finding"
ECR_IMAGE_RESOURCE = "AWS_ECR_CONTAINER_IMAGE"
_ACCEPTED: dict[tuple[object, object], tuple[ScanKind, str]] = {
    (ECR_SOURCE, ECR_DETAIL_TYPE): ("basic", ECR_COMPLETE),
    (INSPECTOR_SOURCE, INSPECTOR_DETAIL_TYPE): ("enhanced", INSPECTOR_COMPLETE),
}

# ECR's own repository-name rule (CreateRepository), at most 256 characters.
REPOSITORY_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
REPOSITORY_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):ecr:(?P<region>[a-z0-9-]{1,32}):(?P<account>\d{12}):"
    r"repository/(?P<name>.+)"
)
DIGEST = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$"
# Bounds no real event exceeds (a sha512 digest is 135 characters; EventBridge's `time` is
# 20; an ECR tag at most 300), so that whatever passes decode also fits a stream name.
DIGEST_MAX_CHARS = 200
TIME_MAX_CHARS = 64
TAG_MAX_CHARS = 300
REGION_MAX_CHARS = 32  # the longest region name today is 14; botocore refuses over 63
Tag = Annotated[str, StringConstraints(min_length=1, max_length=TAG_MAX_CHARS)]


@dataclass(frozen=True, slots=True)
class ImageScan:
    """One image scan to log, as announced by one event."""

    kind: ScanKind
    event_id: str
    account: str | None
    region: str | None
    repository: str
    digest: str
    tags: tuple[str, ...]
    time: str  # the event's `time` exactly as sent; it names the streams
    timestamp_ms: int
    severity_counts: dict[str, int] | None  # from the event, when it carries them

    @property
    def expects_findings(self) -> bool:
        counts = {k: v for k, v in (self.severity_counts or {}).items() if k != "TOTAL"}
        return sum(counts.values()) > 0


class _Detail(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    scan_status: str = Field(alias="scan-status")
    repository_name: str = Field(alias="repository-name", min_length=1, max_length=2048)
    image_digest: str = Field(alias="image-digest", pattern=DIGEST, max_length=DIGEST_MAX_CHARS)
    image_tags: list[Tag] = Field(default_factory=list, alias="image-tags")
    finding_severity_counts: dict[str, int] | None = Field(None, alias="finding-severity-counts")


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(min_length=1)
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str | None = Field(None, pattern=r"^\d{12}$")
    time: str = Field(max_length=TIME_MAX_CHARS)
    region: str | None = Field(
        None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$", max_length=REGION_MAX_CHARS
    )
    resources: list[str] = Field(default_factory=list)
    detail: _Detail


class _Time(BaseModel):
    value: AwareDatetime


def _format_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


# EventBridge's own `time` format: read without pydantic (anything else goes through it).
_EVENTBRIDGE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z"
)


# Cached: the events of a burst share their `time` (whole seconds).
@functools.lru_cache(maxsize=4096)
def _parse_time(value: str) -> int:
    match = _EVENTBRIDGE_TIME.fullmatch(value)
    if match is not None:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            pass  # e.g. a 13th month: pydantic words the error
        else:
            return int(moment.timestamp() * 1000)
    try:
        parsed: datetime = _Time.model_validate({"value": value}).value
    except ValidationError:
        raise PermanentError(
            "invalid_event", f"time: not an ISO 8601 timestamp with a zone: {quote(value)}"
        ) from None
    return int(parsed.timestamp() * 1000)


def decode(body: str | bytes) -> ImageScan | FindingEvent:
    """Validate one SQS message body; raise PermanentError(code, reason) when it is not usable."""
    try:
        raw: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PermanentError("malformed_json", f"message body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise PermanentError(
            "not_an_event", f"message body is a JSON {type(raw).__name__}, not an event object"
        )
    source, detail_type = raw.get("source"), raw.get("detail-type")
    accepted = None
    if isinstance(source, str) and isinstance(detail_type, str):
        if (source, detail_type) == (INSPECTOR_SOURCE, FINDING_DETAIL_TYPE):
            return decode_finding(raw)
        accepted = _ACCEPTED.get((source, detail_type))
    if accepted is None:
        raise PermanentError(
            "unsupported_event",
            f"unsupported event source/detail-type {quote(source)}/{quote(detail_type)}; "
            f"expected {ECR_SOURCE!r}/{ECR_DETAIL_TYPE!r}, "
            f"{INSPECTOR_SOURCE!r}/{INSPECTOR_DETAIL_TYPE!r} or "
            f"{INSPECTOR_SOURCE!r}/{FINDING_DETAIL_TYPE!r}",
        )
    kind, complete = accepted
    try:
        event = _Event.model_validate(raw)
    except ValidationError as exc:
        raise PermanentError("invalid_event", _format_errors(exc)) from None

    detail = event.detail
    if detail.scan_status != complete:
        raise PermanentError(
            "scan_not_complete",
            f"scan-status is {quote(detail.scan_status)}; only {complete!r} scans are logged",
        )
    account, region, repository = event.account, event.region, detail.repository_name
    arn = REPOSITORY_ARN.fullmatch(repository)
    if arn:
        repository = arn["name"]
    elif kind == "enhanced":
        raise PermanentError(
            "invalid_event",
            f"detail.repository-name: not a repository ARN: {quote(repository)}",
        )
    for resource in [detail.repository_name, *event.resources]:
        match = REPOSITORY_ARN.fullmatch(resource)
        if match:
            account = account or match["account"]
            region = region or match["region"]
    if len(repository) > 256 or not REPOSITORY_NAME.fullmatch(repository):
        raise PermanentError(
            "invalid_event",
            f"detail.repository-name: not a valid ECR repository name: {quote(repository)}",
        )
    return ImageScan(
        kind=kind,
        event_id=event.id,
        account=account,
        region=region,
        repository=repository,
        digest=detail.image_digest,
        tags=tuple(detail.image_tags),
        time=event.time,
        timestamp_ms=_parse_time(event.time),
        severity_counts=detail.finding_severity_counts,
    )


# ---- "Inspector2 Finding": one finding of one image, as it changed -----------------------

FINDING_ARN_MAX_CHARS = 2048  # an ARN's own limit
EVENT_ID_MAX_CHARS = 256  # EventBridge's ids are UUIDs (36)
STATUS_MAX_CHARS = 32
TAGS_MAX = 1000  # ECR's limit of tags per image
ACCOUNT = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
# arn:aws:ecr:<region>:<account>:repository/<name>/sha256:<hex>; names may hold '/'.
IMAGE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):ecr:(?P<region>[a-z0-9-]{1,32}):(?P<account>\d{12}):"
    r"repository/(?P<rest>.+)"
)


@dataclass(frozen=True, slots=True, eq=False)
class FindingEvent:
    """One change of one Inspector finding about one container image, as announced by one
    "Inspector2 Finding" event. ``detail`` is the finding exactly as delivered."""

    event_id: str
    account: str | None
    region: str | None
    repository: str
    digest: str
    tags: tuple[str, ...]
    time: str  # the event's `time` exactly as sent
    timestamp_ms: int
    finding_arn: str
    status: str  # ACTIVE, SUPPRESSED or CLOSED as delivered (upper-cased)
    severity: str  # normalised like a scan finding's
    updated_at_ms: int  # detail.updatedAt (orders a finding's changes)
    detail: dict[str, Any]


class _FindingEnvelope(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(min_length=1, max_length=EVENT_ID_MAX_CHARS)
    time: str = Field(max_length=TIME_MAX_CHARS)
    account: str | None = Field(None, pattern=r"^\d{12}$")
    region: str | None = Field(
        None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$", max_length=REGION_MAX_CHARS
    )
    resources: list[Any] = Field(default_factory=list)
    detail: dict[str, Any]


# The envelope's common, clearly valid shape, checked without pydantic (a subset of what
# _FindingEnvelope accepts, giving the same values); anything else goes through pydantic,
# which accepts or words the errors.
_ASCII_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")
_STR_ONLY = frozenset({str})
_EnvelopeFields = tuple[str, str, str | None, str | None, list[Any], dict[str, Any]]


def _envelope(raw: dict[str, Any]) -> _EnvelopeFields:
    """(id, time, account, region, resources, detail) of a finding event's envelope."""
    fast = _envelope_fast(raw)
    if fast is not None:
        return fast
    try:
        event = _FindingEnvelope.model_validate(raw)
    except ValidationError as exc:
        raise PermanentError("invalid_event", _format_errors(exc)) from None
    return event.id, event.time, event.account, event.region, event.resources, event.detail


def _envelope_fast(raw: dict[str, Any]) -> _EnvelopeFields | None:
    event_id, time, detail = raw.get("id"), raw.get("time"), raw.get("detail")
    account, region = raw.get("account"), raw.get("region")
    resources = raw.get("resources", [])
    if (
        type(event_id) is str
        and 0 < len(event_id) <= EVENT_ID_MAX_CHARS
        and type(time) is str
        and len(time) <= TIME_MAX_CHARS
        and type(detail) is dict
        and type(resources) is list
        and (
            account is None
            or (
                type(account) is str
                and len(account) == 12
                and account.isascii()
                and account.isdigit()
            )
        )
        and (
            region is None
            or (
                type(region) is str
                and len(region) <= REGION_MAX_CHARS
                and _ASCII_REGION.fullmatch(region) is not None
            )
        )
        and frozenset(map(type, detail)) <= _STR_ONLY  # what JSON gives; pydantic checks
    ):
        return event_id, time, account, region, resources, detail
    return None


def _image_arn(value: object) -> tuple[str, str, str, str] | None:
    """An image ARN → (region, account, repository, digest); split on the last ``/sha256:``,
    because repository names may hold ``/``."""
    if not isinstance(value, str) or len(value) > FINDING_ARN_MAX_CHARS:
        return None
    match = IMAGE_ARN.fullmatch(value)
    if match is None:
        return None
    name, sep, hex_digest = match["rest"].rpartition("/sha256:")
    if not sep or not name:
        return None
    return match["region"], match["account"], name, f"sha256:{hex_digest}"


def _first(*values: object, pattern: re.Pattern[str]) -> str | None:
    for value in values:
        if isinstance(value, str) and pattern.fullmatch(value):
            return value
    return None


@functools.lru_cache(maxsize=4096)
def _repository_name_ok(name: str) -> bool:
    return len(name) <= 256 and REPOSITORY_NAME.fullmatch(name) is not None


_DIGEST = re.compile(DIGEST)


def _ecr_image(detail: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The finding's AWS_ECR_CONTAINER_IMAGE resource and its ``awsEcrContainerImage``."""
    resources = detail.get("resources")
    types: list[str] = []
    for resource in resources if isinstance(resources, list) else ():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("type")
        if kind == ECR_IMAGE_RESOURCE:
            details = resource.get("details")
            image = details.get("awsEcrContainerImage") if isinstance(details, dict) else None
            return resource, image if isinstance(image, dict) else {}
        types.append(kind if isinstance(kind, str) else repr(kind))
    raise PermanentError(
        "not_an_ecr_finding",
        f"the finding is not about an ECR container image: resource types {quote(types[:5])}",
    )


class _ArnOfImage:
    """The first image ARN among the resource's id and the envelope's resources, read only
    when a field of the finding itself is missing."""

    __slots__ = ("_candidates", "_parsed", "_value")

    def __init__(self, candidates: tuple[object, ...]) -> None:
        self._candidates = candidates
        self._parsed = False
        self._value: tuple[str, str, str, str] | None = None

    def get(self) -> tuple[str, str, str, str] | None:
        if not self._parsed:
            self._parsed = True
            self._value = next(
                (a for a in map(_image_arn, self._candidates) if a is not None), None
            )
        return self._value


def decode_finding(raw: dict[str, Any]) -> FindingEvent:
    """An "Inspector2 Finding" event → the finding change to log, or PermanentError."""
    event_id, time, event_account, event_region, event_resources, detail = _envelope(raw)
    finding_arn = detail.get("findingArn")
    if not isinstance(finding_arn, str) or not finding_arn.strip():
        raise PermanentError("finding_arn_missing", "detail.findingArn: missing or empty")
    if len(finding_arn) > FINDING_ARN_MAX_CHARS:
        raise PermanentError(
            "invalid_event", f"detail.findingArn: longer than {FINDING_ARN_MAX_CHARS} characters"
        )
    resource, image = _ecr_image(detail)
    from_arn = _ArnOfImage((resource.get("id"), *event_resources))

    digest = image.get("imageHash")
    if digest is None or digest == "":
        arn = from_arn.get()
        digest = arn[3] if arn else None
    if digest is None:
        raise PermanentError(
            "image_digest_missing",
            "neither detail.resources[].details.awsEcrContainerImage.imageHash nor an image "
            "ARN in the resources names the image's digest",
        )
    if not isinstance(digest, str) or len(digest) > DIGEST_MAX_CHARS or not _DIGEST.match(digest):
        raise PermanentError("invalid_event", f"imageHash: not an image digest: {quote(digest)}")

    repository = image.get("repositoryName")
    if not repository:
        arn = from_arn.get()
        repository = arn[2] if arn else None
    if not isinstance(repository, str) or not _repository_name_ok(repository):
        raise PermanentError(
            "invalid_event",
            f"repositoryName: not a valid ECR repository name: {quote(repository)}",
        )
    raw_tags = image.get("imageTags")
    raw_tags = [] if raw_tags is None else raw_tags
    if (
        not isinstance(raw_tags, list)
        or len(raw_tags) > TAGS_MAX
        or not all(isinstance(t, str) and 0 < len(t) <= TAG_MAX_CHARS for t in raw_tags)
    ):
        raise PermanentError("invalid_event", f"imageTags: not a list of tags: {quote(raw_tags)}")

    account = _first(
        image.get("registry"), detail.get("awsAccountId"), event_account, pattern=ACCOUNT
    )
    if account is None:
        arn = from_arn.get()
        account = _first(arn[1] if arn else None, pattern=ACCOUNT)
    # A resource's region can be "N/A" in AWS's own examples: only a region name counts.
    region = _first(event_region, resource.get("region"), pattern=REGION)
    if region is None:
        arn = from_arn.get()
        region = _first(arn[0] if arn else None, pattern=REGION)
    timestamp_ms = _parse_time(time)
    updated = detail.get("updatedAt")
    if updated is None:
        updated_at_ms = timestamp_ms  # never seen without one; the event's time is next best
    else:
        try:
            updated_at_ms = parse_finding_time(updated)
        except ValueError as exc:
            raise PermanentError(
                "finding_time_invalid", f"detail.updatedAt: {exc}: {quote(updated)}"
            ) from None
    status = detail.get("status")
    status = status.strip().upper() if isinstance(status, str) and status.strip() else "UNKNOWN"
    if len(status) > STATUS_MAX_CHARS:
        raise PermanentError("invalid_event", f"detail.status: not a status: {quote(status)}")
    severity = layout.normalize_severity(detail.get("severity"))
    if len(severity) > STATUS_MAX_CHARS:
        raise PermanentError("invalid_event", f"detail.severity: not a severity: {quote(severity)}")
    return FindingEvent(
        event_id=event_id,
        account=account,
        region=region,
        repository=repository,
        digest=digest,
        tags=tuple(raw_tags),
        time=time,
        timestamp_ms=timestamp_ms,
        finding_arn=finding_arn,
        status=status,
        severity=severity,
        updated_at_ms=updated_at_ms,
        detail=detail,
    )


# ---- encoding: the events as EventBridge delivers them (backfill, tests, the demo) ----------


def event_time(value: datetime) -> str:
    """EventBridge's ``time``: UTC, whole seconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scan_complete_event(
    *,
    kind: ScanKind,
    account: str,
    region: str,
    repository: str,
    repository_arn: str,
    digest: str,
    tags: Sequence[str],
    completed_at: datetime,
    severity_counts: Mapping[str, int] | None,
    event_id: str | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "image-digest": digest,
        "image-tags": list(tags),
    }
    if kind == "basic":
        source, detail_type = ECR_SOURCE, ECR_DETAIL_TYPE
        detail = {
            "scan-status": ECR_COMPLETE,
            "repository-name": repository,
            **detail,
        }
        if severity_counts is not None:
            detail["finding-severity-counts"] = dict(severity_counts)
    else:
        source, detail_type = INSPECTOR_SOURCE, INSPECTOR_DETAIL_TYPE
        counts = dict(severity_counts or {})
        counts.setdefault("TOTAL", sum(v for k, v in counts.items() if k != "TOTAL"))
        detail = {
            "scan-status": INSPECTOR_COMPLETE,
            "repository-name": repository_arn,
            "finding-severity-counts": counts,
            **detail,
        }
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": event_time(completed_at),
        "region": region,
        "resources": [repository_arn],
        "detail": detail,
    }
