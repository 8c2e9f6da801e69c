"""Emulator core: routing, auth, envelopes, faults, call log, control plane, threaded server."""

from __future__ import annotations

import httpx
import pytest

import anyint
from anyint import AnyIntClient, RetryPolicy
from emulator.app import EmulatorApp
from emulator.server import ThreadedEmulatorServer

from .conftest import AUTH


async def calls(raw: httpx.AsyncClient) -> list[dict]:
    return (await raw.get("/_emulator/calls")).json()["calls"]


@pytest.mark.parametrize("path", ["/v1/models", "/suno/not-a-route", "/openai/v1/nothing"])
async def test_unpublished_paths_are_not_emulated(raw: httpx.AsyncClient, path: str) -> None:
    response = await raw.get(path, headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_emulated"


async def test_models_catalogue_over_both_auth_styles(client: AnyIntClient) -> None:
    openai = (await client.request("GET", "/openai/v1/models")).json()
    anth = (await client.request("GET", "/anthropic/v1/models", auth="anthropic")).json()
    assert openai == anth
    ids = {m["id"] for m in openai["data"]}
    for needed in [
        "claude-sonnet-4-6",
        "gemini-2.0-flash",
        "gemini-3-flash-preview",
        "gemini-3.1-flash-image-preview",
        "qwen-image-plus",
        "wan2.6-t2v",
        "kling-v2-1",
        "V4",
        "V4_5",
        "V4_5PLUS",
        "V4_5ALL",
        "V5",
    ]:
        assert needed in ids
    sonnet = next(m for m in openai["data"] if m["id"] == "claude-sonnet-4-6")
    assert {"family": "anthropic", "input": ["text", "image"], "output": ["text"]} in (
        sonnet["capabilities"]
    )


async def test_missing_or_invalid_key_is_401(raw: httpx.AsyncClient) -> None:
    response = await raw.get("/openai/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    await raw.post("/_emulator/settings", json={"valid_keys": ["good"]})
    bad = await raw.get("/openai/v1/models", headers={"Authorization": "Bearer other"})
    good = await raw.get("/openai/v1/models", headers={"Authorization": "Bearer good"})
    assert (bad.status_code, good.status_code) == (401, 200)


async def test_anthropic_needs_version_header(raw: httpx.AsyncClient) -> None:
    response = await raw.get("/anthropic/v1/models", headers={"x-api-key": "k"})
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert "anthropic-version" in response.json()["error"]["message"]


async def test_status_fault_with_retry_after_then_recovery(
    client: AnyIntClient, raw: httpx.AsyncClient
) -> None:
    await raw.post(
        "/_emulator/faults",
        json={
            "match": "GET /openai/v1/*",
            "fault": "status",
            "status": 429,
            "retry_after": 2,
            "times": 1,
        },
    )
    no_retry = AnyIntClient(
        api_key="k",
        base_url=client.base_url,
        http_client=client.http,
        retry=RetryPolicy(max_retries=0),
    )
    with pytest.raises(anyint.RateLimitError) as info:
        await no_retry.request("GET", "/openai/v1/models")
    assert info.value.retry_after == 2.0
    await no_retry.request("GET", "/openai/v1/models")  # the fault was used up
    log = await calls(raw)
    assert [(c["status"], c["fault"]) for c in log] == [(429, "status"), (200, None)]


@pytest.mark.parametrize("fault", ["drop_before", "drop_after"])
async def test_dropped_get_is_retried_by_the_client(
    client: AnyIntClient, raw: httpx.AsyncClient, fault: str
) -> None:
    await raw.post("/_emulator/faults", json={"match": "GET /openai/v1/models", "fault": fault})
    assert (await client.request("GET", "/openai/v1/models")).status_code == 200
    assert len(await calls(raw)) == 2


async def test_control_plane_rejects_bad_input(raw: httpx.AsyncClient) -> None:
    bad_fault = await raw.post("/_emulator/faults", json={"match": "GET /x", "fault": "nope"})
    bad_timing = await raw.post("/_emulator/timing", json={"family": "suno"})
    assert bad_fault.status_code == 400 and bad_timing.status_code == 400
    ok = await raw.post("/_emulator/timing", json={"family": "suno", "after_polls": 2})
    assert ok.json()["timing"]["suno"] == {"after_seconds": None, "after_polls": 2}


async def test_control_plane_can_be_switched_off() -> None:
    from emulator.app import create_app
    from emulator.server import EmulatorTransport

    async with httpx.AsyncClient(
        transport=EmulatorTransport(create_app(control=False)), base_url="http://e"
    ) as c:
        assert (await c.post("/_emulator/reset", json={})).status_code == 404


async def test_bad_json_gets_family_envelope(raw: httpx.AsyncClient, app: EmulatorApp) -> None:
    response = await raw.post(
        "/_emulator/faults", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422) or response.status_code < 500


# -- over a real socket ---------------------------------------------------------------------------


async def test_threaded_server_serves_and_drops_for_real(server: ThreadedEmulatorServer) -> None:
    async with AnyIntClient(
        api_key="k", base_url=server.base_url, retry=RetryPolicy(max_retries=0)
    ) as client:
        assert (await client.request("GET", "/openai/v1/models")).status_code == 200
        await client.http.post(
            f"{server.base_url}/_emulator/faults",
            json={"match": "POST /openai/v1/models", "fault": "drop_after"},
        )
        # A create-like POST whose connection drops after processing is ambiguous, never resent.
        with pytest.raises(anyint.AmbiguousSubmitError):
            await client.request("POST", "/openai/v1/models", json={}, creates_task=True)
        await client.http.post(
            f"{server.base_url}/_emulator/faults",
            json={"match": "GET /openai/v1/models", "fault": "delay", "seconds": 1.0},
        )
    async with AnyIntClient(
        api_key="k", base_url=server.base_url, timeout=0.2, retry=RetryPolicy(max_retries=0)
    ) as slow:
        with pytest.raises(anyint.APITimeoutError):
            await slow.request("GET", "/openai/v1/models")
