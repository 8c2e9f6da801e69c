"""The catalogue's flows column is true: each flow's default run (``{}``, on the emulator) calls
only routes the catalogue lists for that flow, and every flow has its entry."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import httpx
import pytest

from anyint_cli.catalogue import FLOW_ROUTES, ROUTES
from anyint_cli.run import FLOWS, load_flow
from tests.conftest import EmulatedGateway, call_log


def _route_of(method: str, path: str) -> str | None:
    """The catalogue key of a call (``{name}`` segments match anything but ``/``)."""
    for route in ROUTES:
        pattern = re.sub(r"\{[^}]*\}", "*", route.path)
        if route.method in (method, "*") and fnmatch.fnmatchcase(path, pattern):
            if path.count("/") == route.path.count("/"):
                return route.key
    return None


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_a_default_run_calls_only_its_listed_routes(
    name: str,
    gateway: EmulatedGateway,
    control: httpx.AsyncClient,
    fast_music: httpx.AsyncClient,
    input_dir: Path,
) -> None:
    assert name in FLOW_ROUTES, f"anyint_cli/catalogue.py FLOW_ROUTES has no entry for {name}"
    state = await load_flow(name)(return_state=True)
    assert state.is_completed(), state.message
    used = {
        _route_of(c["method"], c["path"]) or f"{c['method']} {c['path']}"
        for c in await call_log(control)
    }
    assert used, "the run called nothing: the check proves nothing"
    assert used <= set(FLOW_ROUTES[name]), sorted(used - set(FLOW_ROUTES[name]))
