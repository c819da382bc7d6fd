"""How a contender is measured: its own peak memory, and the CPU profile summary."""

from __future__ import annotations

import cProfile
import pstats
import subprocess
import sys
import time
from pathlib import Path

import orjson

from bench import profile_summary
from localaws.fastserver.process import PROJECT_ROOT


def test_peak_rss_is_the_childs_own_not_its_parents() -> None:
    ballast = b"x" * (150 * 1024 * 1024)  # written, so resident in this (the parent) process
    probe = "from bench.contender import peak_rss_kib; print(peak_rss_kib())"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert len(ballast) > 0
    assert int(done.stdout) < 100 * 1024  # a bare interpreter with orjson: tens of MiB


def test_layers_are_named_by_where_the_code_lives() -> None:
    site = "/venv/lib/python3.11/site-packages"
    assert profile_summary.layer_of("/src/pipeline/render.py", "finding").endswith("(ours)")
    assert profile_summary.layer_of(f"{site}/aiobotocore/client.py", "x") == "aiobotocore"
    assert profile_summary.layer_of(f"{site}/botocore/auth.py", "x").startswith("botocore")
    assert profile_summary.layer_of("~", "<built-in method orjson.dumps>").startswith("orjson")
    assert profile_summary.layer_of("~", "<method 'send' of '_socket.socket' objects>").startswith(
        "socket"
    )
    assert profile_summary.layer_of("~", "<built-in method builtins.len>") == profile_summary.OTHER


def _busy() -> None:
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        orjson.dumps({"k": list(range(100))})


def test_the_summary_accounts_for_the_profiled_cpu(tmp_path: Path) -> None:
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(_busy)
    path = tmp_path / "p.pstats"
    profiler.dump_stats(path)
    text = profile_summary.summary(str(path), findings=1000)
    assert text.startswith("CPU by layer")
    assert "orjson (render, parse ECR pages)" in text
    assert "test_measurement.py" in text and "(_busy)" in text
    layers = profile_summary.by_layer(pstats.Stats(str(path)))
    assert sum(seconds for _, seconds in layers) >= 0.04
