"""Vulnerability ids: how they are written, which ones a finding names, the watch list (pure).

A basic finding names its vulnerability in ``name``; an enhanced (Inspector) finding, and a
finding event's ``detail``, in ``packageVulnerabilityDetails.vulnerabilityId``. Ids are
compared normalised (CVE ids upper-cased, others as written), so ``cve-2021-44228`` on the
watch list matches a finding that says ``CVE-2021-44228``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Vulnerability ids: CVE-2024-3094, GHSA-xxxx-xxxx-xxxx, ALAS2-2024-2500, RHSA-2024:1234, ...
VULNERABILITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{1,127}")
_CVE = re.compile(r"cve-\d{4}-\d{4,}", re.IGNORECASE)


def normalize_id(text: str) -> str:
    """Validate a vulnerability id (ValueError if it is not one); CVE ids are upper-cased."""
    text = text.strip()
    if not VULNERABILITY_ID.fullmatch(text):
        raise ValueError(
            f"not a vulnerability id: {text!r} (expected e.g. CVE-2024-3094 or GHSA-…)"
        )
    return text.upper() if _CVE.fullmatch(text) else text


def parse_watch_list(text: str) -> tuple[str, ...]:
    """``"CVE-2021-44228, GHSA-…"`` → the normalised ids, first occurrence order, no repeats.
    Blank means none; every id that is not one is named in one ValueError."""
    ids: dict[str, None] = {}
    bad: list[str] = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            ids[normalize_id(part)] = None
        except ValueError:
            bad.append(part.strip())
    if bad:
        raise ValueError(
            "not vulnerability ids: "
            + ", ".join(repr(b[:140]) for b in bad[:10])
            + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
            + " (expected comma-separated ids such as CVE-2021-44228,GHSA-jfh8-c2jp-5v3q)"
        )
    return tuple(ids)


def named_ids(finding: Mapping[str, Any]) -> tuple[str, ...]:
    """The vulnerability ids a logged finding (or finding event detail) names, normalised; a
    value that is not an id is ignored."""
    found: list[str] = []
    for value in _candidates(finding):
        if isinstance(value, str) and len(value) <= 256:
            try:
                normalized = normalize_id(value)
            except ValueError:
                continue
            if normalized not in found:
                found.append(normalized)
    return tuple(found)


class WatchList:
    """The ids of ``WATCHED_VULNERABILITIES``; empty means no watching at all."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = tuple(normalize_id(i) for i in ids)
        self._set = frozenset(self.ids)

    def __bool__(self) -> bool:
        return bool(self._set)

    def __len__(self) -> int:
        return len(self._set)

    def watched_in(self, finding: Mapping[str, Any]) -> tuple[str, ...]:
        """The watched ids this finding names (empty: none, or no watch list). Set lookups
        first: this runs for every logged finding."""
        if not self._set:
            return ()
        found: tuple[str, ...] = ()
        for value in _candidates(finding):
            if not isinstance(value, str):
                continue
            text = value.strip()
            if text not in self._set:
                text = text.upper()  # a CVE id in another case: the list holds it upper-cased
                if text not in self._set or not _CVE.fullmatch(text):
                    continue
            if text not in found:
                found += (text,)
        return found


def _candidates(finding: Mapping[str, Any]) -> list[object]:
    details = finding.get("packageVulnerabilityDetails")
    if isinstance(details, Mapping):
        return [finding.get("name"), details.get("vulnerabilityId")]
    return [finding.get("name")]
