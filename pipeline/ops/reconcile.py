"""Reconcile: log what Inspector knows of container images and the logs do not.

EventBridge delivers "Inspector2 Finding" events at best effort, so a change can be missed.
Reconciling reads Inspector's current findings (``inspector2:ListFindings``, container images
only), reads what is logged about them (the latest evidence per ``findingArn``, from finding
events and enhanced scan snapshots: ``pipeline.ops.current``), and for each finding that is
**missing** (nothing logged) or **stale** (Inspector's ``updatedAt`` is later than the latest
logged evidence) enqueues the "Inspector2 Finding" event EventBridge would have delivered,
with the ListFindings finding as its ``detail``. The consumer logs it like any other.

The event's id is derived from the finding and its ``updatedAt``: a second run before the
queue drains sends the same ids, which the consumer logs once. After the queue drained, a
second run finds every finding current and sends nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from botocore.exceptions import ClientError

from pipeline import layout
from pipeline.aws.errors import error_code
from pipeline.concurrency import BlockingRateLimiter
from pipeline.events import (
    ECR_IMAGE_RESOURCE,
    FINDING_DETAIL_TYPE,
    IMAGE_ARN,
    INSPECTOR_SOURCE,
    event_time,
)
from pipeline.ops import current as state
from pipeline.ops.errors import OpsError
from pipeline.ops.logread import LogReader
from pipeline.ops.queues import send_bodies

Action = Literal["missing", "stale", "current"]
STATUSES = ("ACTIVE", "SUPPRESSED", "CLOSED")
LIST_PAGE_SIZE = 100  # ListFindings' maximum
# A log event that names a finding: scan snapshots' findings and finding events alike.
FINDING_PATTERN = '{ $.findingArn = "arn:*" }'
# With --since, the logs are read from a day before it. A finding event is stamped with its
# event's time, sent after the update; a scan snapshot with its scan's time, and its findings
# are read when the scan event is processed, usually minutes later. A snapshot processed more
# than a day late can hold an update stamped before this window: its finding is then sent
# again, which logs the same state once more (harmless), never loses one.
SINCE_MARGIN = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "UnrecognizedClientException"})


@dataclass(frozen=True)
class ReconcileFilter:
    repository_prefix: str = ""
    updated_since: datetime | None = None  # Inspector's updatedAt
    statuses: tuple[str, ...] = ()  # () = every status


def filter_criteria(selection: ReconcileFilter) -> dict[str, Any]:
    """ListFindings' ``filterCriteria`` for a selection: container images only, and the
    selection's repository prefix, update time and statuses."""
    criteria: dict[str, Any] = {
        "resourceType": [{"comparison": "EQUALS", "value": ECR_IMAGE_RESOURCE}]
    }
    if selection.repository_prefix:
        criteria["ecrImageRepositoryName"] = [
            {"comparison": "PREFIX", "value": selection.repository_prefix}
        ]
    if selection.updated_since is not None:
        criteria["updatedAt"] = [{"startInclusive": selection.updated_since}]
    if selection.statuses:
        criteria["findingStatus"] = [
            {"comparison": "EQUALS", "value": status} for status in selection.statuses
        ]
    return criteria


def epoch_ms(value: datetime) -> int:
    """Exact milliseconds (no float rounding), as the consumer's time parser counts them."""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(value: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=value)


