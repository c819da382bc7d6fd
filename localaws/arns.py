"""The local account and region, and the ARNs ECR gives repositories and images: what both the
registry (``localaws.registry``) and Inspector's findings (``localaws.inspector``) name."""

from __future__ import annotations

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


def repository_arn(
    repository: str, *, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> str:
    return f"arn:aws:ecr:{region}:{account}:repository/{repository}"


def image_arn(
    repository: str, digest: str, *, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> str:
    return f"{repository_arn(repository, account=account, region=region)}/{digest}"
