"""The one reader of ``ANYINT_*`` environment variables.

Every layer resolves its configuration in one order: an explicit value (argument or saved
block) → these variables → the default. Nothing reads ``os.environ`` for ``ANYINT_*`` itself, and
nothing is read at import time: :func:`settings` reads the environment when it is called.
"""

from __future__ import annotations

import functools
import os

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AnyIntSettings", "settings"]


class AnyIntSettings(BaseSettings):
    """``ANYINT_*`` environment configuration.

    Attributes:
        api_key: ``ANYINT_API_KEY``: the gateway key (when no credentials block is given).
        base_url: ``ANYINT_BASE_URL``: the gateway base URL.
        store: ``ANYINT_STORE``: the asset store root (folder or fsspec URL).
        callback_url: ``ANYINT_CALLBACK_URL``: public base URL of the callback receiver.
        callback_token: ``ANYINT_CALLBACK_TOKEN``: the receiver's secret path token.
        input_dir: ``ANYINT_INPUT_DIR``: the folder local input files may be read from.
    """

    model_config = SettingsConfigDict(env_prefix="ANYINT_", extra="ignore")

    api_key: SecretStr | None = None
    base_url: str | None = None
    store: str | None = None
    callback_url: str | None = None
    callback_token: SecretStr | None = None
    input_dir: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """A variable set to spaces is as good as unset (a common shell slip)."""
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value


def settings() -> AnyIntSettings:
    """The ``ANYINT_*`` variables as they are now (treat the answer as read-only)."""
    # Parsed once per distinct set of values: building the settings model costs about a
    # millisecond, and every client, store and callback URL asks for it.
    current = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("ANYINT_"))
    )
    return _parsed(current)


@functools.lru_cache(maxsize=16)
def _parsed(_environment: tuple[tuple[str, str], ...]) -> AnyIntSettings:
    return AnyIntSettings()
