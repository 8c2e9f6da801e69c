"""The emulator's ASGI application: gateway routes, auth, envelopes, faults and the call log.

``create_app()`` returns an :class:`EmulatorApp`, a thin ASGI wrapper around the FastAPI app. The
wrapper sits outside every Starlette middleware so it can do what a real network fault does:
close the connection before or after the request is processed, or cut a body short.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from .backend import Backend, CallRecord, Fault
from .errors import EmulatorError, render_error

__all__ = ["ConnectionDropped", "EmulatorApp", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PRIVATE = ("/_emulator", "/_assets")


class ConnectionDropped(Exception):
    """Raised to make the server close the connection without a (complete) response."""


class EmulatorApp:
    """ASGI entry point: fault injection and the call log around the FastAPI app.

    Attributes:
        backend: The gateway state.
        fastapi: The FastAPI app (for its OpenAPI schema).
    """

    def __init__(self, backend: Backend, fastapi: FastAPI) -> None:
        self.backend = backend
        self.fastapi = fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_PRIVATE):
            slow = self._asset_trickle(scope)
            if slow is not None:  # asset downloads stay out of the call log, trickling or not
                replay = _replayer(await _read_body(receive))
                await _trickle(self.fastapi, slow, scope, replay, send, receive)
                return
            await self.fastapi(scope, receive, send)
            return
        body = await _read_body(receive)
        replay = _replayer(body)
        method, path = scope["method"], scope["path"]
        record = CallRecord(method, path, 0, time.time(), hashlib.sha256(body).hexdigest())
        self.backend.calls.append(record)
        scope.setdefault("state", {})["call"] = record
        fault = self.backend.take_fault(method, path, task_faults=False)
        if fault is not None:
            record.fault = fault.fault
            if fault.fault == "trickle":  # watches the real receive, to stop once the client left
                await _trickle(
                    self.fastapi, fault, scope, replay, _status_recorder(send, record), receive
                )
                return
            await self._faulty(fault, scope, replay, send, record)
            return
        await self.fastapi(scope, replay, _status_recorder(send, record))

    def _asset_trickle(self, scope: Scope) -> Fault | None:
        """The ``trickle`` fault queued for this asset download, if any: of all faults, only a
        trickle applies to ``GET /_assets/...`` (the others model the gateway, not its CDN)."""
        if scope["type"] != "http" or not scope["path"].startswith("/_assets/"):
            return None
        others = [f for f in self.backend.faults if f.fault != "trickle"]
        return self.backend.take_fault(
            scope["method"], scope["path"], task_faults=False, skip=others
        )

    async def _faulty(
        self, fault: Fault, scope: Scope, receive: Receive, send: Send, record: CallRecord
    ) -> None:
        kind = fault.fault
        if kind == "drop_before":
            await _drop(send, "dropped before the request was processed")
        if kind == "status":
            await _answer_injected(fault, scope, receive, send, record)
            return
        if kind == "echo":
            record.status = fault.status
            error = EmulatorError(fault.status, _echo(scope, await _read_body(receive)))
            await render_error(error, scope["path"])(scope, receive, send)
            return
        if kind in ("delay", "sse_error"):
            if kind == "delay":
                await asyncio.sleep(fault.seconds)
            else:
                scope["state"]["sse_error"] = True
            await self.fastapi(scope, receive, _status_recorder(send, record))
            return
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.fastapi(scope, receive, capture)
        if kind == "drop_after":
            await _drop(send, "dropped after the request was processed")
        if kind == "status_after":
            # The work is done (task created, call log filled in); only the answer is lost.
            await _answer_injected(fault, scope, receive, send, record)
            return
        start = next(m for m in messages if m["type"] == "http.response.start")
        record.status = start["status"]
        if kind == "not_json":
            # The work is done; the answer claims JSON but is a proxy's error page.
            await _not_json(start, send)
            return
        # truncate: send the headers as they were, then half the body, then close.
        data = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        await send(start)
        await send(
            {"type": "http.response.body", "body": data[: len(data) // 2], "more_body": True}
        )
        raise ConnectionDropped("body truncated")


#: Bytes per piece of a ``trickle`` answer: small, so even a small asset takes many pieces.
_TRICKLE_BYTES = 64


async def _trickle(
    app: Callable[[Scope, Receive, Send], Awaitable[None]],
    fault: Fault,
    scope: Scope,
    receive: Receive,
    send: Send,
    disconnected: Receive,
) -> None:
    """Answer as ``app`` does, but send the body ``_TRICKLE_BYTES`` at a time, one piece every
    ``fault.seconds``: each read comes quickly enough that no read timeout trips, while the
    whole body takes as long as the server likes (the headers, content length included, are
    sent at once).

    Stops when the client goes away (``disconnected`` says so), so an abandoned download does
    not keep the server busy. In process (``EmulatorTransport``) bodies are buffered and the
    client sees nothing until the end: use the threaded server for real streaming.
    """
    messages: list[Message] = []

    async def capture(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    data = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    await send(next(m for m in messages if m["type"] == "http.response.start"))

    async def pieces() -> None:
        for at in range(0, len(data), _TRICKLE_BYTES):
            await asyncio.sleep(fault.seconds)
            piece = data[at : at + _TRICKLE_BYTES]
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def gone() -> None:
        while (await disconnected())["type"] != "http.disconnect":
            pass

    sender, watcher = asyncio.ensure_future(pieces()), asyncio.ensure_future(gone())
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sender.cancel()
        watcher.cancel()
    if sender.done() and not sender.cancelled():
        sender.result()  # a failure while sending is the server's to see


async def _answer_injected(
    fault: Fault, scope: Scope, receive: Receive, send: Send, record: CallRecord
) -> None:
    """Answer with the error a ``status`` or ``status_after`` fault asks for."""
    record.status = fault.status
    await render_error(_injected(fault), scope["path"])(scope, receive, send)


def _echo(scope: Scope, body: bytes) -> str:
    """An error message that repeats the request back, headers (credentials too) and body, as
    careless gateways and proxies do."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return (
        f"rejected {scope['method']} {scope['path']}: headers={json.dumps(headers)} "
        f"body={body.decode('utf-8', 'replace')}"
    )


