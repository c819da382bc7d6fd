"""Where the CPU of a profiled invocation goes: own time grouped by layer, and the top functions.

The profile is taken with a CPU clock (time.process_time), so waiting on the network counts
nothing; the profiler's own overhead inflates pure-Python code more than C code.
"""

from __future__ import annotations

import pstats
import re
from typing import Any

from localaws.fastserver.process import PROJECT_ROOT

# Checked in order; the first fragment found in "<file>:<function>" names the layer.
LAYERS: tuple[tuple[str, str], ...] = (
    ("/pipeline/", "pipeline + lambdas (ours)"),
    ("/lambdas/", "pipeline + lambdas (ours)"),
    ("/aiobotocore/", "aiobotocore"),
    ("/botocore/", "botocore (serialise, sign, user agent, parse)"),
    ("/aiohttp/", "aiohttp (HTTP client)"),
    ("/yarl/", "aiohttp (HTTP client)"),
    ("/multidict/", "aiohttp (HTTP client)"),
    ("/asyncio/", "asyncio event loop"),
    ("orjson", "orjson (render, parse ECR pages)"),
    ("/json/", "stdlib json (botocore request bodies)"),
    ("_socket.socket", "socket send/recv (kernel copies)"),
    ("select.epoll", "asyncio event loop"),
    ("_hashlib", "hashing (SigV4 payload hash)"),
    ("_ssl", "hashing (SigV4 payload hash)"),
    ("/email/", "stdlib http/email/urllib helpers"),
    ("/http/", "stdlib http/email/urllib helpers"),
    ("/urllib/", "stdlib http/email/urllib helpers"),
)
OTHER = "other (builtins, stdlib)"


def layer_of(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for fragment, layer in LAYERS:
        if fragment in where:
            return layer
    return OTHER


def _own_times(stats: pstats.Stats) -> dict[tuple[str, int, str], tuple[int, float, float]]:
    # pstats keeps {(file, line, function): (primitive calls, calls, own time, cumulative, ...)}
    raw: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    return {key: (value[1], value[2], value[3]) for key, value in raw.items()}


def by_layer(stats: pstats.Stats) -> list[tuple[str, float]]:
    totals: dict[str, float] = {}
    for (filename, _, function), (_, own, _) in _own_times(stats).items():
        layer = layer_of(filename, function)
        totals[layer] = totals.get(layer, 0.0) + own
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


def top_functions(stats: pstats.Stats, n: int = 15) -> list[tuple[str, int, float]]:
    rows = [
        (f"{_short(filename)}:{line}({function})", calls, own)
        for (filename, line, function), (calls, own, _) in _own_times(stats).items()
    ]
    return sorted(rows, key=lambda row: row[2], reverse=True)[:n]


def _short(filename: str) -> str:
    """A path without the interpreter's or the project's prefix."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    stdlib = re.search(r"/lib/python3\.\d+/", filename)
    if stdlib:
        return filename[stdlib.end() :]
    return filename.removeprefix(str(PROJECT_ROOT) + "/")


def summary(path: str, findings: int, unit: str = "finding") -> str:
    """``findings``: how many of ``unit`` the profiled call logged (the per-item figures)."""
    stats = pstats.Stats(path)
    layers = by_layer(stats)
    total = sum(t for _, t in layers) or 1.0
    per = 1e6 / findings if findings else 0.0
    lines = [f"CPU by layer (own time; total {total:.2f} s, {total * per:.1f} us per {unit}):"]
    for layer, seconds in layers:
        share, each = seconds / total, seconds * per
        lines.append(f"  {layer:<48} {seconds:6.2f} s  {share:6.1%}  {each:6.1f} us/{unit}")
    lines.append("top functions by own CPU time:")
    for name, calls, own in top_functions(stats):
        lines.append(f"  {own:6.3f} s  {calls:>8,} calls  {name}")
    return "\n".join(lines)
