"""``ecr-findings demo`` (what ``make demo`` runs) exits 0 and shows every part of the story."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end() -> None:
    script = Path(sys.executable).parent / "ecr-findings"
    # The demo starts its own local AWS; nothing of the test session's may leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONWARNINGS"] = "error"

    done = subprocess.run(
        [str(script), "demo"], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    for section in (
        "1. Infrastructure",
        "2. ECR: repositories, images and scans",
        "3. Scan events",
        "4. Consumer",
        "5. CloudWatch Logs",
        "6. $ ecr-findings search CVE-2024-2961",
        "7. Continuous scanning: CVE-2026-4242 is published",
        "8. $ ecr-findings search CVE-2026-4242 --status all",
        "9. $ ecr-findings image auth/gateway:4.2.0",
        "10. $ ecr-findings dlq status",
    ):
        assert section in out
    # Every scanned image is logged, the one with more than 1,000 findings in full.
    assert "6 done" in out and "3 dead" in out
    assert "data/etl/spark-jobs" in out and "SUMMARY-3.5.1-" in out
    assert "CVE-2024-2961: 4 images in 3 repositories" in out
    # The finding events: four changes logged, the second delivery of one acknowledged.
    assert "4 deliveries in" in out and ": 4 done" in out and "1 done, 1 duplicate" in out
    search = out.split("8. $ ecr-findings search", 1)[1].split("9. $ ecr-findings image", 1)[0]
    rows = {line.split("│")[1].strip(): line for line in search.splitlines() if "│" in line}
    # The update raised it to CRITICAL; the closure stands, the late older update did not
    # reopen it.
    assert "CRITICAL" in rows["auth/gateway"] and "ACTIVE" in rows["auth/gateway"]
    assert "CLOSED" in rows["payments-api"] and "MEDIUM" not in rows["payments-api"]
    assert "CVE-2026-4242: 2 images in 2 repositories" in search
    image = out.split("9. $ ecr-findings image", 1)[1].split("10. $", 1)[0]
    first = next(line for line in image.splitlines() if "│" in line)
    assert "CRITICAL" in first and "CVE-2026-4242" in first and "finding event" in first
    assert "10 ACTIVE findings: 1 CRITICAL" in image
    for reason in ("malformed_json", "image_not_found", "scan_not_found"):
        assert reason in out
    assert "Traceback" not in done.stderr


def test_keep_running_says_how_to_point_the_cli_at_the_local_aws() -> None:
    script = Path(sys.executable).parent / "ecr-findings"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with subprocess.Popen(
        [str(script), "demo", "--keep-running"],
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as demo:
        try:
            assert demo.stdout is not None
            lines = []
            for line in demo.stdout:
                lines.append(line)
                if "Ctrl-C to stop" in line:
                    break
            exports = [line.strip() for line in lines if line.strip().startswith("export ")]
            assert len(exports) == 1, "".join(lines[-8:])
            # What an operator pastes into another shell, then the command of the hint.
            shell = f"{exports[0]} && {script} dlq status --queue ecr-findings-dlq --json"
            done = subprocess.run(
                ["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["messages_visible"] == 3
        finally:
            demo.terminate()
            demo.wait(timeout=30)
