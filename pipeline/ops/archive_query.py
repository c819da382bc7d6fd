"""Which archived images had a vulnerability: Athena over the archive's Glue table, or the
archive's objects read directly — and which of the two answered.

- ``athena``: one query (StartQueryExecution, GetQueryExecution until it ends, the
  GetQueryResults paginator) against the table over the archive: ``kind`` and ``date`` are
  projected partitions, so ``--since``/``--until`` prune what it scans.
- ``s3``: ListObjectsV2 under each kind's prefix, starting at ``--since``'s date partition and
  stopping after ``--until``'s (keys sort by date), then every object read and each finding
  matched as the Athena query matches (``name`` or ``packageVulnerabilityDetails``).
- ``auto``: Athena when the endpoint is AWS's and the query succeeds; otherwise the objects. A
  local AWS's Athena (moto) answers every query with canned rows, so asking it would say
  nothing about the archive: its endpoint is recognised and the objects are read.

Finding events can be archived twice (a redelivered subset lands as another object): hits are
deduplicated by event id.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from urllib.parse import urlparse

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from pipeline import archive, layout
from pipeline.ops.current import packages
from pipeline.ops.errors import OpsError, describe_aws_error

Engine = Literal["athena", "s3", "auto"]
DEFAULT_DATABASE = "ecr_findings"
DEFAULT_TABLE = "archive"
DEFAULT_WORKGROUP = "primary"
# Glue names: lower-case letters, digits and underscores (hyphens pass Athena quoted).
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_AWS_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
_DONE = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
_DAY = "%Y-%m-%d"


@dataclass(frozen=True, order=True)
class ArchiveHit:
    """One archived finding naming the vulnerability, one per affected package."""

    day: str
    account: str
    region: str
    repository: str
    image_digest: str
    scan_time: str
    severity_rank: int
    severity: str
    package: str
    tags: tuple[str, ...]
    kind: str
    key: str
    event_id: str = ""  # finding events: the same event may sit in two objects
    # The finding's status as archived: a finding event's (a CLOSED one says the image no
    # longer had it from then on); an enhanced scan's finding's; basic findings are ACTIVE.
    status: str = "ACTIVE"

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.day,
            "account": self.account or None,
            "region": self.region or None,
            "repository": self.repository,
            "image_digest": self.image_digest,
            "tags": list(self.tags),
            "severity": self.severity,
            "package": self.package,
            "scan_time": self.scan_time,
            "status": self.status,
            "kind": self.kind,
            "s3_key": self.key,
        }


@dataclass
class QueryResult:
    vulnerability_id: str
    engine: Literal["athena", "s3"]
    why: str  # why this engine answered
    hits: list[ArchiveHit] = field(default_factory=list)
    objects_read: int = 0  # s3
    query_execution_id: str | None = None  # athena
    bytes_scanned: int | None = None  # athena

    @property
    def images(self) -> int:
        return len({(h.account, h.region, h.repository, h.image_digest) for h in self.hits})

    def as_json(self) -> dict[str, Any]:
        return {
            "vulnerability_id": self.vulnerability_id,
            "engine": self.engine,
            "engine_reason": self.why,
            "images": self.images,
            "hits": [h.as_json() for h in self.hits],
            "objects_read": self.objects_read if self.engine == "s3" else None,
            "query_execution_id": self.query_execution_id,
            "bytes_scanned": self.bytes_scanned,
        }


def is_aws_endpoint(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host.endswith(_AWS_HOSTS)


def athena_sql(
    vulnerability_id: str, database: str, table: str, since: date | None, until: date | None
) -> str:
    """The query: every archived finding naming the id (basic findings in ``name``, enhanced
    ones and finding events in ``packageVulnerabilityDetails``), in the date range."""
    for what, value in (("database", database), ("table", table)):
        if not _NAME.fullmatch(value):
            raise OpsError(f"not a Glue {what} name: {value!r}")
    vid = vulnerability_id.replace("'", "''")
    where = [
        f"(name = '{vid}' OR packagevulnerabilitydetails.vulnerabilityid = '{vid}')",
        *([f"\"date\" >= '{since:{_DAY}}'"] if since else []),
        *([f"\"date\" <= '{until:{_DAY}}'"] if until else []),
    ]
    attribute = "element_at(transform(filter(attributes, a -> a.key = '{0}'), a -> a.value), 1)"
    return (
        'SELECT "$path" AS s3_path, kind, "date",\n'
        "  imagecontext.account AS account, imagecontext.region AS region,\n"
        "  imagecontext.repository AS repository, imagecontext.imagedigest AS image_digest,\n"
        "  json_format(CAST(imagecontext.imagetags AS JSON)) AS tags, severity,\n"
        "  json_format(CAST(CASE\n"
        "    WHEN cardinality(packagevulnerabilitydetails.vulnerablepackages) > 0 THEN transform(\n"
        "      packagevulnerabilitydetails.vulnerablepackages,\n"
        "      p -> concat_ws(' ', p.name, nullif(p.version, '')))\n"
        f"    ELSE ARRAY[concat_ws(' ', {attribute.format('package_name')},"
        f" {attribute.format('package_version')})]\n"
        "  END AS JSON)) AS packages,\n"
        "  coalesce(imagecontext.scantime, imagecontext.eventtime) AS scan_time,\n"
        "  imagecontext.eventid AS event_id, coalesce(status, 'ACTIVE') AS status\n"
        f'FROM "{database}"."{table}"\n'
        f"WHERE {' AND '.join(where)}"
    )


def names(finding: Mapping[str, Any], vulnerability_id: str) -> bool:
    """Whether a finding is about the id: what the Athena query's WHERE asks, in Python."""
    if finding.get("name") == vulnerability_id:
        return True
    details = finding.get("packageVulnerabilityDetails")
    return isinstance(details, Mapping) and details.get("vulnerabilityId") == vulnerability_id


