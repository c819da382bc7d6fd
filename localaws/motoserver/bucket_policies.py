"""Bucket policies with a TLS condition, evaluated as S3 evaluates them for an SDK's request.

The usual "deny every request without TLS" statement (``Deny`` ``s3:*`` to ``*`` when
``aws:SecureTransport`` is ``false``) denies everything in moto: it matches principal ``*``
without looking at the condition, and a condition it cannot check makes even a ``Deny``
statement deny. The local endpoint is plain HTTP, but the requests it serves stand for an SDK's
HTTPS requests to S3. ``install()`` has moto evaluate a bucket's policy for such a request:
a statement whose ``aws:SecureTransport`` condition is false for it is left out, one whose
condition holds is kept without it; other conditions go to moto as they are.
"""

from __future__ import annotations

import json
from typing import Any

# The request context of an SDK's request to S3, as far as these conditions ask.
REQUEST = {"aws:SecureTransport": "true"}
_INSTALLED = False


def for_request(policy: dict[str, Any], context: dict[str, str] = REQUEST) -> dict[str, Any]:
    """The policy with each statement's ``Bool`` conditions on the context's keys decided:
    the statement dropped where one is false, the decided conditions removed where all hold."""
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept = []
    for statement in statements:
        conditions = dict(statement.get("Condition", {}))
        booleans = dict(conditions.get("Bool", {}))
        decided = {key: booleans.pop(key) for key in list(booleans) if key in context}
        if any(str(value).lower() != context[key] for key, value in decided.items()):
            continue
        if booleans:
            conditions["Bool"] = booleans
        else:
            conditions.pop("Bool", None)
        kept.append(
            {k: v for k, v in statement.items() if k != "Condition"}
            | ({"Condition": conditions} if conditions else {})
        )
    return {**policy, "Statement": kept}


def install() -> None:
    """Evaluate bucket policies for an SDK's request (once per process)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = for_request(json.loads(self.policy.decode()))
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    _INSTALLED = True
