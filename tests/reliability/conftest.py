"""Reliability and security tests: every test runs against the session's Prefect server.

Flows reach the emulator through the ``gateway`` fixture (``tests/conftest.py``), configured by
``ANYINT_*`` as a user configures them; ``_support.fast_retries`` shortens the client's backoff
where a row needs it. The ``slow`` and ``process`` markers are declared in ``pyproject.toml``.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _harness(prefect_harness: None) -> None:
    """Start (once) the Prefect test harness for tests in this folder."""
