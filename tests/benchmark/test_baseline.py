"""The baseline (the sample's algorithm) against the fake endpoint: one call per finding."""

from __future__ import annotations

import time

from bench import baseline, dataset
from localaws.fastserver.process import FakeAwsProcess

TIME = "2026-11-29T07:00:00Z"


def _data() -> dataset.Dataset:
    images = (
        dataset.make_image("web/api", "sha256:" + "1" * 64, ("v1",), "basic", 7, seed="a"),
        dataset.make_image("web/api", "sha256:" + "2" * 64, (), "basic", 0, seed="b"),
        dataset.make_image("ml/gpu", "sha256:" + "3" * 64, ("v2",), "enhanced", 130, seed="c"),
    )
    return dataset.Dataset(images, seed=0, scanned_at=time.time())


def test_baseline_logs_the_first_page_one_call_per_finding(fake_aws: FakeAwsProcess) -> None:
    data = _data()
    fake_aws.seed(data.seed_items())
    event = data.sqs_event(TIME)

    assert baseline.handler(event) == {"batchItemFailures": []}

    stats = fake_aws.stats()
    received = {(s["group"], s["stream"]): s["events"] for s in stats["streams"]}
    expected = data.expected_streams(baseline.LOG_GROUP_PREFIX, TIME, first_page_only=True)
    assert received == dict(expected)
    # 7 + 0 + 100 findings (the enhanced image's first page only) and 3 summaries.
    assert sum(received.values()) == 110
    assert stats["calls"]["PutLogEvents"] == 110
    assert all(s["puts"] == s["events"] for s in stats["streams"])
    assert stats["calls"]["DescribeImageScanFindings"] == 3
    assert stats["violations"] == []


def test_planned_calls_match_what_the_baseline_makes(fake_aws: FakeAwsProcess) -> None:
    data = _data()
    fake_aws.seed(data.seed_items())
    baseline.handler(data.sqs_event(TIME))
    made = sum(fake_aws.stats()["calls"].values())
    assert made == baseline.planned_calls((i.kind == "enhanced", i.findings) for i in data.images)
