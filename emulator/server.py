"""Ways to run the emulator: in process (an httpx transport) or a threaded uvicorn server."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import uvicorn

from .app import ConnectionDropped, EmulatorApp, create_app

__all__ = ["IN_PROCESS_BASE_URL", "EmulatorTransport", "ThreadedEmulatorServer"]

#: Base URL for in-process use; plain http, like the emulator on a socket.
IN_PROCESS_BASE_URL = "http://emulator.anyint.local"


class EmulatorTransport(httpx.ASGITransport):
    """In-process transport to an :class:`EmulatorApp`.

    A dropped connection surfaces as ``httpx.RemoteProtocolError``, as it would over a socket.
    Bodies are buffered (ASGITransport's limit), so real streaming needs the threaded server.
    """

    def __init__(self, app: EmulatorApp | None = None, **kwargs: Any) -> None:
        self.app_ = app or create_app()
        super().__init__(app=self.app_, **kwargs)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                f"Server disconnected without sending a response ({exc})", request=request
            ) from exc


class ThreadedEmulatorServer:
    """uvicorn serving the emulator in a daemon thread, for tests that need a real socket.

    Modelled on moto's ``ThreadedMotoServer``: port 0 picks a free port, ``start()`` returns once
    the socket listens, ``stop()`` shuts down.

    Args:
        app: The app to serve; a fresh one when omitted.
        host: Interface to bind (loopback by default).
        port: Port, 0 for any free one.
    """

    def __init__(self, app: EmulatorApp | None = None, host: str = "127.0.0.1", port: int = 0):
        self.app = app or create_app()
        self._config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def get_host_and_port(self) -> tuple[str, int]:
        """The bound address (after ``start()``)."""
        servers = self._server.servers
        if not servers:
            raise RuntimeError("server is not started")
        host, port = servers[0].sockets[0].getsockname()[:2]
        return str(host), int(port)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._server.serve())
        self.loop.close()

    def start(self, timeout: float = 10.0) -> ThreadedEmulatorServer:
        """Start serving; returns when the socket accepts connections."""
        self._thread = threading.Thread(target=self._run, name="anyint-emulator", daemon=True)
        self._thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive() or waited > timeout:
                raise RuntimeError("emulator server failed to start")
            deadline.wait(0.01)
            waited += 0.01
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> ThreadedEmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
