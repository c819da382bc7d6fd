"""A local AWS for tests and the demo: moto, plus the behaviour moto does not emulate.

- ``server.LocalAws``: moto in a background thread behind our middleware (real ECR findings
  pagination, CloudWatch Logs limits, fault injection, call records).
- ``findings``: deterministic, realistic basic and enhanced findings.
- ``registry``: repositories and images in moto's ECR, and scan events as EventBridge sends them.
"""

from localaws.server import LocalAws
from localaws.state import PutLogEventsRecord

__all__ = ["LocalAws", "PutLogEventsRecord"]