_NOT_JSON = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


async def _not_json(start: Message, send: Send) -> None:
    """Send ``start``'s status with a JSON content type and an HTML body."""
    headers = [
        (k, v) for k, v in start.get("headers", []) if k not in (b"content-length", b"content-type")
    ]
    headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_NOT_JSON)).encode()),
    ]
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": _NOT_JSON})


async def _drop(send: Send, why: str) -> None:
    """Close the connection without a usable response.

    A server only closes the socket once a response has started (before that, uvicorn answers
    500), so announce a body that never comes. The client sees the connection end mid-response.
    """
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"64"), (b"content-type", b"application/json")],
        }
    )
    raise ConnectionDropped(why)


class _HideDrops(logging.Filter):
    """Keep uvicorn from logging our deliberate drops as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


logging.getLogger("uvicorn.error").addFilter(_HideDrops())


def _injected(fault: Fault) -> EmulatorError:
    """The error a ``status`` or ``status_after`` fault answers with."""
    after = " after the request was processed" if fault.fault == "status_after" else ""
    return EmulatorError(
        fault.status,
        f"injected fault: HTTP {fault.status}{after}",
        code="injected_fault",
        headers={"retry-after": _num(fault.retry_after)} if fault.retry_after is not None else None,
    )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replayer(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # like a client that keeps the connection open
        return {"type": "http.disconnect"}

    return receive


def _status_recorder(send: Send, record: CallRecord) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            record.status = message["status"]
        await send(message)

    return wrapped


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    """One clear line naming each bad field, and the status the contract gives it."""
    parts = []
    status = 400
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{loc}: {err.get('msg')}")
        if err.get("type") == "string_too_long":
            status = 413
    return status, "; ".join(parts) or "invalid request body"


def _add_error_handlers(app: FastAPI) -> None:
    """Render every error in the envelope of the family whose route raised it."""

    @app.exception_handler(EmulatorError)
    async def on_emulator_error(request: Request, exc: EmulatorError) -> Response:
        return render_error(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        status, message = _validation_message(exc)
        return render_error(
            EmulatorError(status, message, code="invalid_request"), request.url.path
        )

    @app.exception_handler(json.JSONDecodeError)
    async def on_bad_json(request: Request, exc: json.JSONDecodeError) -> Response:
        return render_error(
            EmulatorError(400, f"body is not valid JSON: {exc.msg}"), request.url.path
        )


def create_app(
    backend: Backend | None = None,
    *,
    control: bool = True,
    timing: str = "fast",
    seed: int | None = None,
    media: str = "full",
) -> EmulatorApp:
    """Build the emulated gateway.

    Args:
        backend: Gateway state; a fresh one when omitted.
        control: Mount the ``/_emulator`` control plane (switch it off for a demo).
        timing: Timing profile of a fresh backend (``fast`` or ``realistic``).
        seed: Seed of a fresh backend: deterministic ids and media. None (the default) gives
            ids that never repeat across emulator instances.
        media: Media mode of a fresh backend: ``full`` (default) or ``lean`` (each kind of file
            rendered once and reused, for load tests; see :mod:`emulator.lean`).

    Returns:
        The ASGI app; ``app.backend`` is its state.

    Raises:
        ValueError: Both ``backend`` and ``seed`` (or a non-default ``media``) were given
            (configure the backend instead).
    """
    from . import routes
    from .control import router as control_router

    if backend is not None and seed is not None:
        raise ValueError("give the seed to the Backend, not to create_app, when passing one")
    if backend is not None and media != "full":
        raise ValueError("give media to the Backend, not to create_app, when passing one")
    backend = backend or Backend(timing=timing, seed=seed, media=media)
    app = FastAPI(title="AnyInt gateway emulator", version="1", docs_url=None, redoc_url=None)
    app.state.backend = backend
    _add_error_handlers(app)

    @app.get("/_assets/{asset_id}/{name}", include_in_schema=False)
    async def get_asset(asset_id: str, name: str) -> Response:
        try:
            asset = backend.get_asset(asset_id)
        except EmulatorError as exc:
            return Response(exc.message, status_code=exc.status, media_type="text/plain")
        return Response(asset.data, media_type=asset.content_type)

    for router in routes.ROUTERS:
        app.include_router(router)
    if control:
        app.include_router(control_router)

    @app.api_route(
        "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def not_emulated(request: Request) -> JSONResponse:
        # One envelope for every family, so the distinct code is always visible.
        message = f"{request.method} {request.url.path} is not a published AnyInt route"
        body = {"error": {"message": message, "type": "not_found_error", "code": "not_emulated"}}
        return JSONResponse(body, status_code=404)

    return EmulatorApp(backend, app)
