"""Who may write an image (pure): the first to create its SUMMARY stream, or whoever takes
over a claim that is older than the function's timeout (its owner died).

CreateLogStream is atomic (one caller succeeds, the others get "already exists"), so creating a
stream is the claim: the SUMMARY stream on the first delivery (a call made anyway), a
``CLAIM-…-<n>`` stream for the n-th takeover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline import layout


@dataclass(frozen=True, slots=True)
class Holder:
    """The claims on an image: the highest generation (0 = the SUMMARY stream) and when the
    newest was made (epoch ms, CloudWatch's creationTime)."""

    generation: int
    created_ms: int

    def is_fresh(self, now_ms: int, timeout_ms: int) -> bool:
        """Its owner may still be writing: no invocation outlives the function's timeout."""
        return now_ms - self.created_ms < timeout_ms


def holder(summary_stream: str, streams: Iterable[Mapping[str, Any]]) -> Holder | None:
    """The claims among ``streams`` (DescribeLogStreams entries); None if none is one."""
    newest: Holder | None = None
    for stream in streams:
        name = stream.get("logStreamName")
        created = stream.get("creationTime")
        if not isinstance(name, str) or not isinstance(created, int):
            continue
        generation = 0 if name == summary_stream else layout.claim_generation(summary_stream, name)
        if generation is None:
            continue
        if newest is None:
            newest = Holder(generation, created)
        else:
            newest = Holder(max(generation, newest.generation), max(created, newest.created_ms))
    return newest
