"""S3 for the fast endpoint: PutObject in memory, only what the archive calls (moto serves S3 to
the other front end).

The body must match its checksum headers (``localaws.rules.s3``: 400 BadDigest otherwise), and
``If-None-Match: *`` refuses a key that holds an object (412 PreconditionFailed), as S3's
conditional writes do. Buckets need no creation: every bucket named exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from localaws.rules import s3 as rules
from localaws.rules.errors import ApiError


@dataclass(frozen=True, slots=True)
class StoredObject:
    body: bytes
    etag: str
    content_type: str | None
    content_encoding: str | None


def bucket_and_key(host: str, path: str) -> tuple[str, str]:
    """The path-style path (``/bucket/key``) of a request, path-style or virtual-hosted.

    A virtual-hosted request names its bucket as the first label of ``Host``
    (``bucket.localhost:port``); an IP address or a single-label host is path-style."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    labels = name.split(".")
    is_ip = name.startswith("[") or (len(labels) == 4 and all(p.isdigit() for p in labels))
    if is_ip or len(labels) == 1:
        bucket, _, key = path.lstrip("/").partition("/")
        return bucket, key
    return labels[0], path.lstrip("/")


class S3Service:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.written = 0  # objects stored since the last stats reset

    def reset_stats(self) -> None:
        self.written = 0

    def reset(self) -> None:
        self.objects.clear()

    def stored_bytes(self) -> int:
        return sum(len(o.body) for o in self.objects.values())

    def put_object(
        self, bucket: str, key: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]:
        """Store the object; the response headers. ``headers`` lower-cased."""
        if "aws-chunked" in headers.get("content-encoding", ""):
            raise ApiError("NotImplemented", "aws-chunked uploads are not emulated", 501)
        error = rules.checksum_error(headers, body)
        if error is not None:
            raise error
        match = headers.get("if-none-match")
        if match is not None and match != "*":
            raise ApiError("NotImplemented", "If-None-Match takes only '*' on PutObject", 501)
        if match == "*" and (bucket, key) in self.objects:
            raise ApiError(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                412,
            )
        etag = f'"{hashlib.md5(body).hexdigest()}"'
        self.objects[(bucket, key)] = StoredObject(
            body, etag, headers.get("content-type"), headers.get("content-encoding")
        )
        self.written += 1
        answer = {"ETag": etag}
        for name, value in headers.items():
            if name.startswith("x-amz-checksum-") and name != "x-amz-checksum-type":
                answer[name] = value
        return answer
