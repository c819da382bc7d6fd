"""Fuzzed SQS records through the real handler, in batches mixed with valid images.

Bodies: random JSON, random text, valid ECR and Inspector scan events with wrong types, huge
strings, unicode and nulls in any field (or fields removed), and now and then a body of almost
1 MiB. Nothing transient happens (no faults), so every message settles on its first delivery:
logged (``done``/``duplicate``) or dead-lettered with its reason. The contract checked on every
batch: the handler never raises; ``batchItemFailures`` is empty (so it names no unknown
message); one outcome line per message, each at most 8 KiB; every dead message is in the DLQ,
body unchanged, with an ``ErrorCode``, ``ReceiveCount`` 1, a bounded reason, within the SQS
size limit; a body that is not a scan event is never reported logged; the valid images are
logged exactly once.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipeline import limits

from .conftest import FIGURES, MAX_LINE_BYTES, NOTES, Image, Rig, not_exactly_once

BATCHES = 200
BODIES_PER_BATCH = (10, 14)  # so that every run fuzzes at least 2,000 bodies
MIN_BODIES = BATCHES * BODIES_PER_BATCH[0]
# A near-1 MiB body stays this far under the SQS limit: room for a shrunk reason (its code,
# receive count and source message id).
BIG_BODY_ROOM = 256


# ---- characters SQS accepts in a message: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000+ ----

SQS_CHARACTERS = st.one_of(
    st.sampled_from("\t\n\r"),
    st.characters(min_codepoint=0x20, exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"),
)
# Inside JSON strings any character but a lone surrogate is fine: json.dumps escapes controls.
JSON_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff")

text = st.text(JSON_CHARACTERS, max_size=16)
unicode_text = st.text(
    st.characters(min_codepoint=0x80, exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"),
    min_size=1,
    max_size=30,
)
# Longer than any outcome line may be (8 KiB), short enough to keep 2,000 bodies quick.
huge_text = st.builds(
    lambda unit, n: (unit * n)[:n],
    st.text(JSON_CHARACTERS, min_size=1, max_size=5),
    st.integers(9_000, 20_000),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(text, children, max_size=3)
    ),
    max_leaves=6,
)
# What a field of a valid event is replaced with: any other JSON value, huge or unicode text.
replacements: st.SearchStrategy[Any] = st.one_of(
    json_values, huge_text, unicode_text, st.just(None), st.just([])
)


def paths(event: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every member and element of the event, nested ones included."""
    found: list[tuple[Any, ...]] = []
    items = event.items() if isinstance(event, dict) else enumerate(event)
    for key, value in items:
        found.append((*prefix, key))
        if isinstance(value, dict | list):
            found += paths(value, (*prefix, key))
    return found


