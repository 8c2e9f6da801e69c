"""Which gateway and store a task talks to, handed to every task as a value.

A :class:`GatewayConfig` holds only names and URLs (block names, the resolved gateway base URL and
store root), never a secret, so it is a plain, serialisable task parameter: the same task runs
unchanged on Prefect's thread pool, on a local Dask cluster and on Dask worker processes on other
machines. Each task turns it into a :class:`Connection` (blocks loaded by name, the key from the
block or ``ANYINT_API_KEY`` of the process it runs in).

Tests and the embedded demo reach the in-process emulator through :func:`register_transport`: an
httpx transport for one base URL, the transport seam of this layer (like a hosts-file entry, it
only says how this process reaches that URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from anyint import AnyIntClient
from blocks import AnyIntCredentials, AssetStore

__all__ = ["Connection", "GatewayConfig", "register_transport", "unregister_transport"]

_TRANSPORTS: dict[str, httpx.AsyncBaseTransport] = {}


def register_transport(base_url: str, transport: httpx.AsyncBaseTransport) -> None:
    """Reach ``base_url`` in this process through ``transport`` (the in-process emulator)."""
    _TRANSPORTS[base_url.rstrip("/")] = transport


def unregister_transport(base_url: str) -> None:
    """Undo :func:`register_transport`."""
    _TRANSPORTS.pop(base_url.rstrip("/"), None)


@dataclass(frozen=True)
class Connection:
    """A :class:`GatewayConfig` made concrete in the process that runs a task.

    Attributes:
        credentials: How to authenticate to the gateway.
        store: Where assets, manifests, submit journals and the callback inbox live.
        transport: httpx transport replacing the network, when one is registered.
    """

    credentials: AnyIntCredentials
    store: AssetStore
    transport: httpx.AsyncBaseTransport | None = None

    def client(self) -> AnyIntClient:
        """A new client; use it as ``async with connection.client() as client``."""
        return self.credentials.get_client(transport=self.transport)


class GatewayConfig(BaseModel):
    """The gateway and store of a flow run, resolved once when the run starts.

    Resolution order for each part: the named block → ``ANYINT_*`` environment → default.

    Attributes:
        credentials_block: Name of a saved ``AnyIntCredentials`` block, or None.
        store_block: Name of a saved ``AssetStore`` block, or None.
        base_url: Gateway base URL, as resolved when the run started.
        store_url: Store root URL, as resolved when the run started.
    """

    model_config = ConfigDict(frozen=True)

    credentials_block: str | None = None
    store_block: str | None = None
    base_url: str = Field(min_length=1)
    store_url: str = Field(min_length=1)

    @classmethod
    async def resolve(
        cls, credentials_block: str | None = None, store_block: str | None = None
    ) -> GatewayConfig:
        """Load the named blocks (or the environment) and pin the URLs they stand for.

        Raises:
            ValueError: No API key anywhere (the message says what to set), or a block name
                that is not saved.
        """
        credentials = await _credentials(credentials_block)
        credentials.resolved_api_key()  # fail now, naming what to set, not in the first task
        store = await _store(store_block)
        return cls(
            credentials_block=credentials_block,
            store_block=store_block,
            base_url=credentials.resolved_base_url(),
            store_url=store.root_url,
        )

    async def connect(self) -> Connection:
        """The credentials, store and transport this configuration stands for, here."""
        credentials = await _credentials(self.credentials_block)
        credentials = credentials.model_copy(update={"base_url": self.base_url})
        store = await _store(self.store_block)
        if store.base_url != self.store_url:
            # Pinned: the URL resolved at the run's start, and no environment read per operation.
            store = store.model_copy(update={"base_url": self.store_url})
        return Connection(credentials, store, _TRANSPORTS.get(self.base_url.rstrip("/")))


B = TypeVar("B", AnyIntCredentials, AssetStore)


async def _load(kind: type[B], name: str | None, parameter: str) -> B:
    """The block saved as ``name``, or one that reads the environment when no name is given."""
    if name is None:
        return kind()
    try:
        return await kind.aload(name)
    except ValueError as exc:
        raise ValueError(
            f"parameter {parameter!r}: no {kind.__name__} block named {name!r} ({exc}); save "
            f"one with {kind.__name__}(...).save({name!r})"
        ) from None


async def _credentials(name: str | None) -> AnyIntCredentials:
    return await _load(AnyIntCredentials, name, "credentials_block")


async def _store(name: str | None) -> AssetStore:
    return await _load(AssetStore, name, "store_block")
