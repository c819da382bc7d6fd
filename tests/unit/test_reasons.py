"""The reason registry is the consumer's: every code a raise site names is known, and no
known code is one that nothing raises. The operators' guide explains each of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline import reasons
from pipeline.aws.ecr import FINAL_WITHOUT_FINDINGS
from pipeline.aws.errors import PERMANENT_CODES

ROOT = Path(__file__).resolve().parents[2]
ERRORS = {"RetryableError", "PermanentError"}


def _raised_literals() -> dict[str, str]:
    """Code → file, for every ``RetryableError("code", …)`` / ``PermanentError("code", …)``."""
    found: dict[str, str] = {}
    for path in [*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "lambdas").rglob("*.py")]:
        if "local" in path.relative_to(ROOT).parts:  # the local AWS raises none of ours
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0]
            # RetryableError("code", …), or an error class's super().__init__("code", …)
            raises = name in ERRORS or (
                name == "__init__"
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Call)
                and getattr(func.value.func, "id", None) == "super"
            )
            if raises and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found[first.value] = str(path.relative_to(ROOT))
    return found


def test_every_raised_code_is_known() -> None:
    raised = _raised_literals()
    missing = {code: where for code, where in raised.items() if code not in reasons._RAISED}
    assert not missing, f"add these to pipeline/reasons.py: {missing}"


def test_every_listed_code_is_raised() -> None:
    stale = reasons._RAISED - set(_raised_literals())
    assert not stale, f"no code raises these any more: {sorted(stale)}"


def test_mapped_codes_are_known() -> None:
    mapped = set(PERMANENT_CODES.values()) | set(FINAL_WITHOUT_FINDINGS.values())
    assert mapped <= reasons.CONSUMER_REASONS


def test_the_operations_guide_explains_every_reason() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    table = guide[guide.index("### What the reasons mean") :]
    table = table[: table.index("\n\n", table.index("| reason |"))]
    missing = sorted(r for r in reasons.CONSUMER_REASONS if f"`{r}`" not in table)
    assert not missing, f"docs/operations.md does not explain: {missing}"


@pytest.mark.parametrize(
    "reason",
    ["throttled", "image_not_found", "unknown", "eventbridge:NO_PERMISSIONS", "eventbridge:X_1"],
)
def test_known(reason: str) -> None:
    assert reasons.is_known(reason)


@pytest.mark.parametrize(
    "reason",
    ["image_not_fond", "", "THROTTLED", "eventbridge:", "eventbridge:no_permissions", "unknown "],
)
def test_unknown(reason: str) -> None:
    assert not reasons.is_known(reason)
    assert reasons.unknown_reasons(["throttled", reason]) == [reason]
