"""The environment that points AWS SDKs at a local endpoint, and nowhere else.

Fake keys, a region, no profile or config file of the machine, no instance metadata: what the
tests, the demo and the benchmark's processes all run with.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def fake_environment(region: str = DEFAULT_REGION) -> dict[str, str]:
    """Fake credentials and a region; no profile, config file or instance metadata may leak in."""
    return {
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def endpoint_environment(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """``fake_environment`` plus ``AWS_ENDPOINT_URL``: every SDK call goes to that endpoint."""
    return {
        **fake_environment(region),
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
    }


def without_aws(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without any ``AWS_*`` variable (keys, token, profile, endpoint, …)."""
    return {name: value for name, value in environ.items() if not name.startswith("AWS_")}
