"""AWS clients for one consumer, created once and kept across warm invocations."""

from __future__ import annotations

import asyncio
import platform
from contextlib import AsyncExitStack
from typing import Any

import aioboto3
import aiobotocore
import botocore
from aiobotocore.session import AioSession
from botocore.config import Config

import pipeline
from pipeline.aws import ecr, roles
from pipeline.aws.errors import THROTTLING_CODES
from pipeline.config import Settings
from pipeline.metrics import Metrics

USER_AGENT = (
    f"ecr-findings-logger/{pipeline.__version__} aiobotocore/{aiobotocore.__version__} "
    f"botocore/{botocore.__version__} Python/{platform.python_version()}"
)


class Clients:
    """The logs and sqs clients, plus ECR clients per region (events name the region) and,
    when ``ECR_READ_ROLE_ARN`` is set, per account (through that account's reader role); an s3
    client when the archive is on; an sns client in the notification topic's region when
    ``NOTIFY_TOPIC_ARN`` is set."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._botocore_session = AioSession()
        self._session = aioboto3.Session(botocore_session=self._botocore_session)
        self._stack = AsyncExitStack()
        self._ecr: dict[tuple[str | None, str | None], Any] = {}
        self._ecr_lock = asyncio.Lock()
        self.logs: Any = None
        self.sqs: Any = None
        self.s3: Any = None  # only with ARCHIVE_BUCKET
        self.sns: Any = None
        # Calls are counted into whatever Metrics the current invocation installs.
        self.metrics = Metrics()
        self.config = Config(
            retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
            max_pool_connections=settings.max_concurrent_puts + settings.max_concurrent_images,
            connect_timeout=5,
            read_timeout=30,
            tcp_keepalive=True,
            # Our packer already keeps every request inside the API's limits; skipping
            # botocore's per-event validation saves CPU on large batches.
            parameter_validation=False,
            # A fixed User-Agent names us in CloudTrail, and saves botocore from rebuilding
            # and re-sanitising its component list on every request (~0.3 ms CPU a call).
            user_agent=USER_AGENT,
        )

    async def open(self) -> Clients:
        self.logs = await self._enter("logs", None)
        self.sqs = await self._enter("sqs", None)
        if self._settings.archive_bucket:
            self.s3 = await self._enter("s3", None)
        if self._settings.notify_topic_arn:  # arn:aws:sns:<region>:…: publish in its region
            self.sns = await self._enter("sns", self._settings.notify_topic_arn.split(":")[3])
        return self

    async def ecr(self, region: str | None, account: str | None = None) -> Any:
        """The ECR client for a registry: in ``region``, as the account's reader role if set."""
        template = self._settings.ecr_read_role_arn
        role = roles.role_arn_for(template, account) if template and account else None
        key = (region, role)
        if key not in self._ecr:
            async with self._ecr_lock:
                if key not in self._ecr:
                    session = None
                    if role:
                        session = await roles.assumed_role_session(self._botocore_session, role)
                    client = await self._enter("ecr", region, session)
                    ecr.install_hooks(client)
                    self._ecr[key] = client
        return self._ecr[key]

    async def _enter(
        self, service: str, region: str | None, session: aioboto3.Session | None = None
    ) -> Any:
        kwargs: dict[str, Any] = {"config": self.config}
        if region:
            kwargs["region_name"] = region
        factory = (session or self._session).client(service, **kwargs)
        client = await self._stack.enter_async_context(factory)
        client.meta.events.register("response-received", self._count)
        return client

    def _count(self, event_name: str, parsed_response: Any = None, **_: Any) -> None:
        api = event_name.rsplit(".", 1)[-1]
        code = None
        if isinstance(parsed_response, dict):
            code = parsed_response.get("Error", {}).get("Code")
        self.metrics.record_api_call(api, code, code in THROTTLING_CODES)

    async def close(self) -> None:
        await self._stack.aclose()
        self._ecr.clear()