def iso_ms(value: datetime) -> str:
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json_times(value: Any) -> Any:
    """A ListFindings finding (boto3 form) as JSON values: datetimes as ISO 8601 text."""
    if isinstance(value, datetime):
        return iso_ms(value)
    if isinstance(value, Mapping):
        return {str(k): _json_times(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_times(v) for v in value]
    return value


@dataclass(frozen=True)
class InspectorFinding:
    """One of Inspector's current findings about a container image."""

    finding: dict[str, Any]  # as ListFindings returned it (boto3: datetimes)
    arn: str
    account: str
    region: str
    repository: str
    digest: str
    tags: tuple[str, ...]
    image_arn: str
    status: str
    severity: str
    vulnerability_id: str
    updated_at: datetime

    @property
    def updated_ms(self) -> int:
        return epoch_ms(self.updated_at)

    @property
    def event_id(self) -> str:
        """The same finding at the same update is always the same event."""
        key = f"{self.arn}\n{iso_ms(self.updated_at)}".encode()
        return "reconcile-" + hashlib.sha256(key).hexdigest()[:32]

    def event(self) -> dict[str, Any]:
        """The "Inspector2 Finding" event EventBridge would have delivered for this state."""
        return {
            "version": "0",
            "id": self.event_id,
            "detail-type": FINDING_DETAIL_TYPE,
            "source": INSPECTOR_SOURCE,
            "account": self.account,
            "time": event_time(self.updated_at),
            "region": self.region,
            "resources": [self.image_arn],
            "detail": _json_times(self.finding),
        }


def inspector_finding(finding: Mapping[str, Any], region: str) -> InspectorFinding | None:
    """The image a ListFindings finding is about (None: not a container image, or no
    ``findingArn``/``updatedAt`` to compare)."""
    arn, updated = finding.get("findingArn"), finding.get("updatedAt")
    if not isinstance(arn, str) or not arn or not isinstance(updated, datetime):
        return None
    for resource in finding.get("resources") or ():
        if not isinstance(resource, Mapping) or resource.get("type") != ECR_IMAGE_RESOURCE:
            continue
        image = (resource.get("details") or {}).get("awsEcrContainerImage") or {}
        repository, digest = image.get("repositoryName"), image.get("imageHash")
        if not isinstance(repository, str) or not isinstance(digest, str):
            return None
        account = str(image.get("registry") or finding.get("awsAccountId") or "")
        resource_id = resource.get("id")
        image_arn = (
            resource_id
            if isinstance(resource_id, str)
            and IMAGE_ARN.fullmatch(resource_id)
            and "/sha256:" in resource_id
            else f"arn:aws:ecr:{region}:{account}:repository/{repository}/{digest}"
        )
        details = finding.get("packageVulnerabilityDetails") or {}
        return InspectorFinding(
            finding=dict(finding),
            arn=arn,
            account=account,
            region=region,
            repository=repository,
            digest=digest,
            tags=tuple(str(t) for t in image.get("imageTags") or ()),
            image_arn=image_arn,
            status=str(finding.get("status") or ""),
            severity=layout.normalize_severity(finding.get("severity")),
            vulnerability_id=str(details.get("vulnerabilityId") or ""),
            updated_at=updated,
        )
    return None


@dataclass(frozen=True)
class Reconciled:
    """One Inspector finding against its latest logged evidence."""

    finding: InspectorFinding
    logged_ms: int | None  # None: nothing logged
    logged_status: str | None

    @property
    def action(self) -> Action:
        if self.logged_ms is None:
            return "missing"
        if self.finding.updated_ms > self.logged_ms:
            return "stale"
        return "current"

    @property
    def to_enqueue(self) -> bool:
        return self.action != "current"

    def as_json(self) -> dict[str, Any]:
        f = self.finding
        logged = None if self.logged_ms is None else from_ms(self.logged_ms)
        return {
            "finding_arn": f.arn,
            "account": f.account,
            "region": f.region,
            "repository": f.repository,
            "image_digest": f.digest,
            "image_tags": list(f.tags),
            "vulnerability_id": f.vulnerability_id,
            "severity": f.severity,
            "status": f.status,
            "updated_at": iso_ms(f.updated_at),
            "logged_updated_at": iso_ms(logged) if logged else None,
            "logged_status": self.logged_status,
            "action": self.action,
            "event_id": f.event_id if self.to_enqueue else None,
        }


def compare(
    findings: Iterable[InspectorFinding], logged: Mapping[str, tuple[int, str]]
) -> list[Reconciled]:
    """Each finding against the latest logged (observed ms, status) of its ARN (pure)."""
    out = []
    for f in findings:
        seen = logged.get(f.arn)
        out.append(Reconciled(f, seen[0] if seen else None, seen[1] if seen else None))
    return out


@dataclass
class ReconcileResult:
    reconciled: list[Reconciled] = field(default_factory=list)
    groups: int = 0  # log groups read
    log_events: int = 0  # log events the server returned (before the local check)
    skipped: int = 0  # listed findings that name no container image

    def count(self, action: Action) -> int:
        return sum(1 for r in self.reconciled if r.action == action)

    @property
    def to_enqueue(self) -> list[Reconciled]:
        return [r for r in self.reconciled if r.to_enqueue]


@dataclass
class Reconciler:
    """Reads Inspector's findings and the logs; one instance per run."""

    inspector: Any
    logs: Any
    log_group_prefix: str
    inspector_rate: float | None = 5.0  # ListFindings pages a second
    logs_rate: float | None = 4.0  # FilterLogEvents calls a second (quota: 5, shared)
    concurrency: int = 4  # log groups read at once

    def __post_init__(self) -> None:
        self._inspector_limit = BlockingRateLimiter(self.inspector_rate)
        self._reader = LogReader(self.logs, BlockingRateLimiter(self.logs_rate))

    def findings(
        self,
        selection: ReconcileFilter,
        on_finding: Callable[[], None] | None = None,
    ) -> tuple[list[InspectorFinding], int]:
        """Inspector's findings of the selection, and how many named no container image."""
        region = str(self.inspector.meta.region_name)
        found, skipped = [], 0
        for finding in self._listed(selection):
            about = inspector_finding(finding, region)
            if about is None:
                skipped += 1
            else:
                found.append(about)
            if on_finding:
                on_finding()
        return found, skipped

    def _listed(self, selection: ReconcileFilter) -> Iterator[dict[str, Any]]:
        paginator = self.inspector.get_paginator("list_findings")
        pages = paginator.paginate(
            filterCriteria=filter_criteria(selection),
            PaginationConfig={"PageSize": LIST_PAGE_SIZE},
        )
        try:
            for page in _paced(pages, self._inspector_limit):
                yield from page.get("findings", [])
        except ClientError as exc:
            if error_code(exc) in _DENIED:
                raise OpsError(
                    "no access to Amazon Inspector's findings (inspector2:ListFindings is "
                    f"needed): {error_code(exc)}: {exc.response.get('Error', {}).get('Message')}"
                ) from None
            raise

    def logged(
        self,
        repositories: Iterable[str],
        *,
        since: datetime | None = None,
        on_group: Callable[[str], None] | None = None,
    ) -> tuple[dict[str, tuple[int, str]], int, int]:
        """The latest logged (observed ms, status) per findingArn in the groups of
        ``repositories``, the number of groups and of log events read."""
        groups = {layout.log_group_name(self.log_group_prefix, r): r for r in repositories}
        since_ms = None if since is None else epoch_ms(since - SINCE_MARGIN)

        def read(group: str) -> tuple[list[state.Evidence], int]:
            found, n = [], 0
            for item in self._reader.filter(group, FINDING_PATTERN, since_ms=since_ms):
                n += 1
                e = state.evidence_in(item.message, item.stream, item.log_group, groups[group])
                if e is not None and e.finding_arn:
                    found.append(e)
            return found, n

        evidences: list[state.Evidence] = []
        events = 0
        names = sorted(groups)
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            for group, (found, n) in zip(names, pool.map(read, names), strict=True):
                evidences += found
                events += n
                if on_group:
                    on_group(group)
        return state.latest_logged(evidences), len(names), events


def _paced(pages: Iterable[dict[str, Any]], limit: BlockingRateLimiter) -> Iterator[Any]:
    """The pages of a paginator, each request waiting for its slot (the first one too)."""
    iterator = iter(pages)
    while True:
        limit.acquire()
        try:
            yield next(iterator)
        except StopIteration:
            return


def enqueue(
    sqs: Any,
    queue_url: str,
    reconciled: Iterable[Reconciled],
    *,
    rate: float | None = 10.0,
    on_sent: Callable[[int], None] | None = None,
) -> int:
    """Send the event of each missing or stale finding (SendMessageBatch: 10 entries and
    1 MiB a call, rate-limited); return how many were sent. A refused entry raises, after
    what was sent so far has been counted; so does a refused call."""
    bodies = [orjson.dumps(r.finding.event()).decode() for r in reconciled if r.to_enqueue]
    return send_bodies(sqs, queue_url, bodies, rate=rate, on_sent=on_sent)
