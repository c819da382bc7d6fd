"""Seed data checked against botocore's service models and turned into JSON-protocol wire form.

A seeded finding may only hold members the ECR model knows, so that what the local server emits
is something the real service could send. Datetimes become epoch seconds, as on the wire.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


@functools.cache
def _service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


_SCALARS: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "long": int,
    "double": (int, float),
    "float": (int, float),
    "boolean": bool,
}


@functools.cache  # one tree per shape: botocore caches a shape's members on the instance
def shape(service: str, name: str) -> Any:
    """A named shape of a service model, e.g. ``shape("ecr", "ImageScanFinding")``."""
    return _service_model(service).shape_for(name)


def epoch_seconds(value: datetime | float) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


def to_wire(
    value: Any,
    model: Any,
    path: str = "$",
    timestamp: Callable[[float], Any] = float,
) -> Any:
    """``value`` checked against ``model`` (a botocore shape), in JSON wire form.

    Raises ValueError naming the path of the first member the model does not know or the first
    value of the wrong type. ``None`` members are dropped, as botocore never sends them.
    Times become epoch seconds, or what ``timestamp`` makes of those (an event's own format).
    """
    kind = model.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise ValueError(f"{path}: expected an object for {model.name}")
        members = model.members
        unknown = value.keys() - members.keys()
        if unknown:
            raise ValueError(f"{path}: {model.name} has no member(s) {', '.join(sorted(unknown))}")
        return {
            key: to_wire(item, members[key], f"{path}.{key}", timestamp)
            for key, item in value.items()
            if item is not None
        }
    if kind == "list":
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise ValueError(f"{path}: expected a list for {model.name}")
        return [
            to_wire(item, model.member, f"{path}[{i}]", timestamp) for i, item in enumerate(value)
        ]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise ValueError(f"{path}: expected an object for {model.name}")
        return {str(k): to_wire(v, model.value, f"{path}.{k}", timestamp) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, datetime | int | float):
            raise ValueError(f"{path}: expected a datetime or epoch seconds")
        return timestamp(epoch_seconds(value))
    wanted = _SCALARS.get(kind)
    if wanted is not None:
        if not isinstance(value, wanted) or (kind != "boolean" and isinstance(value, bool)):
            raise ValueError(f"{path}: expected {kind}, got {type(value).__name__}")
    return value
