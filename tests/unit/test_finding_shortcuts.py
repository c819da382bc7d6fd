"""The finding-event path's shortcuts (for a burst's volume) give exactly what the general code
gives: the envelope without pydantic, EventBridge times, finding times, ISO times, day streams
and messages rendered in one go."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pipeline import events, finding_time, layout
from pipeline.errors import PermanentError
from pipeline.render import Renderer, finding_message
from pipeline.timestamps import DAY_MS
from pipeline.writers import finding_events

# ---- the envelope -------------------------------------------------------------------------

_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_:٣ \n", max_size=40)
_ANY = st.one_of(st.none(), st.integers(), st.booleans(), _TEXT, st.lists(_TEXT, max_size=2))
_EDGE_REGIONS = [
    "us-east-1",
    "us-gov-west-1",
    "N/A",
    "us-east-1\n",
    "US-EAST-1",
    "us-" + "a" * 27 + "-1",  # 32 characters
    "us-" + "a" * 28 + "-1",  # 33
    "us-east-٣",
]
_EDGE_ACCOUNTS = ["123456789012", "12345678901", "١٢٣٤٥٦٧٨٩٠١٢", "123456789012\n", 123456789012]
_REGIONS = st.one_of(st.sampled_from(_EDGE_REGIONS), _ANY)
_ACCOUNTS = st.one_of(st.sampled_from(_EDGE_ACCOUNTS), _ANY)  # Arabic-Indic: pydantic decides


_VALID = {
    "id": "5e0d2b7c-1f3a-4c8e-9b6d-0a7f3e2d1c4b",
    "time": "2024-09-04T16:55:39Z",
    "account": "123456789012",
    "region": "eu-west-1",
    "resources": ["arn:aws:ecr:eu-west-1:123456789012:repository/a/sha256:00"],
    "detail": {"findingArn": "arn:aws:inspector2:eu-west-1:123456789012:finding/1"},
}
_ODD = {
    "id": st.one_of(st.just(""), st.just("x" * 256), st.just("x" * 257), _ANY),
    "time": st.one_of(st.just("t" * 64), st.just("t" * 65), _ANY),
    "account": _ACCOUNTS,
    "region": _REGIONS,
    "resources": st.one_of(st.lists(_ANY, max_size=2), _ANY),
    "detail": st.one_of(st.dictionaries(_TEXT, _ANY, max_size=3), st.just({1: "x"}), _ANY),
}


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A valid envelope with a field or two odd or missing (most are valid, some not)."""
    raw: dict[str, Any] = dict(_VALID)
    for name in draw(st.lists(st.sampled_from(sorted(_VALID)), max_size=2, unique=True)):
        if draw(st.booleans()):
            raw[name] = draw(_ODD[name])
        else:
            del raw[name]
    return raw


_EDGES = [
    *(("id", v) for v in ["", "x", "x" * 256, "x" * 257, 7, None]),
    *(("time", v) for v in ["t" * 64, "t" * 65, 20240904, None]),
    *(("account", v) for v in [*_EDGE_ACCOUNTS, None]),
    *(("region", v) for v in [*_EDGE_REGIONS, None]),
    *(("resources", v) for v in [[], [1, None], (), None, "arn"]),
    *(("detail", v) for v in [{}, {1: "x"}, [], None, "x"]),
]


@pytest.mark.parametrize(("name", "value"), [*_EDGES, *((n, ...) for n in _VALID)])
def test_the_envelope_shortcut_agrees_with_pydantic_at_the_edges(name: str, value: Any) -> None:
    raw = dict(_VALID)
    if value is ...:
        del raw[name]
    else:
        raw[name] = value
    _agrees(raw)


@settings(max_examples=300)
@given(envelopes())
def test_the_envelope_shortcut_agrees_with_pydantic(raw: dict[str, Any]) -> None:
    _agrees(raw)


def _agrees(raw: dict[str, Any]) -> None:
    try:
        model = events._FindingEnvelope.model_validate(raw)
    except ValidationError:
        assert events._envelope_fast(raw) is None
        with pytest.raises(PermanentError) as caught:
            events._envelope(raw)
        assert caught.value.code == "invalid_event"
        return
    expected = (model.id, model.time, model.account, model.region, model.resources, model.detail)
    assert events._envelope(raw) == expected
    fast = events._envelope_fast(raw)
    assert fast is None or fast == expected


# ---- EventBridge's `time` ------------------------------------------------------------------


def _pydantic_ms(text: str) -> int:
    return int(events._Time.model_validate({"value": text}).value.timestamp() * 1000)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_eventbridge_times_read_as_pydantic_reads_them(moment: datetime) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%SZ").rjust(20, "0")
    assert events._EVENTBRIDGE_TIME.fullmatch(text)
    assert events._parse_time(text) == _pydantic_ms(text)


