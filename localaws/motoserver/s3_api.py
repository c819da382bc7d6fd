"""S3 uploads checked before moto stores them: a body that does not match its checksum is
refused (400 BadDigest), as S3 refuses it; moto would store it."""

from __future__ import annotations

from collections.abc import Callable

from localaws.motoserver.protocol import Call, Reply, error_reply
from localaws.motoserver.state import HarnessState
from localaws.rules import s3 as s3_rules

Forward = Callable[[bytes], Reply]


def put_object(call: Call, state: HarnessState, forward: Forward) -> Reply:
    error = s3_rules.checksum_error(call.headers, call.body)
    if error is not None:
        return error_reply("rest-xml", error.code, error.message, error.status)
    return forward(call.body)
