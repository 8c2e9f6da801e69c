"""The receiver's logs (the token is masked), a real uvicorn socket, and ``python -m callbacks``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from blocks import AssetStore
from callbacks import create_callback_app
from callbacks.__main__ import build_server, main
from callbacks.app import TokenMaskFilter, mask_callback_tokens

from .conftest import TOKEN

URL = f"/callbacks/{TOKEN}"
SUNO_BARE = {"callbackType": "complete", "task_id": "5c79be8e", "data": []}


@pytest.fixture
def uvicorn_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let uvicorn's records reach caplog, and undo any logging setup a uvicorn.Config does.

    uvicorn.Config applies its dictConfig globally (access log handler, propagate off), and other
    tests build configs too; restore the loggers as they were.
    """
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg, lg.handlers[:], lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        monkeypatch.setattr(lg, "propagate", True)
    yield
    for lg, handlers, propagate, level in saved:
        lg.handlers[:] = handlers
        lg.propagate = propagate
        lg.setLevel(level)


@pytest.mark.usefixtures("uvicorn_logging")
async def test_token_never_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="uvicorn.access")  # Prefect's logging config raises it
    await client.post(f"{URL}/suno", json=SUNO_BARE)
    await client.post(f"{URL}/suno", json=SUNO_BARE)
    await client.post(f"{URL}/suno", content=b"{bad")
    await client.post(f"{URL}/kling", json={"nothing": 1})
    await client.post(f"{URL}/kling", json={"task_id": "../x", "task_status": "succeed"})
    await client.post("/callbacks/wrong-token-0123456789/suno", json=SUNO_BARE)
    assert "callback suno task 5c79be8e phase complete" in caplog.text
    assert TOKEN not in caplog.text
    # uvicorn's access-log record, as uvicorn builds it, passes through the mask.
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "POST", f"{URL}/suno?x=1", "1.1", 200)
    assert TOKEN not in caplog.text
    assert "/callbacks/***/suno?x=1" in caplog.text


def test_mask_filter_on_messages() -> None:
    assert mask_callback_tokens(f"POST {URL}/kling 200") == "POST /callbacks/***/kling 200"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, f"GET {URL}/a", None, None)
    assert TokenMaskFilter().filter(record)
    assert record.getMessage() == "GET /callbacks/***/a"


@pytest.fixture
def live_server(memory_store: AssetStore) -> Iterator[str]:
    """The receiver on a real uvicorn socket, its logs propagated to caplog."""
    app: FastAPI = create_callback_app(memory_store, token=TOKEN, max_body=4096, emit_events=False)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, lifespan="off", access_log=True
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.usefixtures("uvicorn_logging")
async def test_real_socket_chunked_limit_and_access_log(
    live_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="uvicorn.access")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(256):
            yield b" " * 1024

    async with httpx.AsyncClient(base_url=live_server, timeout=10) as c:
        big = await c.post(f"{URL}/suno", content=chunks())
        ok = await c.post(f"{URL}/suno", json=SUNO_BARE)
    assert big.status_code == 413
    assert ok.status_code == 200
    assert "/callbacks/***/suno" in caplog.text
    assert TOKEN not in caplog.text


def test_main_needs_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="ANYINT_CALLBACK_TOKEN"):
        main(["--port", "0"])


@pytest.mark.usefixtures("uvicorn_logging")
def test_main_builds_a_masked_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", TOKEN)
    server = build_server(["--host", "127.0.0.1", "--port", "0", "--store", "memory://cli"])
    assert (server.config.host, server.config.port) == ("127.0.0.1", 0)
    access = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, TokenMaskFilter) for f in access.filters)
