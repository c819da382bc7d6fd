"""Where the CLI talks to: region, profile and endpoint, turned into boto3 clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config


@dataclass
class AwsTarget:
    """The account/region to operate on. ``None`` means botocore's usual environment lookup
    (AWS_PROFILE, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, ...)."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    _session: Any = field(default=None, init=False, repr=False)
    _clients: dict[tuple[str, int], Any] = field(default_factory=dict, init=False, repr=False)

    def with_profile(self, profile: str) -> AwsTarget:
        """The same region and endpoint, as another profile (e.g. another account)."""
        return AwsTarget(region=self.region, profile=profile, endpoint_url=self.endpoint_url)

    def session(self) -> Any:
        if self._session is None:
            self._session = boto3.session.Session(
                profile_name=self.profile, region_name=self.region
            )
        return self._session

    def client(self, service: str, *, max_attempts: int = 5) -> Any:
        """A client shared by every caller (boto3 clients are thread-safe)."""
        key = (service, max_attempts)
        if key not in self._clients:
            config = Config(retries={"mode": "standard", "max_attempts": max_attempts})
            self._clients[key] = self.session().client(
                service, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[key]
