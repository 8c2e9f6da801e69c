"""Every flow test runs against the session's Prefect server."""

import pytest


@pytest.fixture(autouse=True)
def _harness(prefect_harness: None) -> None:
    """Start (once) the Prefect test harness for tests in this folder."""
