"""Flow tests run against the session's Prefect server (the folder is marked ``prefect`` in
``tests/conftest.py``) and the emulator."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
async def fast_music(control: httpx.AsyncClient) -> httpx.AsyncClient:
    """Suno (and the video families) finish each stage after 20 ms instead of 50 ms."""
    for family in ("suno", "dashscope", "kling"):
        response = await control.post(
            "/_emulator/timing", json={"family": family, "after_seconds": 0.02}
        )
        response.raise_for_status()
    return control
