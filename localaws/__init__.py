"""A local AWS for tests, the demo and the benchmark; not part of the product.

- ``rules``: AWS behaviour written once (ECR scans and pages, Inspector's ListFindings filters
  and pages, CloudWatch Logs limits and timestamps, fault injection).
- ``motoserver.server.LocalAws``: moto in a background thread behind the rules (tests, demo).
- ``fastserver``: the same rules in a fast endpoint of its own process (the benchmark).
- ``findings``: deterministic, realistic basic and enhanced findings.
- ``registry``: repositories and images in moto's ECR, scan events as EventBridge sends them,
  and a finding event from keywords (rendered by ``inspector``).
- ``inspector``: Inspector's findings about images (ListFindings), and the event of each change:
  the one place a finding's event is built.
- ``arns``: the local account and region, and ECR's repository and image ARNs.
- ``env``: the fake credentials and settings that point an SDK at a local endpoint.
"""

from localaws.motoserver.server import LocalAws
from localaws.motoserver.state import PutLogEventsRecord

__all__ = ["LocalAws", "PutLogEventsRecord"]
