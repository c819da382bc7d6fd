"""The demo's S3 archive: the bucket, what the handler wrote into it, and a query over it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from rich.console import Console

from pipeline import archive, layout
from pipeline.cli import output
from pipeline.cli.archive import engine_line, print_hits
from pipeline.ops.archive_query import ArchiveQuery

BUCKET = "ecr-findings-archive"
PREFIX = "ecr-findings/"
RETENTION_DAYS = 365  # the bucket's default Object Lock retention: the objects' own


def create_bucket(s3: Any) -> None:
    """Versioned, under Object Lock: every object is kept unchanged for RETENTION_DAYS."""
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)  # versioning comes with it
    s3.put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": RETENTION_DAYS}},
        },
    )


def describe_bucket(s3: Any) -> str:
    versioning = s3.get_bucket_versioning(Bucket=BUCKET).get("Status", "off").lower()
    rule = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]["Rule"]
    retention = rule["DefaultRetention"]
    return (
        f"S3 archive: bucket {BUCKET}, prefix {PREFIX} (versioning {versioning}; Object Lock "
        f"{retention['Mode']}, {retention['Days']} days)"
    )


@dataclass(frozen=True)
class Stored:
    key: str
    parsed: archive.ObjectKey
    size: int
    lines: list[str]
    retain_until: str


def stored_objects(s3: Any) -> list[Stored]:
    """Every archive object, read back (ListObjectsV2 and GetObject, as an auditor would)."""
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX):
        for item in page.get("Contents", []):
            key = str(item["Key"])
            parsed = archive.parse_key(key, PREFIX)
            if parsed is None:
                raise RuntimeError(f"not an archive key: {key}")
            got = s3.get_object(Bucket=BUCKET, Key=key)
            until = got.get("ObjectLockRetainUntilDate")
            found.append(
                Stored(
                    key,
                    parsed,
                    int(item["Size"]),
                    archive.decode_lines(got["Body"].read()),
                    until.strftime("%Y-%m-%d") if until else "-",
                )
            )
    return found


def _name(parsed: archive.ObjectKey) -> str:
    """An object's name, a scan's digest cut short as the tables show digests."""
    if parsed.kind == "scan":
        digest, _, when = parsed.name.partition("-")
        return f"{digest[:12]}…-{when}"
    return parsed.name


def show_objects(out: Console, s3: Any, written: int, example: str) -> None:
    """The objects written, their sizes and lines; one object's first lines, decoded."""
    found = stored_objects(s3)
    out.print(
        f"{len(found)} objects in s3://{BUCKET}/{PREFIX}; the handler's ArchiveObjects metric "
        f"says {written} written:"
    )
    accounts = sorted({(s.parsed.account, s.parsed.region) for s in found})
    where = "account=<account>/region=<region>"
    if len(accounts) == 1:
        where = "account={}/region={}".format(*accounts[0])
    out.print(
        f"Keys:\n  {PREFIX}kind=<kind>/date=<date>/{where}/repository=<repository>/"
        f"<object>{archive.SUFFIX}",
        highlight=False,
    )
    grid = output.table("Kind", "Date", "Repository", "Object", "Lines", "Bytes", "Locked until")
    for stored in found:
        parsed = stored.parsed
        grid.add_row(
            parsed.kind,
            f"{parsed.day:%Y-%m-%d}",
            parsed.repository,
            _name(parsed),
            f"{len(stored.lines):,}",
            f"{stored.size:,}",
            stored.retain_until,
        )
    out.print(grid)
    shown = next(s for s in found if s.parsed.kind == "scan" and s.parsed.repository == example)
    context = orjson.loads(shown.lines[-1]).get("imageContext", {})
    label = f"{example}:{layout.first_tag(context.get('imageTags') or ())}"
    out.print(
        f"One object decoded, {label}: {len(shown.lines)} JSON lines, each finding as logged "
        "and the SUMMARY last"
    )
    for line in [*shown.lines[:2], "…", shown.lines[-1]]:
        out.print(f"  {line}", overflow="ellipsis", no_wrap=True, markup=False, highlight=False)


def show_query(out: Console, s3: Any, athena: Any, vulnerability_id: str) -> None:
    """What ``ecr-findings archive query`` prints, engine chosen as it chooses (auto)."""
    result = ArchiveQuery(s3=s3, athena=athena, bucket=BUCKET, prefix=PREFIX).run(vulnerability_id)
    if result.hits:
        print_hits(out, result)
    else:
        out.print(f"No archived image has {vulnerability_id}.")
    out.print(engine_line(result))
