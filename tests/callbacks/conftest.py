"""Receiver fixtures: the app on an in-memory store, reached over ``httpx.ASGITransport``.

The store fixtures are re-exported from ``tests/blocks/conftest.py`` (``pytest_plugins`` is only
allowed in the root conftest).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from blocks import AssetStore
from callbacks import create_callback_app
from tests.blocks.conftest import memory_store, moto_endpoint, s3_store

__all__ = ["TOKEN", "app", "client", "memory_store", "moto_endpoint", "s3_store"]

TOKEN = "tok-Sup3rS3cretCallbackT0ken"


async def _token_never_echoed(response: httpx.Response) -> None:
    # Every response of every test goes through here: the token must never come back.
    await response.aread()
    assert TOKEN not in response.text
    assert all(TOKEN not in v for v in response.headers.values())


@pytest.fixture
def app(memory_store: AssetStore) -> FastAPI:
    """The receiver on ``memory://store`` with events off."""
    return create_callback_app(memory_store, token=TOKEN, emit_events=False)


def make_client(app: FastAPI) -> httpx.AsyncClient:
    """An httpx client on ``app`` that fails the test if a response carries the token."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://receiver.test",
        event_hooks={"response": [_token_never_echoed]},
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the receiver app."""
    async with make_client(app) as c:
        yield c
