"""Findings → JSON log messages (pure).

Each message is the finding's own fields at top level, exactly as the API returned them, plus
an ``imageContext`` object. A message too large for CloudWatch is truncated — its largest text
fields first, each with a visible marker — so it stays valid JSON and is never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from pipeline import limits
from pipeline.events import ImageScan

CONTEXT_KEY = "imageContext"
_CONTEXT_MEMBER = b'"' + CONTEXT_KEY.encode() + b'":'
_WHOLE = "truncatedFinding"
TRUNCATION_MARKER = "…[truncated {} bytes]"
# Strings shorter than this are not worth cutting; lists are shortened instead.
_MIN_CUT = 64


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered log message and its UTF-8 size (what PutLogEvents counts)."""

    text: str
    size: int


def image_context(scan: ImageScan, *, account: str | None, region: str | None) -> dict[str, Any]:
    return {
        "account": account,
        "region": region,
        "repository": scan.repository,
        "imageDigest": scan.digest,
        "imageTags": list(scan.tags),
        "scanTime": scan.time,
        "scanKind": scan.kind,
    }


def context_key(finding: Mapping[str, Any]) -> str:
    """The context's key: ``imageContext``, or an underscored variant if the finding has it."""
    key = CONTEXT_KEY
    while key in finding:
        key = "_" + key
    return key


def summary_context(message: str) -> dict[str, Any] | None:
    """The image context of a SUMMARY message (None if the message is not one of ours)."""
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    context = data.get(CONTEXT_KEY) if isinstance(data, dict) else None
    return context if isinstance(context, dict) else None


def finding_message(
    finding: Mapping[str, Any],
    context: Mapping[str, Any],
    max_bytes: int = limits.MAX_MESSAGE_BYTES,
) -> Message:
    """``Renderer(context).finding(finding)``, for a context used once: one serialisation."""
    if CONTEXT_KEY not in finding:
        data = orjson.dumps({**finding, CONTEXT_KEY: context})
        if len(data) <= max_bytes:
            return Message(data.decode(), len(data))
    return Renderer(context, max_bytes).finding(finding)


class Renderer:
    """Renders the findings of one image; the context is serialised once, not per finding."""

    def __init__(self, context: Mapping[str, Any], max_bytes: int = limits.MAX_MESSAGE_BYTES):
        self._context = dict(context)
        self._context_json = orjson.dumps(self._context)
        self._max_bytes = max_bytes

    def finding(self, finding: Mapping[str, Any]) -> Message:
        if CONTEXT_KEY in finding:
            return self._render_slow(finding)
        body = orjson.dumps(finding)
        # Splice the context in as the last member: '{...}' → '{...,"imageContext":{...}}'.
        sep = b"," if len(body) > 2 else b""
        data = b"".join((body[:-1], sep, _CONTEXT_MEMBER, self._context_json, b"}"))
        if len(data) > self._max_bytes:
            return self._render_slow(finding)
        return Message(data.decode(), len(data))

    def summary(self, extra: Mapping[str, Any]) -> Message:
        return self._render_slow(extra)

    def _render_slow(self, finding: Mapping[str, Any]) -> Message:
        key = context_key(finding)
        data = orjson.dumps({**finding, key: self._context})
        if len(data) > self._max_bytes:
            data = truncate(finding, key, self._context, self._max_bytes)
        return Message(data.decode(), len(data))


def _strings(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))


def _lists(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], list[Any]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _lists(value, (*path, key))
    elif isinstance(node, list):
        yield path, node
        for index, value in enumerate(node):
            yield from _lists(value, (*path, index))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


def _cut_utf8(text: str, keep_bytes: int) -> str:
    return text.encode()[: max(keep_bytes, 0)].decode("utf-8", errors="ignore")


def truncate(
    finding: Mapping[str, Any], key: str, context: Mapping[str, Any], max_bytes: int
) -> bytes:
    """The JSON of ``finding`` plus ``{key: context}``, shrunk to fit ``max_bytes``.

    The finding is copied, never changed, and the context is never cut. The largest strings
    are cut first (by UTF-8 bytes), each ending in a marker saying how much was cut; when only
    short strings are left, the longest list is halved (its last item says how many items were
    dropped); a finding whose bulk is in neither (e.g. thousands of keys) is kept as the start
    of its own JSON text under ``truncatedFinding``. Nothing is ever dropped whole.
    """
    doc: dict[str, Any] = orjson.loads(orjson.dumps(finding))  # a deep, JSON-only copy
    dropped: dict[tuple[Any, ...], int] = {}  # list path → items dropped so far
    while True:
        data = orjson.dumps({**doc, key: context})
        if len(data) <= max_bytes:
            return data
        excess = len(data) - max_bytes
        path, text = max(_strings(doc), key=lambda item: len(item[1].encode()), default=((), ""))
        size = len(text.encode())
        if path and size > _MIN_CUT:
            # JSON escaping can make the serialised text longer than the raw text: cut a
            # little more than the excess and loop if that was not enough.
            cut = _cut_utf8(text, size - excess - 48)
            _set(doc, path, cut + TRUNCATION_MARKER.format(size - len(cut.encode())))
            continue
        lists = [(p, items[:-1] if p in dropped else items) for p, items in _lists(doc)]
        lpath, items = max(lists, key=lambda item: len(item[1]), default=((), []))
        if len(items) > 1:
            keep = len(items) // 2
            dropped[lpath] = dropped.get(lpath, 0) + len(items) - keep
            _set(doc, lpath, [*items[:keep], f"…[{dropped[lpath]} items truncated]"])
            continue
        if set(doc) == {_WHOLE}:
            raise ValueError("the image context alone is larger than a log event")
        doc, dropped = {_WHOLE: orjson.dumps(doc).decode()}, {}
