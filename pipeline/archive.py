"""The S3 archive's keys and objects (pure): where an image scan or a batch of finding events
lands, and the bytes it lands as.

Keys are Hive-style, so Athena projects the ``kind`` and ``date`` partitions without a
crawler (a partition's location holds the folders below it)::

    <prefix>kind=<scan|finding>/date=<YYYY-MM-DD>/account=<id>/region=<region>/
        repository=<url-quoted repository>/<name>.json.gz

Every value is url-quoted (``/`` as ``%2F``), so no repository name can add a level. An
object is gzip-compressed JSON lines (the log messages exactly as logged), and the same lines
always give the same bytes: no time, no file name in the gzip header, one fixed level.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from urllib.parse import quote, unquote

from pipeline import layout

Kind = Literal["scan", "finding"]
KINDS: tuple[Kind, ...] = ("scan", "finding")
SUFFIX = ".json.gz"
CONTENT_TYPE = "application/x-ndjson"
CONTENT_ENCODING = "gzip"
# zlib's default trade-off; fixed, since another level gives other bytes for the same lines.
COMPRESS_LEVEL = 6
# An S3 key is at most 1,024 bytes of UTF-8 (S3 user guide, "Naming objects").
KEY_MAX_BYTES = 1024
# A finding-event object's name: this many hex digits of the SHA-256 of its event ids.
EVENT_IDS_HASH_CHARS = 32
# What a key names when the event told no account (or region): never seen from AWS.
UNKNOWN = "unknown"

_FIELDS = ("kind", "date", "account", "region", "repository")
_DATE = "%Y-%m-%d"
_SCAN_TIME = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True, slots=True)
class ObjectKey:
    """One archive object's place: its partitions and its name (without the suffix)."""

    prefix: str
    kind: Kind
    account: str
    region: str
    repository: str
    day: date
    name: str

    @property
    def key(self) -> str:
        values = (self.kind, self.day.strftime(_DATE), self.account, self.region, self.repository)
        parts = [f"{field}={_quote(value)}" for field, value in zip(_FIELDS, values, strict=True)]
        key = f"{self.prefix}{'/'.join(parts)}/{_quote(self.name)}{SUFFIX}"
        if len(key.encode()) > KEY_MAX_BYTES:
            raise ValueError(f"archive key longer than {KEY_MAX_BYTES} bytes: {key!r}")
        return key


def kind_prefix(prefix: str, kind: Kind) -> str:
    """Where every object of one kind starts (a ListObjectsV2 prefix)."""
    return f"{prefix}kind={kind}/"


def day_prefix(prefix: str, kind: Kind, day: date) -> str:
    """Where every object of one kind and day starts."""
    return f"{kind_prefix(prefix, kind)}date={day.strftime(_DATE)}/"


def parse_key(key: str, prefix: str) -> ObjectKey | None:
    """An archive key → its parts; None for any other key under the bucket."""
    if not key.startswith(prefix) or not key.endswith(SUFFIX):
        return None
    parts = key[len(prefix) : -len(SUFFIX)].split("/")
    if len(parts) != len(_FIELDS) + 1:
        return None
    values: dict[str, str] = {}
    for field, part in zip(_FIELDS, parts, strict=False):
        name, sep, value = part.partition("=")
        if name != field or not sep:
            return None
        values[field] = unquote(value)
    kind = values["kind"]
    if kind not in KINDS:
        return None
    try:
        day = datetime.strptime(values["date"], _DATE).date()
    except ValueError:
        return None
    return ObjectKey(
        prefix=prefix,
        kind="scan" if kind == "scan" else "finding",
        account=values["account"],
        region=values["region"],
        repository=values["repository"],
        day=day,
        name=unquote(parts[-1]),
    )


def utc_day(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()


def scan_object_name(digest: str, scan_time_ms: int) -> str:
    """``<digest hex>-<scan time as YYYYMMDDTHHMMSSZ>``: one object per image scan."""
    moment = datetime.fromtimestamp(scan_time_ms / 1000, UTC)
    return f"{layout.digest_hex(digest)}-{moment.strftime(_SCAN_TIME)}"


def finding_object_name(event_ids: Iterable[str]) -> str:
    """The first hex digits of the SHA-256 over the sorted event ids: the same set of finding
    events always gets the same name (and so the same object)."""
    joined = "\n".join(sorted(set(event_ids)))
    return hashlib.sha256(joined.encode()).hexdigest()[:EVENT_IDS_HASH_CHARS]


def scan_key(
    prefix: str, *, account: str | None, region: str, repository: str, digest: str, time_ms: int
) -> ObjectKey:
    return ObjectKey(
        prefix=prefix,
        kind="scan",
        account=account or UNKNOWN,
        region=region,
        repository=repository,
        day=utc_day(time_ms),
        name=scan_object_name(digest, time_ms),
    )


def finding_key(
    prefix: str,
    *,
    account: str | None,
    region: str,
    repository: str,
    day: date,
    event_ids: Iterable[str],
) -> ObjectKey:
    return ObjectKey(
        prefix=prefix,
        kind="finding",
        account=account or UNKNOWN,
        region=region,
        repository=repository,
        day=day,
        name=finding_object_name(event_ids),
    )


def encode_lines(lines: Iterable[str]) -> bytes:
    """JSON lines → the object's bytes: gzip with no time, no file name and a fixed level."""
    text = []
    for line in lines:
        if "\n" in line or "\r" in line:
            raise ValueError("a JSON line cannot hold a line break")
        text.append(line + "\n")
    return gzip.compress("".join(text).encode(), compresslevel=COMPRESS_LEVEL, mtime=0)


def decode_lines(data: bytes) -> list[str]:
    """An archive object's bytes → its lines (gzip and UTF-8 errors raise). Lines end at
    ``\n`` only: a JSON text may hold other line separators (U+2028) inside strings."""
    text = gzip.decompress(data).decode()
    return text.removesuffix("\n").split("\n") if text else []


def checksum_sha256(data: bytes) -> str:
    """The base64 SHA-256 that S3 checks the upload against (``x-amz-checksum-sha256``)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _quote(value: str) -> str:
    return quote(value, safe="")
