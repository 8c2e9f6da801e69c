"""Which gateway and store the tasks of a flow run talk to.

Deployments configure this through block names or ``ANYINT_*`` environment; tests and the demo
set it in code with :func:`use_gateway` (an httpx transport to the in-process emulator, a memory
store). Nothing here is read at import time, and no secret ever becomes a task parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpx

from anyint import AnyIntClient
from blocks import AnyIntCredentials, AssetStore

__all__ = ["Gateway", "current_gateway", "load_gateway", "use_gateway"]


@dataclass(frozen=True)
class Gateway:
    """Credentials, asset store and (optionally) a transport for one flow run.

    Attributes:
        credentials: How to authenticate to the gateway.
        store: Where assets, manifests, submit journals and the callback inbox live.
        transport: httpx transport replacing the network (the in-process emulator).
    """

    credentials: AnyIntCredentials = field(default_factory=AnyIntCredentials)
    store: AssetStore = field(default_factory=AssetStore)
    transport: httpx.AsyncBaseTransport | None = None

    def client(self) -> AnyIntClient:
        """A new client; use it as ``async with gateway.client() as client``."""
        return self.credentials.get_client(transport=self.transport)


_current: ContextVar[Gateway | None] = ContextVar("anyint_gateway", default=None)


def current_gateway() -> Gateway:
    """The gateway set by :func:`use_gateway`, else one built from the environment."""
    return _current.get() or Gateway()


@contextmanager
def use_gateway(gateway: Gateway) -> Iterator[Gateway]:
    """Make ``gateway`` the one tasks use inside this block (and the flows it runs)."""
    token = _current.set(gateway)
    try:
        yield gateway
    finally:
        _current.reset(token)


async def load_gateway(credentials_block: str | None, store_block: str | None) -> Gateway:
    """Build a gateway from saved block names, falling back to the current one for each part.

    Args:
        credentials_block: Name of a saved ``AnyIntCredentials`` block, or None.
        store_block: Name of a saved ``AssetStore`` block, or None.
    """
    base = current_gateway()
    credentials = await AnyIntCredentials.aload(credentials_block) if credentials_block else None
    store = await AssetStore.aload(store_block) if store_block else None
    return Gateway(
        credentials=credentials or base.credentials,
        store=store or base.store,
        transport=base.transport,
    )
