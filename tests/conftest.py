"""Shared fixtures: a clean environment for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Drop ANYINT_* and AWS_* variables so no test sees the developer's configuration."""
    for name in list(os.environ):
        if name.startswith(("ANYINT_", "AWS_")):
            monkeypatch.delenv(name)
    yield