def hits_in_object(
    key: str, parsed: archive.ObjectKey, text: list[str], vid: str
) -> list[ArchiveHit]:
    """The hits of one archive object's lines (its SUMMARY line never matches)."""
    hits: list[ArchiveHit] = []
    for line in text:
        try:
            finding = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(finding, dict) or not names(finding, vid):
            continue
        context = finding.get("imageContext")
        context = context if isinstance(context, Mapping) else {}
        severity = layout.normalize_severity(finding.get("severity"))
        tags = context.get("imageTags")
        for package in packages(finding):
            hits.append(
                ArchiveHit(
                    day=parsed.day.strftime(_DAY),
                    account=str(context.get("account") or parsed.account),
                    region=str(context.get("region") or parsed.region),
                    repository=str(context.get("repository") or parsed.repository),
                    image_digest=str(context.get("imageDigest") or ""),
                    scan_time=str(context.get("scanTime") or context.get("eventTime") or ""),
                    severity_rank=layout.severity_rank(severity),
                    severity=severity,
                    package=package,
                    tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
                    kind=parsed.kind,
                    key=key,
                    event_id=str(context.get("eventId") or ""),
                    status=str(finding.get("status") or "ACTIVE"),
                )
            )
    return hits


def deduplicated(hits: list[ArchiveHit]) -> list[ArchiveHit]:
    """Sorted, each finding event's hits once (the first object that holds them)."""
    kept: dict[tuple[Any, ...], ArchiveHit] = {}
    for hit in sorted(hits):
        identity = (
            (hit.event_id, hit.package) if hit.event_id else (hit.key, hit.severity, hit.package)
        )
        kept.setdefault((identity, hit.kind, hit.scan_time, hit.image_digest), hit)
    return sorted(kept.values())


