"""``pip install ecr-findings-logger`` with no extra, tried as a user would: a fresh virtual
environment, the checkout installed into it, then the commands it puts on the PATH.

The operators' CLI must work from the plain install; only the demo needs an extra (moto), and
then it says so in one line. One venv serves every test of the module; pip's cache keeps it
quick after the first run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[2]
# Not part of the source distribution: local state of the checkout.
_NOT_SOURCES = shutil.ignore_patterns(
    ".*", "build", "dist", "*.egg-info", "__pycache__", "node_modules", ".terraform"
)


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy, so that the build leaves nothing in the checkout.
    source = tmp_path_factory.mktemp("source") / "ecr-findings-logger"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    done = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return bin_dir


def _env() -> dict[str, str]:
    # Nothing of the test session's environment (its venv, its fake AWS) leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    return env


def _run(bin_dir: Path, *command: str) -> subprocess.CompletedProcess[str]:
    program, *args = command
    return subprocess.run(
        [str(bin_dir / program), *args], capture_output=True, text=True, timeout=120, env=_env()
    )


def test_the_plain_install_has_no_moto(bin_dir: Path) -> None:
    done = _run(bin_dir, "python", "-c", "import moto")
    assert done.returncode != 0 and "No module named 'moto'" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("ecr-findings", "--help"),
        ("ecr-findings", "dlq", "redrive", "--help"),
        ("ecr-findings", "backfill", "--help"),
        ("ecr-findings", "search", "--help"),
        ("ecr-findings-consumer", "--help"),
    ],
)
def test_the_commands_work(bin_dir: Path, command: tuple[str, ...]) -> None:
    done = _run(bin_dir, *command)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "usage" in done.stdout.lower()


def test_the_demo_names_the_extra_it_needs(bin_dir: Path) -> None:
    done = _run(bin_dir, "ecr-findings", "demo")

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'ecr-findings-logger[demo]'" in done.stderr


def _checkout_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT, copy, ignore=_NOT_SOURCES)
    return copy


def _make(checkout: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(checkout), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
    )


def test_make_demo_on_a_fresh_clone_installs_only_what_the_demo_needs(tmp_path: Path) -> None:
    checkout = _checkout_copy(tmp_path)

    done = _make(checkout, "demo")

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Demo finished" in done.stdout
    installed = checkout / ".venv" / "bin"
    assert (installed / "ecr-findings").exists()
    assert not (installed / "pytest").exists() and not (installed / "mypy").exists()
    # `make test` after it still installs the dev tools into the same venv.
    plan = _make(checkout, "-n", "test")
    assert plan.returncode == 0, plan.stderr
    assert "pip install --quiet -e '.[dev]'" in plan.stdout


def test_make_demo_after_the_dev_install_installs_nothing(tmp_path: Path) -> None:
    checkout = _checkout_copy(tmp_path)
    installed = checkout / ".venv" / "bin"
    installed.mkdir(parents=True)
    (checkout / ".venv" / ".installed").touch()  # as `make install` leaves it
    demo = installed / "ecr-findings"
    demo.write_text('#!/bin/sh\necho "ecr-findings $*"\n')
    demo.chmod(0o755)

    done = _make(checkout, "demo")

    assert done.returncode == 0, done.stderr
    assert "has the dev install" in done.stdout and "pip install" not in done.stdout
    assert "ecr-findings demo" in done.stdout
