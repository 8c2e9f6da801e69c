"""Client fixtures: an AnyIntClient over httpx.MockTransport that records retry delays, and the
emulator on a real loopback socket (where timeouts and trickling answers matter)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from anyint import AnyIntClient, RetryPolicy
from emulator.app import create_app
from emulator.server import ThreadedEmulatorServer

TEST_KEY = "sk-test-canary-0123456789"
BASE_URL = "https://gateway.test"

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def sleeps() -> list[float]:
    """Delays the client asked to sleep, in order (the client does not actually wait)."""
    return []


@pytest.fixture
async def make_client(sleeps: list[float]) -> AsyncIterator[Callable[..., AnyIntClient]]:
    """Build clients over a MockTransport handler; all are closed after the test."""
    clients: list[AnyIntClient] = []

    async def record(delay: float) -> None:
        sleeps.append(delay)

    def factory(handler: Handler, **kwargs: Any) -> AnyIntClient:
        kwargs.setdefault("retry", RetryPolicy(sleep=record))
        kwargs.setdefault("api_key", TEST_KEY)
        kwargs.setdefault("base_url", BASE_URL)
        client = AnyIntClient(transport=httpx.MockTransport(handler), **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


class Recorder:
    """A MockTransport handler that answers from a queue and records every request."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        # A fresh copy each time: one Response object cannot be sent twice.
        return httpx.Response(item.status_code, headers=item.headers, content=item.content)


@pytest.fixture
def server() -> Iterator[ThreadedEmulatorServer]:
    """A fresh emulator served on a loopback socket."""
    with ThreadedEmulatorServer(create_app()) as running:
        yield running


async def inject_fault(server: ThreadedEmulatorServer, match: str, **spec: object) -> None:
    """Queue one fault on ``server`` (``POST /_emulator/faults``)."""
    async with httpx.AsyncClient(base_url=server.base_url) as control:
        response = await control.post("/_emulator/faults", json={"match": match, **spec})
        assert response.status_code == 200, response.text