@given(
    st.tuples(
        st.integers(0, 9999),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
        st.integers(0, 99),
    )
)
def test_an_impossible_eventbridge_time_is_worded_by_pydantic(parts: tuple[int, ...]) -> None:
    text = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*parts)
    try:
        expected = _pydantic_ms(text)
    except ValidationError:
        with pytest.raises(PermanentError, match="not an ISO 8601 timestamp with a zone"):
            events._parse_time(text)
    else:
        assert events._parse_time(text) == expected


# ---- times inside detail -------------------------------------------------------------------


def _reference_finding_time(value: object) -> int:
    """parse_finding_time as written before its shortcut: every pattern, in this order."""
    if isinstance(value, str):
        text = value.strip()
        if text and len(text) <= finding_time.MAX_CHARS:
            if finding_time._NUMBER.fullmatch(text):
                return finding_time._from_number(float(text))
            iso = finding_time._ISO.fullmatch(text)
            if iso:
                return finding_time._build(iso, int(iso["mo"]))
            for pattern in (finding_time._US, finding_time._UNIX):
                match = pattern.fullmatch(text)
                if match:
                    month = finding_time._MONTHS.get(match["mon"][:3].lower())
                    if month is None:
                        raise ValueError(f"not a month: {match['mon'][:12]!r}")
                    return finding_time._build(match, month)
            raise ValueError("not a known finding time format")
    return finding_time.parse_finding_time(value)  # the non-text cases did not change


_PIECES = st.sampled_from(
    [
        "Wed", "Sep", "Dec", "Foo", "04", "3", "3,", "2024", "2021,", "16:55:38.411",
        "6:02:30", "12:00", "PM", "a.m.", "UTC", "GMT", "CET", "+02:00", "-0530", "T",
        "2024-09-04", "2024-09-04T16:55:38.411Z", "1725468938", "1725468938411.5", "٣", "-",
    ]
)  # fmt: skip


@given(st.lists(_PIECES, min_size=1, max_size=7), st.sampled_from([" ", "", ", "]))
def test_finding_times_read_as_before_the_shortcut(pieces: list[str], joiner: str) -> None:
    text = joiner.join(pieces)
    try:
        expected: int | str = _reference_finding_time(text)
    except ValueError as exc:
        expected = f"ValueError: {exc}"
    try:
        got: int | str = finding_time.parse_finding_time(text)
    except ValueError as exc:
        got = f"ValueError: {exc}"
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "Wed Sep 04 16:55:38.411 UTC 2024",
        "Dec 3, 2021, 6:02:30 PM",
        "Dec 3 2021 6:02:30 pm",
        "Sep 04 16:55:38 2024",
        "Wed, Sep 04 16:55:38 +02:00 2024",
        "2024-09-04T16:55:38.411Z",
        "1725468938411",
        "Foo 3, 2021, 6:02:30 PM",
        "Dec 31, 2021, 13:02:30 PM",
        "Feb 30, 2021, 6:02:30 PM",
    ],
)
def test_the_documented_and_odd_finding_times_read_as_before(text: str) -> None:
    outcomes = []
    for parse in (_reference_finding_time, finding_time.parse_finding_time):
        try:
            outcomes.append(parse(text))
        except ValueError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]


# ---- the writer's ISO times and day streams ------------------------------------------------


def _reference_iso_ms(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


@given(st.integers(-62_135_596_800_000, 253_402_300_799_999))
def test_iso_ms_is_strftimes(epoch_ms: int) -> None:
    assert finding_events.iso_ms(epoch_ms) == _reference_iso_ms(epoch_ms)


@pytest.mark.parametrize("epoch_ms", [0, 999, 1_000, 86_399_999, 86_400_000, 253_402_300_799_999])
def test_iso_ms_at_the_edges(epoch_ms: int) -> None:
    assert finding_events.iso_ms(epoch_ms) == _reference_iso_ms(epoch_ms)


@given(st.integers(0, 253_402_300_799_999))
def test_the_day_stream_of_a_timestamp_is_its_days(ts: int) -> None:
    assert finding_events._day_stream(ts // DAY_MS) == layout.finding_events_stream(ts)


@pytest.mark.parametrize("day", [0, 1, 20_424, 2_932_896])
def test_the_last_millisecond_of_a_day_is_that_day(day: int) -> None:
    last = (day + 1) * DAY_MS - 1
    assert finding_events._day_stream(day) == layout.finding_events_stream(last)


# ---- messages ------------------------------------------------------------------------------

_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=30)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = st.one_of(st.text(max_size=12), st.sampled_from(["imageContext", "_imageContext"]))


@given(
    st.dictionaries(_KEYS, _JSON, max_size=6),
    st.dictionaries(st.text(max_size=8), _JSON, max_size=4),
    st.sampled_from([40, 200, 100_000]),
)
def test_a_message_rendered_in_one_go_is_the_renderers(
    finding: dict[str, Any], context: dict[str, Any], max_bytes: int
) -> None:
    try:
        expected = Renderer(context, max_bytes).finding(finding)
    except ValueError as exc:  # the context alone does not fit
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            finding_message(finding, context, max_bytes)
        return
    assert finding_message(finding, context, max_bytes) == expected
    assert orjson.loads(expected.text)  # valid JSON either way
