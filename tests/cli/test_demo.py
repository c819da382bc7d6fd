"""``ecr-findings demo`` (what ``make demo`` runs) exits 0 and shows every part of the story."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

SEVERITY_COLUMNS = ("CRIT", "HIGH", "MED", "LOW", "INFO", "UNDEF", "UNTRI")


def section(out: str, start: str, end: str) -> str:
    return out.split(start, 1)[1].split(end, 1)[0]


def rows(text: str) -> list[list[str]]:
    """A rich table's body rows, cells stripped (header and rules have no "│")."""
    return [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if "│" in line]


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, pattern
    return int(found.group(1).replace(",", ""))


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
    for title in (
        "1. Infrastructure",
        "2. ECR: repositories, images and scans",
        "3. Scan events",
        "4. Consumer",
        "5. CloudWatch Logs",
        "6. $ ecr-findings search CVE-2024-2961",
        "7. Continuous scanning: CVE-2026-4242 is published",
        "8. $ ecr-findings search CVE-2026-4242 --status all",
        "9. $ ecr-findings image auth/gateway:4.2.0",
        "10. Notifications: what the on-call engineer receives",
        "11. S3 archive",
        "12. $ ecr-findings archive query CVE-2024-2961",
        "13. $ ecr-findings dlq status",
    ):
        assert title in out
    # Every scanned image is logged, the one with more than 1,000 findings in full.
    assert "6 done" in out and "3 dead" in out
    assert "data/etl/spark-jobs" in out and "SUMMARY-3.5.1-" in out
    assert "CVE-2024-2961: 4 images in 3 repositories" in out
    # The finding events: four changes logged, the second delivery of one acknowledged.
    assert "4 deliveries in" in out and ": 4 done" in out and "1 done, 1 duplicate" in out
    search = section(out, "8. $ ecr-findings search", "9. $ ecr-findings image")
    now = {line.split("│")[1].strip(): line for line in search.splitlines() if "│" in line}
    # The update raised it to CRITICAL; the closure stands, the late older update did not
    # reopen it.
    assert "CRITICAL" in now["auth/gateway"] and "ACTIVE" in now["auth/gateway"]
    assert "CLOSED" in now["payments-api"] and "MEDIUM" not in now["payments-api"]
    assert "CVE-2026-4242: 2 images in 2 repositories" in search
    image = section(out, "9. $ ecr-findings image", "10. Notifications")
    first = next(line for line in image.splitlines() if "│" in line)
    assert "CRITICAL" in first and "CVE-2026-4242" in first and "finding event" in first
    assert "10 ACTIVE findings: 1 CRITICAL" in image
    for reason in ("malformed_json", "image_not_found", "scan_not_found"):
        assert reason in out
    assert "Traceback" not in done.stderr
    check_notifications(out)
    check_archive(out)


def logged_images(out: str) -> dict[str, tuple[str, dict[str, int]]]:
    """Section 5's table: "repository:tag" → (short digest, events per severity stream)."""
    table = section(out, "5. CloudWatch Logs", "Streams of one image")
    images = {}
    for repository, image, *counts, _streams in rows(table):
        tag, digest = image.split()
        per = {s: int(n) for s, n in zip(SEVERITY_COLUMNS, counts, strict=True) if n}
        images[f"{repository}:{tag}"] = (digest, per)
    return images


MESSAGE = re.compile(
    r"^  (?P<severity>\w+): (?P<listed>\d+) new findings? (?:\((?P<watched>\d+) watched\) )?"
    r"in (?P<image>\S+)\n(?:    .*\n)*?    Attributes: (?P<attributes>.*)$",
    re.M,
)


def messages(text: str) -> list[dict[str, str]]:
    """Section 10's messages: subject fields and message attributes (as ``a.<name>``)."""
    found = []
    for match in MESSAGE.finditer(text):
        fields = match.groupdict()
        pairs = (a.split("=", 1) for a in fields.pop("attributes").split())
        found.append({**fields, **{f"a.{k}": v for k, v in pairs}})
    return found


