"""S3 rules moto leaves out, as pure checks: which REST call a request is, and that an upload's
checksum matches its body (moto stores the given checksum without checking it; S3 refuses the
upload with 400 BadDigest, so a body damaged on the way is never stored).

moto already answers conditional writes (``If-None-Match: *`` on an existing key: 412
PreconditionFailed) and Object Lock's checksum requirement, as S3 does.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Mapping

from localaws.rules.errors import ApiError


def _crc32(body: bytes) -> bytes:
    return zlib.crc32(body).to_bytes(4, "big")


# x-amz-checksum-<name> → the digest S3 computes over the body (the header holds its base64).
_CHECKSUMS: dict[str, Callable[[bytes], bytes]] = {
    "sha256": lambda body: hashlib.sha256(body).digest(),
    "sha1": lambda body: hashlib.sha1(body).digest(),
    "crc32": _crc32,
}
# Object subresources: a PUT with one of these in its query is not a PutObject.
_SUBRESOURCES = frozenset(
    {"acl", "tagging", "retention", "legal-hold", "uploadId", "partNumber", "uploads", "restore"}
)


def operation(
    method: str, path: str, query: Mapping[str, object], headers: Mapping[str, str]
) -> str:
    """The S3 operation of a path-style request (``/bucket/key``), or "" when it is one the
    local AWS has no rule or fault for (it then passes to moto unnamed)."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket or not key or _SUBRESOURCES & set(query):
        if bucket and not key and method == "GET" and query.get("list-type") in ("2", ["2"]):
            return "ListObjectsV2"
        return ""
    if method == "PUT":
        return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, "")


def checksum_error(headers: Mapping[str, str], body: bytes) -> ApiError | None:
    """BadDigest when the upload's Content-MD5 or x-amz-checksum-* does not match its body."""
    md5 = headers.get("content-md5")
    if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
        return ApiError(
            "BadDigest", "The Content-MD5 you specified did not match what we received."
        )
    for name, algorithm in _CHECKSUMS.items():
        given = headers.get(f"x-amz-checksum-{name}")
        if given is not None and given != base64.b64encode(algorithm(body)).decode():
            return ApiError(
                "BadDigest",
                f"The {name.upper()} you specified did not match the calculated checksum.",
            )
    return None
