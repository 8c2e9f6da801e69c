"""Reliability and security tests: every test runs against the session's Prefect server.

``store`` gives a test a fresh memory store; the quick-retry gateway of the fault matrix lives in
``_support.FastRetryGateway``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from blocks import AssetStore


def pytest_configure(config: pytest.Config) -> None:
    """Register ``slow`` (cases above ~5 s) so ``--strict-markers`` accepts it."""
    config.addinivalue_line("markers", "slow: a reliability case slower than ~5 seconds")


@pytest.fixture(autouse=True)
def _harness(prefect_harness: None) -> None:
    """Start (once) the Prefect test harness for tests in this folder."""


@pytest.fixture
def store() -> Iterator[AssetStore]:
    """A fresh memory store for one test."""
    yield AssetStore(base_url=f"memory://rel-{uuid.uuid4().hex[:12]}")
    MemoryFileSystem.store.clear()