def mutate(event: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> None:
    parent: Any = event
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if how == "delete":
        del parent[key]
    elif how == "add" and isinstance(parent, dict):
        parent[f"{key}-extra"] = value
    else:
        parent[key] = value


def overlong(n: int) -> dict[str, Any]:
    """Hostile values that keep each field's own shape (a digest stays hex, a time ISO 8601)
    but are far longer than any real one: they pass a type check, not a length check."""
    return {
        "image-digest": "sha256:" + ("0123456789abcdef" * n)[:n],
        "time": "2026-11-29T06:00:00." + ("0123456789" * n)[:n] + "Z",
        "repository-name": "/".join(["team"] * (n // 5 + 1)),
        "image-tags": ["t" * n],
        "id": "i" * n,
        "account": "1" * n,
        "region": "us-east-" + "1" * n,
        "scan-status": "COMPLETE" * (n // 8 + 1),
        "source": "aws.ecr" * (n // 7 + 1),
    }


@st.composite
def mutated_event(draw: st.DrawFn, templates: list[dict[str, Any]]) -> str:
    event = copy.deepcopy(draw(st.sampled_from(templates)))
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(event)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        how = draw(st.sampled_from(["replace", "replace", "replace", "overlong", "delete", "add"]))
        if how == "overlong":
            shaped = overlong(draw(st.integers(65, 12_000))).get(path[-1])
            if shaped is not None:
                mutate(event, path, "replace", shaped)
                continue
            how = "replace"
        mutate(event, path, how, draw(replacements))
    return json.dumps(event, ensure_ascii=draw(st.booleans()))


def near_limit_body(rng: random.Random, templates: list[dict[str, Any]]) -> str:
    """A body of up to the SQS limit minus a reason's room (most often just that): one field
    is huge.

    Drawn with ``random`` rather than hypothesis: a megabyte is beyond what hypothesis
    generates comfortably, and nothing about it needs shrinking."""
    event = copy.deepcopy(rng.choice(templates))
    path = rng.choice(paths(event))
    mutate(event, path, "replace", "")
    # Mostly right at the edge, where the reason attributes decide whether it fits.
    below = rng.choice([0, 0, 1, 64, 256, 1024, rng.randint(0, 150_000)])
    size = limits.SQS_MAX_MESSAGE_BYTES - BIG_BODY_ROOM - below
    room = size - len(json.dumps(event).encode())
    char = rng.choice("x9aé€😀")
    mutate(event, path, "replace", char * (room // len(char.encode())))
    body = json.dumps(event, ensure_ascii=False)
    assert len(body.encode()) <= limits.SQS_MAX_MESSAGE_BYTES - BIG_BODY_ROOM
    return body


class Body:
    """One fuzzed body; reported short in failures."""

    __slots__ = ("text", "never_event")

    def __init__(self, text: str, never_event: bool) -> None:
        self.text = text
        self.never_event = never_event  # it cannot be a valid scan event

    def __repr__(self) -> str:
        return f"Body({short(self.text)}, never_event={self.never_event})"


def short(text: str, keep: int = 160) -> str:
    size = len(text.encode())
    return repr(text) if size <= keep else f"{size:,} bytes: {text[:keep]!r}…"


def bodies(templates: list[dict[str, Any]]) -> st.SearchStrategy[Body]:
    never_events = st.one_of(
        json_values.map(json.dumps).filter(lambda b: not b.startswith("{")),
        st.text(SQS_CHARACTERS, min_size=1, max_size=200),
        st.dictionaries(text, json_values, max_size=5).map(json.dumps),
    )
    return st.one_of(
        mutated_event(templates).map(lambda b: Body(b, False)),
        mutated_event(templates).map(lambda b: Body(b, False)),
        mutated_event(templates).map(lambda b: Body(b, False)),
        never_events.map(lambda b: Body(b, True)),
    )


def records_of(rig: Rig, batch: list[Body], prefix: str) -> tuple[list[dict[str, Any]], set[str]]:
    records, never_events = [], set()
    for i, body in enumerate(batch):
        # A record without a receive count is read as a first delivery.
        receive_count = None if i % 5 == 4 else 1
        record = rig.record(body.text, message_id=f"{prefix}-{i}", receive_count=receive_count)
        records.append(record)
        if body.never_event:
            never_events.add(record["messageId"])
    return records, never_events


class Violations:
    """Every broken promise of the run, by kind, with the first few examples of each."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, kind: str, example: str) -> None:
        self.count[kind] += 1
        examples = self.examples.setdefault(kind, [])
        example = re.sub(r"fuzz\d+-\d+", "…", example)[:600]
        if len(examples) < 3 and example not in examples:
            examples.append(example)

    def report(self) -> str:
        lines = []
        for kind, n in self.count.most_common():
            lines.append(f"{n:>6} × {kind}")
            lines += [f"         e.g. {example}" for example in self.examples[kind]]
        return "\n".join(lines)


def check_batch(
    rig: Rig,
    records: list[dict[str, Any]],
    never_events: set[str],
    valid: set[str],
    violations: Violations,
) -> None:
    ids = {r["messageId"] for r in records}
    bodies_by_id = {r["messageId"]: r["body"] for r in records}

    response, raised = rig.try_invoke(records)

    if raised is not None:
        violations.add(
            "the handler raised: Lambda fails the whole batch",
            f"{type(raised).__name__}: {raised}"[:300],
        )
        return
    if not (isinstance(response, dict) and set(response) == {"batchItemFailures"}):
        violations.add("not a partial batch response", short(repr(response)))
        return
    failures = response["batchItemFailures"]
    for failure in failures:
        if failure.get("itemIdentifier") not in ids:
            violations.add("an unknown itemIdentifier (fails the whole batch)", repr(failure))
    for raw in rig.raw_lines:
        if len(raw.encode()) > MAX_LINE_BYTES:
            violations.add(f"a stdout line over {MAX_LINE_BYTES:,} bytes", short(raw, 200))
    outcomes = rig.outcomes()
    for mid in ids - set(outcomes):
        violations.add("a message without an outcome line", short(bodies_by_id[mid]))
    for failure in failures:
        mid = failure.get("itemIdentifier")
        line = outcomes.get(mid, {})
        violations.add(
            "kept on the queue although nothing transient happened "
            f"({line.get('reason')}: {str(line.get('detail'))[:48]})",
            f"{line.get('outcome')}: {line.get('reason')}: {str(line.get('detail'))[:150]} "
            f"{str(line.get('notes', ''))[:150]} — body {short(bodies_by_id.get(mid, ''))}",
        )

    dead_ids = {mid for mid, line in outcomes.items() if line["outcome"] == "dead"}
    for mid in never_events - dead_ids:
        violations.add(
            "a body that is no scan event was not dead-lettered",
            f"{outcomes.get(mid, {}).get('outcome')}: {short(bodies_by_id[mid])}",
        )
    for mid in valid & dead_ids:
        violations.add("a valid image was dead-lettered", str(outcomes[mid]["reason"]))

    dead = rig.take_dead_letters(wanted=dead_ids)
    for mid in sorted(dead_ids):
        body = short(bodies_by_id[mid])
        letter = dead.get(mid)
        if letter is None:
            violations.add("a dead message is not in the DLQ", body)
            continue
        attributes = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
        if letter["Body"] != bodies_by_id[mid]:
            violations.add("a dead letter's body was altered", body)
        if not attributes.get("ErrorCode"):
            violations.add("a dead letter without its ErrorCode", body)
        if attributes.get("ReceiveCount") != "1":
            violations.add("a dead letter not dead on its first delivery", body)
        if len(attributes.get("ErrorMessage", "")) > limits.DLQ_REASON_MAX_CHARS:
            violations.add("a DLQ ErrorMessage over the limit", body)
        size = len(letter["Body"].encode()) + sum(
            len(k.encode()) + len(v["DataType"].encode()) + len(v["StringValue"].encode())
            for k, v in letter["MessageAttributes"].items()
        )
        if size > limits.SQS_MAX_MESSAGE_BYTES:
            violations.add("a dead letter larger than SQS allows", body)


def test_fuzzed_batches_never_fail_the_batch_and_settle_on_first_delivery(rig: Rig) -> None:
    images: list[Image] = [
        rig.image("fuzz/web", "v1.0", 3, seed=1),
        rig.image("fuzz/web", None, 2, seed=2),
        rig.image("fuzz/inspected/api", "prod", 3, kind="enhanced", seed=3),
    ]
    templates = [image.event for image in images]
    tally = {"bodies": 0, "batches": 0, "big": 0}
    violations = Violations()

    @settings(
        max_examples=BATCHES,
        deadline=None,
        # Hypothesis generates; the batches are checked by collecting every broken promise of
        # the whole run (reported at the end, by kind, with examples): nothing to shrink.
        phases=[Phase.generate],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(
        batch=st.lists(
            bodies(templates), min_size=BODIES_PER_BATCH[0], max_size=BODIES_PER_BATCH[1]
        ),
        with_valid=st.sampled_from([None, *range(len(images))]),  # which valid image joins
    )
    def run(batch: list[Body], with_valid: int | None) -> None:
        tally["batches"] += 1
        # Every tenth batch carries a body of almost 1 MiB.
        big = []
        if tally["batches"] % 10 == 1:
            big.append(Body(near_limit_body(random.Random(tally["batches"]), templates), False))
        prefix = f"fuzz{tally['batches']}"
        records, never_events = records_of(rig, batch + big, prefix)
        valid: set[str] = set()
        if with_valid is not None:
            record = rig.record(images[with_valid], message_id=f"{prefix}-valid")
            records.insert(len(records) // 2, record)
            valid.add(record["messageId"])
        tally["bodies"] += len(batch) + len(big)
        tally["big"] += len(big)
        FIGURES["fuzzed_bodies"] += len(batch) + len(big)
        check_batch(rig, records, never_events, valid, violations)

    run()

    NOTES.append(
        f"fuzz: {tally['bodies']:,} fuzzed bodies ({tally['big']} of ~1 MiB) in "
        f"{tally['batches']} batches; {sum(violations.count.values())} broken promises"
    )
    assert not violations.count, "broken promises:\n" + violations.report()
    # Each valid image was logged once (its own streams), however often it came.
    for image in images:
        rig.invoke([rig.record(image)])
    assert not_exactly_once(rig.tally_all(images, exact=True)) == {}
    assert tally["bodies"] >= MIN_BODIES
    # Nothing is left behind by what could not be logged: no log group but the valid images'
    # repositories', and no stream without events (an empty SUMMARY stream would claim an image).
    groups = rig.logs.describe_log_groups()["logGroups"]
    assert sorted(g["logGroupName"] for g in groups) == sorted({i.group for i in images})
    for group in {i.group for i in images}:
        empty = [name for name in rig.streams(group) if not rig.messages(group, name)]
        assert empty == [], f"empty streams left in {group}"