@dataclass
class ArchiveQuery:
    s3: Any
    athena: Any
    bucket: str | None
    prefix: str = "ecr-findings/"
    database: str = DEFAULT_DATABASE
    table: str = DEFAULT_TABLE
    workgroup: str = DEFAULT_WORKGROUP
    output_location: str | None = None
    timeout_seconds: float = 300.0
    concurrency: int = 8
    poll_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def run(
        self,
        vulnerability_id: str,
        *,
        since: date | None = None,
        until: date | None = None,
        engine: Engine = "auto",
    ) -> QueryResult:
        if since and until and since > until:
            raise OpsError(f"--since ({since}) is after --until ({until})")
        if engine == "s3":
            return self.read_objects(vulnerability_id, since, until, "asked for")
        if engine == "athena":
            return self.athena_query(vulnerability_id, since, until, "asked for")
        endpoint = str(self.athena.meta.endpoint_url)
        if not is_aws_endpoint(endpoint):
            why = f"the Athena endpoint {endpoint} is not AWS's: its answers would be canned"
            return self.read_objects(vulnerability_id, since, until, why)
        try:
            return self.athena_query(vulnerability_id, since, until, "Athena answered")
        except (OpsError, ClientError, BotoCoreError) as exc:
            why = f"Athena failed ({_reason(exc)})"
            return self.read_objects(vulnerability_id, since, until, why)

    # ---- Athena ------------------------------------------------------------------------

    def athena_query(
        self, vid: str, since: date | None, until: date | None, why: str
    ) -> QueryResult:
        request: dict[str, Any] = {
            "QueryString": athena_sql(vid, self.database, self.table, since, until),
            "QueryExecutionContext": {"Database": self.database},
            "WorkGroup": self.workgroup,
        }
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}
        query_id = str(self.athena.start_query_execution(**request)["QueryExecutionId"])
        execution = self._wait(query_id)
        result = QueryResult(vid, "athena", why, query_execution_id=query_id)
        scanned = execution.get("Statistics", {}).get("DataScannedInBytes")
        result.bytes_scanned = int(scanned) if scanned is not None else None
        result.hits = deduplicated(list(self._athena_hits(query_id)))
        return result

    def _wait(self, query_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            execution: dict[str, Any] = self.athena.get_query_execution(QueryExecutionId=query_id)[
                "QueryExecution"
            ]
            status = execution.get("Status", {})
            state = status.get("State")
            if state == "SUCCEEDED":
                return execution
            if state in _DONE:
                reason = status.get("AthenaError", {}).get("ErrorMessage") or status.get(
                    "StateChangeReason", ""
                )
                raise OpsError(f"Athena query {query_id} {state}: {reason}".rstrip(": "))
            if time.monotonic() > deadline:
                self.athena.stop_query_execution(QueryExecutionId=query_id)
                raise OpsError(
                    f"Athena query {query_id} still {state} after {self.timeout_seconds:g}s: "
                    "stopped"
                )
            self.sleep(self.poll_seconds)

    def _athena_hits(self, query_id: str) -> Iterator[ArchiveHit]:
        columns: list[str] | None = None
        paginator = self.athena.get_paginator("get_query_results")
        for page in paginator.paginate(QueryExecutionId=query_id):
            result_set = page.get("ResultSet", {})
            rows = result_set.get("Rows", [])
            if columns is None:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [str(c.get("Name")) for c in info]
                rows = rows[1:]  # a SELECT's first row repeats the column names
            for row in rows:
                values = [d.get("VarCharValue") for d in row.get("Data", [])]
                yield from self._athena_row(dict(zip(columns, values, strict=False)))

    def _athena_row(self, row: Mapping[str, str | None]) -> Iterator[ArchiveHit]:
        path = row.get("s3_path") or ""
        key = path.split("/", 3)[3] if path.startswith("s3://") and path.count("/") >= 3 else path
        severity = layout.normalize_severity(row.get("severity"))
        found = _json_list(row.get("packages"))
        tags = tuple(str(t) for t in _json_list(row.get("tags")))
        for package in [str(p) for p in found if p] or ["-"]:
            yield ArchiveHit(
                day=row.get("date") or "",
                account=row.get("account") or "",
                region=row.get("region") or "",
                repository=row.get("repository") or "",
                image_digest=row.get("image_digest") or "",
                scan_time=row.get("scan_time") or "",
                severity_rank=layout.severity_rank(severity),
                severity=severity,
                package=package,
                tags=tags,
                kind=row.get("kind") or "",
                key=key,
                event_id=row.get("event_id") or "",
                status=row.get("status") or "ACTIVE",
            )

    # ---- the objects -------------------------------------------------------------------

    def read_objects(
        self, vid: str, since: date | None, until: date | None, why: str
    ) -> QueryResult:
        if not self.bucket:
            raise OpsError(
                "reading the archive's objects needs its bucket: pass --bucket or set "
                "ARCHIVE_BUCKET" + ("" if why == "asked for" else f" ({why})")
            )
        result = QueryResult(vid, "s3", why)
        found = list(self._keys(since, until))
        result.objects_read = len(found)

        def read(item: tuple[str, archive.ObjectKey]) -> list[ArchiveHit]:
            key, parsed = item
            data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            try:
                text = archive.decode_lines(data)
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                raise OpsError(f"s3://{self.bucket}/{key} is not gzip JSON lines: {exc}") from None
            return hits_in_object(key, parsed, text, vid)

        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            hits = [hit for found_hits in pool.map(read, found) for hit in found_hits]
        result.hits = deduplicated(hits)
        return result

    def _keys(
        self, since: date | None, until: date | None
    ) -> Iterator[tuple[str, archive.ObjectKey]]:
        """Every archive object in the date range, each kind's from its first date on (keys
        sort by date within a kind, so the listing stops after the last)."""
        paginator = self.s3.get_paginator("list_objects_v2")
        for kind in archive.KINDS:
            start = archive.kind_prefix(self.prefix, kind)
            request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": start}
            if since:
                # Just before the first key of that day ("date=D/…" sorts after "date=D").
                request["StartAfter"] = f"{start}date={since:{_DAY}}"
            for page in paginator.paginate(**request):
                past_until = False
                for item in page.get("Contents", []):
                    key = str(item["Key"])
                    parsed = archive.parse_key(key, self.prefix)
                    if parsed is None:
                        continue
                    if until and parsed.day > until:
                        past_until = True
                        break
                    if since and parsed.day < since:
                        continue
                    yield key, parsed
                if past_until:
                    break


def _json_list(text: str | None) -> list[Any]:
    if not text:
        return []
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return [text]
    return value if isinstance(value, list) else [value]


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, OpsError) else describe_aws_error(exc)
