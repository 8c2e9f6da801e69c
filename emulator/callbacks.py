"""Callback delivery: at-least-once POSTs that never block the API.

Each payload is sent from a background task with a few retries. Hosts under ``.invalid`` (the
documented safe placeholder) are never contacted. Faults can drop, duplicate or delay a delivery.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["CallbackDispatcher", "Delivery"]

_BACKOFF = (0.05, 0.2, 0.5)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every delivery: httpx would load the CA bundle (~17 ms of the
    event loop) for each client, and a busy emulator sends hundreds of callbacks."""
    return httpx.create_ssl_context()


@dataclass
class Delivery:
    """One attempt to deliver a callback, for ``GET /_emulator/callbacks``."""

    task_id: str
    url: str
    phase: str
    attempt: int
    status: int | None
    error: str | None
    time: float


class CallbackDispatcher:
    """Sends callbacks in the background with retries.

    Attributes:
        transport: httpx transport for deliveries; tests can point it at an in-process receiver.
        timeout: Per-attempt timeout (the contract gives receivers 15 s; we wait less).
    """

    def __init__(self) -> None:
        self.transport: httpx.AsyncBaseTransport | None = None
        self.timeout = 5.0
        self.reset()

    def reset(self) -> None:
        """Forget the delivery log (in-flight deliveries finish on their own)."""
        self.log: list[Delivery] = []
        self._pending: set[asyncio.Task[None]] = set()

    def send(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        task_id: str,
        wrapped: bool,
        faults: dict[str, float],
    ) -> None:
        """Schedule delivery of one payload (bare AnyInt shape) to ``url``."""
        host = urlsplit(url).hostname or ""
        if host == "invalid" or host.endswith(".invalid") or "callback_drop" in faults:
            return
        body = _wrap(payload) if wrapped else payload
        copies = 2 if "callback_duplicate" in faults else 1
        delay = faults.get("callback_delay", 0.0)
        for _ in range(copies):
            task = asyncio.get_running_loop().create_task(self._deliver(url, body, task_id, delay))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def drain(self, wait_seconds: float = 5.0) -> None:
        """Wait for in-flight deliveries (tests and shutdown)."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=wait_seconds)

    async def _deliver(self, url: str, body: dict[str, Any], task_id: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        phase = str(_phase(body))
        async with httpx.AsyncClient(
            transport=self.transport, timeout=self.timeout, verify=_tls()
        ) as client:
            for attempt, pause in enumerate((*_BACKOFF, None), start=1):
                status: int | None = None
                error: str | None = None
                try:
                    response = await client.post(url, json=body)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                self.log.append(Delivery(task_id, url, phase, attempt, status, error, time.time()))
                if status is not None and status < 500 and status != 429:
                    return
                if pause is None:
                    return
                await asyncio.sleep(pause)


def _phase(body: dict[str, Any]) -> object:
    inner = body.get("data") if "code" in body and isinstance(body.get("data"), dict) else body
    return inner.get("callbackType", "complete") if isinstance(inner, dict) else "complete"


def _wrap(payload: dict[str, Any]) -> dict[str, Any]:
    """The upstream shape: ``{"code", "msg", "data": <bare payload>}`` (contract §11.7)."""
    code = int(payload.get("code", 200))
    msg = payload.get("msg") or ("All generated successfully." if code == 200 else "Failed.")
    data = {k: v for k, v in payload.items() if k not in ("code", "msg")}
    return {"code": code, "msg": msg, "data": data}
