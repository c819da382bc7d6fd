"""``ecr-findings-consumer``: the findings handler fed from the queue by a long-running process.

The queue runner (``pipeline.queue_runner``) polls the source queue as the event source mapping
would; this entry point hands it the Lambda handler.
"""

from __future__ import annotations

import sys

from lambdas import findings_logger
from pipeline import queue_runner


def main(argv: list[str] | None = None) -> int:
    return queue_runner.main(argv, handler=findings_logger.handler)


if __name__ == "__main__":
    sys.exit(main())
