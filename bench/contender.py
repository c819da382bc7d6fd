"""Run one contender in this process and measure it: ``python -m bench.contender``.

Each contender gets its own process so that its peak RSS is its own. Every SQS event file given
is one invocation of the same handler, in order (the first is cold, the next ones warm). Around
each handler call only the call itself is measured: wall time (perf_counter), CPU time
(process_time), the part of it the garbage collector took (its callbacks), and peak RSS after
it. Between calls the fake endpoint's counters are read and reset, outside the measured region.
With ``--warm-up`` an empty batch is handled first, unmeasured, so that even the first measured
call finds a warm container (settings read, clients open).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import os
import resource
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from localaws.fastserver.process import admin_request
from pipeline.lambda_context import LocalContext

Handler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]
HANDLERS = {
    "ours": "lambdas.findings_logger:handler",
    "baseline": "bench.baseline:handler",
}
LAMBDA_TIMEOUT_MS = 15 * 60 * 1000
FUNCTION_NAME = "ecr-findings-logger-bench"


def load_handler(which: str) -> Handler:
    module_name, _, attribute = HANDLERS[which].partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def peak_rss_kib() -> int:
    """This process's own peak resident set size, in KiB.

    ru_maxrss is not used first: Linux carries the parent's peak into a child across fork and
    exec (the parent here holds the whole data set), so a small contender would be reported
    as large as the runner. VmHWM is the peak of this process's own memory map.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


class GcClock:
    """CPU time the garbage collector spends, from its start/stop callbacks."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: Mapping[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.collections += 1


def measure(
    which: str,
    endpoint: str,
    event_files: list[Path],
    profile: tuple[Path, Path] | None = None,
    *,
    warm_up: bool = False,
) -> dict[str, Any]:
    """Measure one handler call per event file; then, with ``profile`` (event file, output),
    one more call under cProfile with a CPU clock, kept out of the figures."""
    started = time.perf_counter()
    handler = load_handler(which)
    result: dict[str, Any] = {
        "contender": which,
        "import_s": time.perf_counter() - started,
        "rss_after_import_kib": peak_rss_kib(),
        "runs": [],
    }
    if warm_up:
        handler({"Records": []}, LocalContext(LAMBDA_TIMEOUT_MS, FUNCTION_NAME))
    gc_clock = GcClock()
    gc.callbacks.append(gc_clock)
    for path in event_files:
        event = orjson.loads(path.read_bytes())
        admin_request(endpoint, "POST", "/_reset", {"scope": "stats"})
        context = LocalContext(LAMBDA_TIMEOUT_MS, FUNCTION_NAME)
        times0 = os.times()
        gc0, collections0 = gc_clock.seconds, gc_clock.collections
        cpu0, wall0 = time.process_time(), time.perf_counter()
        response = handler(event, context)
        wall1, cpu1 = time.perf_counter(), time.process_time()
        gc1, collections1 = gc_clock.seconds, gc_clock.collections
        times1 = os.times()
        result["runs"].append(
            {
                "records": len(event.get("Records") or ()),
                "wall_s": wall1 - wall0,
                "cpu_s": cpu1 - cpu0,
                "user_s": times1.user - times0.user,
                "system_s": times1.system - times0.system,
                "gc_s": gc1 - gc0,
                "gc_collections": collections1 - collections0,
                "peak_rss_kib": peak_rss_kib(),
                "ru_maxrss_kib": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
                "failures": list(response.get("batchItemFailures") or ()),
                "stats": admin_request(endpoint, "GET", "/_stats"),
            }
        )
    gc.callbacks.remove(gc_clock)
    if profile is not None:
        event_file, output = profile
        event = orjson.loads(event_file.read_bytes())
        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(handler, event, LocalContext(LAMBDA_TIMEOUT_MS, FUNCTION_NAME))
        profiler.dump_stats(output)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure one contender.")
    parser.add_argument("which", choices=sorted(HANDLERS))
    parser.add_argument("--endpoint", required=True, help="the fake endpoint's URL (admin API)")
    parser.add_argument("--result", type=Path, required=True, help="where to write the JSON")
    parser.add_argument(
        "--profile",
        type=Path,
        nargs=2,
        metavar=("EVENTS", "OUTPUT"),
        help="after the measured calls, profile one more call on EVENTS into OUTPUT (pstats)",
    )
    parser.add_argument(
        "--warm-up", action="store_true", help="handle an empty batch first, unmeasured"
    )
    parser.add_argument("events", type=Path, nargs="+", help="SQS event files, one per call")
    args = parser.parse_args(argv)
    profile = (args.profile[0], args.profile[1]) if args.profile else None
    result = measure(args.which, args.endpoint, args.events, profile, warm_up=args.warm_up)
    args.result.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
