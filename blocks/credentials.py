"""``AnyIntCredentials``: the gateway key and where the gateway is."""

from __future__ import annotations

import httpx
from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from anyint import DEFAULT_BASE_URL, DEFAULT_DEADLINE, AnyIntClient, RetryPolicy
from anyint.config import settings

__all__ = ["AnyIntCredentials"]


class AnyIntCredentials(Block):
    """Credentials and connection settings for the AnyInt gateway.

    Resolution order when a flow needs a client: this block (when given) → ``ANYINT_API_KEY`` /
    ``ANYINT_BASE_URL`` → an error that says what to set. There is no silent default key.

    Example:
        ```python
        from blocks import AnyIntCredentials

        creds = AnyIntCredentials.load("BLOCK_NAME")
        async with creds.get_client() as client:
            models = await client.models.list()
        ```
    """

    _block_type_name = "AnyInt Credentials"
    _block_type_slug = "anyint-credentials"
    _description = "API key and base URL for the AnyInt multimodal gateway."
    _documentation_url = "https://anyint.ai/docs/api-reference/overview"  # type: ignore[assignment]

    api_key: SecretStr | None = Field(
        default=None,
        description="AnyInt API key; when empty, ANYINT_API_KEY is used.",
    )
    base_url: str | None = Field(
        default=None,
        description=f"Gateway base URL; when empty, ANYINT_BASE_URL or {DEFAULT_BASE_URL}.",
    )
    timeout_seconds: float = Field(
        default=300.0, gt=0, description="Read timeout of one gateway request, in seconds."
    )
    connect_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect timeout of one gateway request, in seconds."
    )
    deadline_seconds: float = Field(
        default=DEFAULT_DEADLINE,
        gt=0,
        description=(
            "Total time one gateway exchange may take (request and whole answer; a stream "
            "until it closes), however steadily bytes trickle in, in seconds."
        ),
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Client retries of transient failures (never of an ambiguous create).",
    )

    def resolved_api_key(self) -> SecretStr:
        """The key this block stands for.

        Raises:
            ValueError: Neither the block nor ``ANYINT_API_KEY`` holds a key.
        """
        if self.api_key is not None and self.api_key.get_secret_value().strip():
            return self.api_key
        env = settings().api_key
        if env is not None:
            return env
        raise ValueError(
            "No AnyInt API key: save an AnyIntCredentials block with api_key, or set "
            "ANYINT_API_KEY (any non-empty value works with the local emulator)"
        )

    def resolved_base_url(self) -> str:
        """The gateway base URL this block stands for: its own, ``ANYINT_BASE_URL``, or the
        default."""
        url = self.base_url or settings().base_url or DEFAULT_BASE_URL
        return url.rstrip("/")

    def get_client(self, transport: httpx.AsyncBaseTransport | None = None) -> AnyIntClient:
        """A new async client with these settings; close it (``async with``) when done.

        Args:
            transport: httpx transport to use instead of the network (the emulator in tests).
        """
        timeout = httpx.Timeout(self.timeout_seconds, connect=self.connect_timeout_seconds)
        return AnyIntClient(
            api_key=self.resolved_api_key(),
            base_url=self.resolved_base_url(),
            timeout=timeout,
            deadline=self.deadline_seconds,
            retry=RetryPolicy(max_retries=self.max_retries),
            transport=transport,
        )
