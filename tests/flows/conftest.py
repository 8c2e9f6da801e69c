"""Flow tests run against the session's Prefect server (the folder is marked ``prefect`` in
``tests/conftest.py``) and the emulator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import Flow

from tests.conftest import EmulatedGateway, created_task_ids, paid_calls


@pytest.fixture
async def fast_music(control: httpx.AsyncClient) -> httpx.AsyncClient:
    """Suno (and the video families) finish each stage after 20 ms instead of 50 ms."""
    for family in ("suno", "dashscope", "kling"):
        response = await control.post(
            "/_emulator/timing", json={"family": family, "after_seconds": 0.02}
        )
        response.raise_for_status()
    return control


#: Runs a flow with bad parameters and checks it is refused (``ValueError`` matching a pattern)
#: before any paid call or task create: ``await refused(flow, parameters, pattern)``.
Refusal = Callable[[Flow[..., Any], dict[str, Any], str], Awaitable[None]]


@pytest.fixture
def refused(gateway: EmulatedGateway, control: httpx.AsyncClient, input_dir: Path) -> Refusal:
    """A :data:`Refusal` on this test's gateway, with local inputs read from ``input_dir``."""

    async def refuse(flow: Flow[..., Any], parameters: dict[str, Any], pattern: str) -> None:
        with pytest.raises(ValueError, match=pattern):
            await flow(**parameters)
        assert await paid_calls(control) == []
        assert await created_task_ids(control) == []

    return refuse
