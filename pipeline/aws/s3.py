"""s3:PutObject for the archive: written once, never overwritten, never partial.

- ``If-None-Match: *`` (S3 conditional writes): an object that exists is never replaced, so a
  bucket under Object Lock never sees an overwrite and a redelivery costs one refused PUT. The
  refusal (412 PreconditionFailed) means the object is there already: the archive's keys and
  bytes are deterministic, so that object is this one.
- One PutObject is atomic: S3 stores the whole body or nothing.
- ``x-amz-checksum-sha256`` over the exact bytes: S3 refuses a body damaged on the way
  (BadDigest) instead of storing it. Object Lock buckets require a checksum on PUT as well.
Every other failure is ``archive_failed`` (retryable): the message is retried like a failed
log write, and a misconfigured bucket holds its messages until it is fixed (then the DLQ).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pipeline import archive
from pipeline.aws.errors import classify, error_code
from pipeline.errors import RetryableError

API = "PutObject"
ALREADY_THERE = frozenset({"PreconditionFailed"})


class ArchiveFailed(RetryableError):
    def __init__(self, message: str) -> None:
        super().__init__("archive_failed", message)


class ObjectStore:
    """Writes archive objects into one bucket, optionally encrypted with a KMS key."""

    def __init__(self, client: Any, bucket: str, kms_key_arn: str | None = None) -> None:
        self._client = client
        self.bucket = bucket
        self._kms_key_arn = kms_key_arn

    async def put_new(self, key: str, body: bytes) -> bool:
        """Store ``body`` at ``key`` unless an object is there: True when this call wrote it,
        False when it was there already. Raises ArchiveFailed otherwise."""
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "IfNoneMatch": "*",
            "ContentType": archive.CONTENT_TYPE,
            "ContentEncoding": archive.CONTENT_ENCODING,
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": archive.checksum_sha256(body),
        }
        if self._kms_key_arn:
            params["ServerSideEncryption"] = "aws:kms"
            params["SSEKMSKeyId"] = self._kms_key_arn
        try:
            await self._client.put_object(**params)
        except ClientError as exc:
            if error_code(exc) in ALREADY_THERE:
                return False
            raise self._failed(exc, key) from None
        except Exception as exc:
            raise self._failed(exc, key) from None
        return True

    def _failed(self, exc: BaseException, key: str) -> ArchiveFailed:
        why = classify(exc, API).message
        return ArchiveFailed(f"s3://{self.bucket}/{key}: {why}")
