"""``make package``: the zip holds the handler and its whole runtime, and nothing else.

The packager runs as ``make package`` runs it, for one architecture (pip reuses its cache, so
this stays quick once the wheels are there); it also builds for the local interpreter and runs
the handler from that build alone.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from iac_model import ROOT, handler_sources
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ARCHITECTURE = "arm64"
# Operator, local-development and test code never ships.
NOT_SHIPPED = ("tests/", "bench/", "infra/", "pipeline/cli/", "pipeline/ops/", "localaws/")
LAMBDA_MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
# The Lambda runtime the zip is for, as dependency markers see it.
TARGET = {
    **default_environment(),
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "extra": "",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out, work = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("build")
    command = [sys.executable, "-m", "infra.package", "--arch", ARCHITECTURE]
    result = subprocess.run(
        [*command, "--out", str(out), "--work", str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / f"ecr-findings-logger-{ARCHITECTURE}.zip", result.stdout


def runtime_requirements() -> list[str]:
    """The package's dependencies, less those only the operators' CLI imports."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        config = tomllib.load(f)
    cli_only = {
        canonicalize_name(Requirement(r).name)
        for r in config["tool"]["ecr-findings-logger"]["cli-only-dependencies"]
    }
    return [
        r
        for r in config["project"]["dependencies"]
        if canonicalize_name(Requirement(r).name) not in cli_only
    ]


def test_the_cli_only_dependencies_are_ones_the_handler_never_imports() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        cli_only = tomllib.load(f)["tool"]["ecr-findings-logger"]["cli-only-dependencies"]
    modules = {canonicalize_name(name).replace("-", "_") for name in cli_only}
    for path in handler_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported = {node.module.split(".")[0]}
            else:
                continue
            assert not imported & modules, f"{path} imports {imported & modules}"


@pytest.fixture(scope="module")
def names(built: tuple[Path, str]) -> list[str]:
    with zipfile.ZipFile(built[0]) as archive:
        return archive.namelist()


def test_it_prints_the_size_and_checks_the_local_build(built: tuple[Path, str]) -> None:
    path, printed = built
    assert re.search(rf"{re.escape(str(path))}: [\d.]+ MiB zipped, [\d.]+ MiB unzipped", printed)
    assert "import check passed" in printed
    assert path.stat().st_size > 1024 * 1024


def test_it_holds_every_module_the_handler_imports(names: list[str]) -> None:
    expected = {path.relative_to(ROOT).as_posix() for path in handler_sources()}
    assert "lambdas/findings_logger.py" in expected
    assert expected <= set(names)


def test_it_holds_no_tests_and_no_operator_or_local_tools(names: list[str]) -> None:
    assert not [n for n in names if n.startswith(NOT_SHIPPED)]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    shipped = {n for n in names if n.startswith(("pipeline/", "lambdas/")) and n.endswith(".py")}
    imported = {path.relative_to(ROOT).as_posix() for path in handler_sources()}
    # Besides what the handler imports, only the package markers its imports pass through.
    assert {n for n in shipped - imported if not n.endswith("/__init__.py")} == set()


def _distributions(names: list[str], archive: zipfile.ZipFile) -> dict[str, list[Requirement]]:
    """Distribution name -> its requirements, from the dist-info folders in the zip."""
    found: dict[str, list[Requirement]] = {}
    for name in names:
        if re.fullmatch(r"[^/]+\.dist-info/METADATA", name):
            text = archive.read(name).decode()
            (dist,) = re.findall(r"^Name: (.+)$", text, re.M)
            found[canonicalize_name(dist)] = [
                Requirement(r) for r in re.findall(r"^Requires-Dist: (.+)$", text, re.M)
            ]
    return found


def test_it_holds_the_runtime_dependencies_and_nothing_else(built: tuple[Path, str]) -> None:
    with zipfile.ZipFile(built[0]) as archive:
        shipped = _distributions(archive.namelist(), archive)
    needed: set[tuple[str, str]] = set()  # (distribution, extra or "")
    pending = [(Requirement(r), "") for r in runtime_requirements()]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({**TARGET, "extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        assert name in shipped, f"{requirement} is missing from the zip"
        for wanted in ("", *requirement.extras):
            if (name, wanted) not in needed:
                needed.add((name, wanted))
                pending += [(r, wanted) for r in shipped[name]]
    assert set(shipped) == {name for name, _ in needed}
    assert not {"typer", "rich", "click", "moto"} & set(shipped)  # the CLI's and the demo's
    assert {"aioboto3", "aiobotocore", "botocore", "pydantic", "pydantic-core", "orjson"} <= set(
        shipped
    )


def test_native_code_is_for_lambdas_python_and_architecture(names: list[str]) -> None:
    extensions = [n for n in names if n.endswith(".so") or ".so." in n]
    assert any(n.startswith("pydantic_core/") for n in extensions)
    assert any(n.startswith("orjson/") for n in extensions)
    for name in extensions:
        assert re.search(r"cpython-313-aarch64-linux-gnu|abi3|\.libs/", name), name


def test_the_zip_is_reproducible(built: tuple[Path, str]) -> None:
    with zipfile.ZipFile(built[0]) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert len({i.date_time for i in infos}) == 1
    assert sum(i.file_size for i in infos) < LAMBDA_MAX_UNZIPPED_BYTES
