"""Sessions that read another account's registry through an assumed role (org-wide use).

botocore's own assume-role machinery does the work: the credentials are fetched on first use
and refreshed before they expire, so a warm container can keep its clients for hours.
"""

from __future__ import annotations

from typing import Any

import aioboto3
from aiobotocore.credentials import (
    AioAssumeRoleCredentialFetcher,
    AioDeferredRefreshableCredentials,
)
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider

SESSION_NAME = "ecr-findings-logger"


class _AssumedRoleProvider(CredentialProvider):  # type: ignore[misc]
    METHOD = "assume-role"
    CANONICAL_NAME = "ecr-findings-logger-assume-role"

    def __init__(self, credentials: AioDeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def load(self) -> Any:
        return self._credentials


def role_arn_for(template: str, account: str) -> str:
    return template.replace("{account}", account)


async def assumed_role_session(base: AioSession, role_arn: str) -> aioboto3.Session:
    """An aioboto3 session whose credentials come from assuming ``role_arn``."""
    source = await base.get_credentials()
    fetcher = AioAssumeRoleCredentialFetcher(
        client_creator=base.create_client,
        source_credentials=source,
        role_arn=role_arn,
        extra_args={"RoleSessionName": SESSION_NAME},
    )
    credentials = AioDeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method="assume-role"
    )
    session = AioSession()
    resolver = session.get_component("credential_provider")
    resolver.insert_before("env", _AssumedRoleProvider(credentials))
    return aioboto3.Session(botocore_session=session)
