"""EventBridge pattern matching on arrays of objects, as AWS does it.

AWS matches ``{"detail": {"resources": {"type": ["AWS_ECR_CONTAINER_IMAGE"]}}}`` against an
event whose ``detail.resources`` is a list of objects when any element's ``type`` matches.
moto flattens only nested objects, so such a pattern never matches there; the central rule's
pattern for "Inspector2 Finding" events relies on it. This teaches moto's matcher the rule.
"""

from __future__ import annotations

from typing import Any

_INSTALLED = False


def _flatten(node: Any, prefix: str = "", result: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [{"d": 2}, {"d": 3}]}`` → ``{"a.b": 1, "c.d": [2, 3]}``."""
    if result is None:
        result = {}
    if not isinstance(node, dict):
        return result
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            _flatten(value, path, result)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for element in value:
                leaves = _flatten(element, path) if isinstance(element, dict) else {path: element}
                for leaf, leaf_value in leaves.items():
                    values = leaf_value if isinstance(leaf_value, list) else [leaf_value]
                    existing = result.get(leaf, [])
                    existing = existing if isinstance(existing, list) else [existing]
                    result[leaf] = existing + values
        else:
            result[path] = value
    return result


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.events.models import EventPattern

    EventPattern._flatten_dict = staticmethod(_flatten)  # type: ignore[method-assign]
    _INSTALLED = True
