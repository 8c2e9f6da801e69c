"""AnyIntCredentials: resolution order, secrecy, and a working client."""

from __future__ import annotations

import httpx
import pytest

from blocks import AnyIntCredentials

CANARY = "sk-canary-credentials-5f0e"


def test_block_key_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYINT_API_KEY", "sk-env")
    assert AnyIntCredentials(api_key=CANARY).resolved_api_key().get_secret_value() == CANARY
    assert AnyIntCredentials().resolved_api_key().get_secret_value() == "sk-env"


def test_missing_key_says_what_to_set() -> None:
    with pytest.raises(ValueError, match="ANYINT_API_KEY"):
        AnyIntCredentials().resolved_api_key()


def test_key_never_printed() -> None:
    block = AnyIntCredentials(api_key=CANARY)
    for text in (repr(block), str(block), block.model_dump_json()):
        assert CANARY not in text


async def test_client_uses_block_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYINT_BASE_URL", "https://env.test")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    block = AnyIntCredentials(
        api_key=CANARY, base_url="https://block.test", max_retries=0, timeout_seconds=12
    )
    async with block.get_client(transport=httpx.MockTransport(handler)) as client:
        await client.request("GET", "/openai/v1/models")
        assert client.timeout.read == 12 and client.retry.max_retries == 0
    assert str(seen[0].url) == "https://block.test/openai/v1/models"
    assert seen[0].headers["authorization"] == f"Bearer {CANARY}"
    async with AnyIntCredentials(api_key=CANARY).get_client() as client:
        assert client.base_url == "https://env.test"
