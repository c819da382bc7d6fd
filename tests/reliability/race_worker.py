"""One consumer container for the race test: a warm handler fed one SQS record per stdin line.

Run as ``python -m tests.reliability.race_worker``. It starts the handler (a cold start, with
an empty batch) before it says it is ready, so that two workers given the same record at the
same moment really process it at the same moment. Each answer is one JSON line
``{"response": …}`` after the handler's own outcome lines.
"""

from __future__ import annotations

import json
import sys

import lambdas.findings_logger as function


def main() -> None:
    function.handler({"Records": []}, None)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        record = json.loads(line)
        response = function.handler({"Records": [record]}, None)
        print(json.dumps({"response": response}), flush=True)


if __name__ == "__main__":
    main()