def check_notifications(out: str) -> None:
    """What the inbox received is what the handler published, and exactly the logged images
    with a CRITICAL finding or one naming a watched CVE (CVE-2024-2961: section 6's images;
    CVE-2026-4242: the finding events that made it ACTIVE)."""
    text = section(out, "10. Notifications", "11. S3 archive")
    received = number(r"(\d+) notifications received by on-call-inbox", text)
    assert received == number(r"Notifications metric: (\d+) published", text)
    scans, events = text.split("After the finding events (section 7):", 1)
    assert len(messages(text)) == received == text.count("Attributes: ")
    for message in messages(text):
        assert message["a.account"] == "123456789012"
        assert message["a.repository"] == message["image"].rsplit(":", 1)[0]
        assert message["a.severity"] == message["severity"]
        assert message["watched"] == "1"  # each names one of the watched CVEs
    logged = logged_images(out)
    searched = {f"{r[0]}:{r[1]}": r[3] for r in rows(section(out, "6. $ ecr-findings", "7. "))}
    # Listed: the CRITICAL findings, and the watched one unless it is CRITICAL itself.
    expected = {
        label: per.get("CRIT", 0) + (label in searched and searched[label] != "CRITICAL")
        for label, (_, per) in logged.items()
        if per.get("CRIT") or label in searched
    }
    assert 0 < len(expected) < len(logged)  # a few images notify, not all
    assert {m["image"]: int(m["listed"]) for m in messages(scans)} == expected
    assert f"After the scans (section 4): {len(expected)}\n" in scans
    # The finding events: the update to CRITICAL only; not the HIGH finding created and
    # closed in the same batch, nor the closure, the late older update or the second delivery.
    assert [(m["severity"], m["image"]) for m in messages(events)] == [
        ("CRITICAL", "auth/gateway:4.2.0"),
    ]
    full = events.split("The auth/gateway notification in full", 1)[1]
    assert "CVE-2026-4242  (ACTIVE, watched)" in full
    assert "Log group: /aws/ecr/image-scan-findings/auth/gateway" in full


def check_archive(out: str) -> None:
    """One object per logged image scan, its lines the logged findings and the SUMMARY; the
    finding events' objects hold each logged change once; the query finds section 6's images."""
    text = section(out, "11. S3 archive", "12. $ ecr-findings archive query")
    objects = rows(text.split("Keys:", 1)[1].split("One object decoded", 1)[0])
    listed = number(r"(\d+) objects in s3://ecr-findings-archive/ecr-findings/", text)
    assert listed == len(objects) == number(r"ArchiveObjects metric says (\d+) written", text)
    scans = {
        (repository, name.split("…", 1)[0]): int(lines.replace(",", ""))
        for kind, _day, repository, name, lines, _size, _until in objects
        if kind == "scan"
    }
    logged = logged_images(out)
    assert scans == {
        (label.rsplit(":", 1)[0], digest): sum(per.values()) + 1
        for label, (digest, per) in logged.items()
    }
    # Four finding events logged at first, then the late one (the duplicate is not).
    changes = section(out, "7. Continuous scanning", "8. $ ecr-findings")
    logged_changes = sum(int(n) for n in re.findall(r"(\d+) done", changes))
    assert logged_changes == 5
    assert logged_changes == sum(int(row[4]) for row in objects if row[0] == "finding")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", row[6]) for row in objects)  # Object Lock
    assert "versioning enabled; Object Lock COMPLIANCE" in out
    decoded = text.split("One object decoded, tools/debug-shell:latest: 7 JSON lines", 1)[1]
    first, second, _, summary = decoded.splitlines()[1:5]
    assert first.startswith('  {"name":"CVE-') and summary.startswith('  {"HIGH":1,')

    query = section(out, "12. $ ecr-findings archive query", "13. $ ecr-findings dlq")
    hits = {(r[0], r[1]) for r in rows(query)}
    found = {(r[0], r[2]) for r in rows(section(out, "6. $ ecr-findings", "7. "))}
    assert hits == found
    assert "CVE-2024-2961: 4 images, 4 findings, in 4 objects:" in query
    assert f"Engine: S3 objects ({listed} read; the Athena endpoint http://127.0.0.1:" in query


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
            # The archive's hint too: the objects are read (the local Athena is not asked).
            [query] = [
                s for s in map(str.strip, lines) if s.startswith("ecr-findings archive query")
            ]
            shell = f"{exports[0]} && {script} {query.removeprefix('ecr-findings ')} --json"
            done = subprocess.run(
                ["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            found = json.loads(done.stdout)
            assert (found["engine"], found["images"], found["objects_read"]) == ("s3", 4, 9)
        finally:
            demo.terminate()
            demo.wait(timeout=30)
