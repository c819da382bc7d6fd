"""Build the deployable Lambda zip: the handler's code plus its runtime dependencies.

    python -m infra.package [--arch arm64] [--arch x86_64] [--out dist] [--no-import-check]

For each architecture, pip installs the ``[project] dependencies`` of pyproject.toml — less
those only the operators' CLI imports (``[tool.ecr-findings-logger] cli-only-dependencies``) — as
manylinux wheels for CPython 3.13 into a staging folder, the handler's module and the project
modules it imports are copied next to them (so none of the operators' or local-development
tools, nor tests), and the folder is zipped reproducibly: same inputs, same bytes, so
Terraform's ``source_code_hash`` only changes with the code. A build for the local interpreter
is then run in isolation (no site-packages) to prove that nothing the handler needs is missing.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.13"
# Lambda's architecture name -> the wheel platform suffix. manylinux2014 (glibc 2.17) wheels
# run everywhere; manylinux_2_28 ones are accepted too (Lambda's AL2023 has glibc 2.34).
ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}
# The handler; the project modules it imports (directly or not) are shipped, nothing else of
# the project (no operator CLI, local AWS, demo or queue runner).
HANDLER_MODULE = "lambdas.findings_logger"
# What the runtime never needs: caches, and the console scripts pip puts in <target>/bin.
PRUNED_DIRS = ("__pycache__",)
PRUNED_SUFFIXES = (".pyc", ".pyo")
# Lambda's limit on a function's unzipped deployment package.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
# Fixed timestamp for every zip entry (the earliest a zip can hold), for reproducible bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Package:
    architecture: str
    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    sha256: str


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The ``[project] dependencies`` the handler needs at run time: all but the CLI's."""
    with pyproject.open("rb") as f:
        config = tomllib.load(f)
    cli_only = {_name(r) for r in config["tool"]["ecr-findings-logger"]["cli-only-dependencies"]}
    return [r for r in config["project"]["dependencies"] if _name(r) not in cli_only]


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name[1]).lower()


def pip_install(requirements: Sequence[str], target: Path, architecture: str | None) -> None:
    """Install wheels into ``target``: for Lambda's platform, or the local one when None."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--only-binary=:all:",
        "--target",
        str(target),
    ]
    if architecture is not None:
        machine = ARCHITECTURES[architecture]
        command += ["--platform", f"manylinux2014_{machine}"]
        command += ["--platform", f"manylinux_2_28_{machine}"]
        command += ["--python-version", PYTHON_VERSION, "--implementation", "cp"]
    subprocess.run([*command, *requirements], check=True)


def handler_modules(root: Path = ROOT) -> list[Path]:
    """The handler's file and every project file it imports, with their packages' __init__."""
    found: set[Path] = set()
    pending = [HANDLER_MODULE]
    while pending:
        name = pending.pop()
        path = _project_file(root, name)
        if path is None or path in found:
            continue
        found.add(path)
        parts = name.split(".")
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]
        package = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                pending += [module, *(f"{module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                pending += [alias.name for alias in node.names]
    return sorted(found)


def _project_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def copy_sources(root: Path, target: Path) -> None:
    """Copy the handler's modules, and the data files beside them (e.g. py.typed)."""
    modules = handler_modules(root)
    folders = {path.parent for path in modules}
    data = [
        path
        for folder in folders
        for path in folder.iterdir()
        if path.is_file() and path.suffix not in (".py", *PRUNED_SUFFIXES)
    ]
    for path in [*modules, *data]:
        destination = target / path.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def prune(staging: Path) -> None:
    shutil.rmtree(staging / "bin", ignore_errors=True)
    for path in sorted(staging.rglob("*"), reverse=True):
        if path.is_dir() and path.name in PRUNED_DIRS:
            shutil.rmtree(path)
        elif path.is_file() and path.name.endswith(PRUNED_SUFFIXES):
            path.unlink()


def stage(root: Path, staging: Path, architecture: str | None) -> None:
    """Fill ``staging`` afresh with dependencies and sources."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    pip_install(runtime_requirements(root / "pyproject.toml"), staging, architecture)
    copy_sources(root, staging)
    prune(staging)


def _files(staging: Path) -> Iterator[Path]:
    # Sorted as the entry names compare, so the order does not depend on the file system.
    return iter(sorted((p for p in staging.rglob("*") if p.is_file()), key=lambda p: p.as_posix()))


def write_zip(staging: Path, destination: Path) -> int:
    """Zip ``staging`` with sorted entries and fixed times and modes; return unzipped bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _files(staging):
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), ZIP_EPOCH)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    return unzipped


def import_check(staging: Path) -> None:
    """Run the handler from ``staging`` alone (``-S``: no site-packages) on an empty batch.

    Importing it loads every module the handler needs; the call opens the aiobotocore clients.
    The endpoint is a closed loopback port and the credentials are fake: nothing leaves the
    machine, and an empty batch makes no AWS call.
    """
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from lambdas import findings_logger as f; "
        "result = f.handler({'Records': []}, None); f.reset(); "
        "assert result == {'batchItemFailures': []}, result; "
        "print('import check passed:', f.__file__)"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "import-check",
        "AWS_SECRET_ACCESS_KEY": "import-check",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "EMIT_METRICS": "false",
    }
    subprocess.run(
        [sys.executable, "-S", "-c", script, str(staging)], check=True, env=env, timeout=120
    )


def build(architecture: str, out: Path, *, root: Path = ROOT, work: Path | None = None) -> Package:
    """Build ``<out>/ecr-findings-logger-<architecture>.zip``."""
    staging = (work or root / "build") / f"lambda-{architecture}"
    stage(root, staging, architecture)
    destination = out / f"ecr-findings-logger-{architecture}.zip"
    unzipped = write_zip(staging, destination)
    if unzipped > MAX_UNZIPPED_BYTES:
        raise SystemExit(
            f"{destination}: {unzipped} bytes unzipped, over Lambda's {MAX_UNZIPPED_BYTES}"
        )
    return Package(
        architecture=architecture,
        path=destination,
        zipped_bytes=destination.stat().st_size,
        unzipped_bytes=unzipped,
        sha256=hashlib.sha256(destination.read_bytes()).hexdigest(),
    )


def check_local_build(*, root: Path = ROOT, work: Path | None = None) -> None:
    staging = (work or root / "build") / "lambda-local"
    stage(root, staging, None)
    import_check(staging)


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__)
    parser.add_argument(
        "--arch",
        action="append",
        choices=sorted(ARCHITECTURES),
        help="architecture to build (repeatable; default: all)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument("--work", type=Path, default=None, help="staging folder (default build/)")
    parser.add_argument(
        "--no-import-check", action="store_true", help="skip the local-interpreter import check"
    )
    args = parser.parse_args(argv)
    for architecture in args.arch or sorted(ARCHITECTURES):
        package = build(architecture, args.out, work=args.work)
        print(
            f"{package.path}: {_mib(package.zipped_bytes)} zipped, "
            f"{_mib(package.unzipped_bytes)} unzipped, sha256 {package.sha256}"
        )
    if not args.no_import_check:
        check_local_build(work=args.work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
