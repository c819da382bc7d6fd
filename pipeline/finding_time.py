"""Times inside an "Inspector2 Finding" event's ``detail`` → epoch milliseconds (pure).

They are not ISO 8601, and AWS's own examples use two formats over the years:
``"Dec 3, 2021, 6:02:30 PM"`` (no zone: UTC) and ``"Wed Sep 04 16:55:38.411 UTC 2024"``.
ISO 8601 (what the API returns) and epoch numbers are accepted too, in case the format changes
again. Parsing is by regular expression, never ``strptime``: month and AM/PM names must not
depend on the process locale.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

MAX_CHARS = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_ZONES = {"UTC": 0, "GMT": 0, "Z": 0}
_CLOCK = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"

# "Dec 3, 2021, 6:02:30 PM" (also without the comma after the year, or in 24-hour time)
_US = re.compile(
    rf"(?P<mon>[A-Za-z]{{3,9}})\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}}),?\s+{_CLOCK}"
    r"(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?(?:\s+(?P<zone>[A-Za-z]{1,5}|[+-]\d{2}:?\d{2}))?"
)
# "Wed Sep 04 16:55:38.411 UTC 2024" (Java's Date.toString, with milliseconds)
_UNIX = re.compile(
    rf"(?:[A-Za-z]{{3,9}},?\s+)?(?P<mon>[A-Za-z]{{3,9}})\s+(?P<d>\d{{1,2}})\s+{_CLOCK}"
    r"(?:\s+(?P<zone>[A-Za-z]{1,5}|[+-]\d{2}:?\d{2}))?\s+(?P<y>\d{4})"
)
# ISO 8601: "2024-09-04T16:55:38.411Z", "2024-09-04 16:55:38+02:00", no zone = UTC
_ISO = re.compile(
    rf"(?P<y>\d{{4}})-(?P<mo>\d{{2}})-(?P<d>\d{{2}})(?:[Tt ]{_CLOCK}"
    r"\s*(?P<zone>[Zz]|UTC|[+-]\d{2}(?::?\d{2})?)?)?"
)
_NUMBER = re.compile(r"\d{9,16}(?:\.\d+)?")


def parse_finding_time(value: object) -> int:
    """Epoch milliseconds of a finding time; ValueError when it is none of the known formats."""
    if isinstance(value, bool):
        raise ValueError("not a time: a boolean")
    if isinstance(value, int | float):
        return _from_number(float(value))
    if not isinstance(value, str):
        raise ValueError(f"not a time: a {type(value).__name__}")
    text = value.strip()
    if not text or len(text) > MAX_CHARS:
        raise ValueError("not a time: empty or too long")
    # Numbers and ISO 8601 start with a digit (\d: a Unicode decimal, as str.isdecimal), the
    # two textual formats with an ASCII letter; no text matches both _US and _UNIX.
    if text[0].isdecimal():
        if _NUMBER.fullmatch(text):
            return _from_number(float(text))
        iso = _ISO.fullmatch(text)
        if iso:
            return _build(iso, int(iso["mo"]))
    else:
        for pattern in (_UNIX, _US):
            match = pattern.fullmatch(text)
            if match:
                month = _MONTHS.get(match["mon"][:3].lower())
                if month is None:
                    raise ValueError(f"not a month: {match['mon'][:12]!r}")
                return _build(match, month)
    raise ValueError("not a known finding time format")


def _from_number(number: float) -> int:
    # Seconds or milliseconds since the epoch: 1e11 seconds is the year 5138.
    millis = number if number >= 1e11 else number * 1000
    if not 0 <= millis < 253_402_300_800_000:  # before the year 10000
        raise ValueError("epoch time out of range")
    return int(millis)


def _build(match: re.Match[str], month: int) -> int:
    groups = match.groupdict()
    hour = int(groups.get("h") or 0)
    ampm = groups.get("ampm")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("an hour of a 12-hour clock must be 1..12")
        hour = hour % 12 + (12 if ampm.replace(".", "").upper() == "PM" else 0)
    fraction = (groups.get("f") or "").ljust(6, "0")[:6]
    moment = datetime(
        int(groups["y"]),
        month,
        int(groups["d"]),
        hour,
        int(groups.get("mi") or 0),
        int(groups.get("s") or 0),
        int(fraction or 0),
        tzinfo=_zone(groups.get("zone")),
    )
    return (moment - _EPOCH) // _MS  # exact: no float rounding


def _zone(text: str | None) -> timezone:
    if not text:
        return UTC
    if text.upper() in _ZONES:
        return UTC
    if text[0] in "+-":
        digits = text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if text[0] == "-" else offset)
    raise ValueError(f"unknown time zone {text[:8]!r}")
