"""Deployment tests: the ``slow`` marker (a real Prefect server with process workers)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register ``slow`` here (pyproject is not this folder's to change); ``-m "not slow"``
    skips the worker test."""
    config.addinivalue_line(
        "markers", "slow: starts real Prefect workers in subprocesses (about half a minute)"
    )
