"""Read deadlines and a connection cap for the receiver's uvicorn server.

A client that opens a connection and then stalls must not hold a socket for ever. The pinned
uvicorn (0.54, h11 protocol) only times out *idle keep-alive* connections (``timeout_keep_alive``,
armed after a response): no timer runs before the first request, nor while the request line,
the headers or the body trickle in, so a stalled client is held indefinitely. Its
``limit_concurrency`` neither refuses nor drops connections: it answers 503 to a *complete*
request once that many connections are open, so a few hundred stalled sockets would turn every
real callback into a 503 while the stalled ones stay open. What this module adds, in a subclass
of uvicorn's :class:`~uvicorn.protocols.http.h11_impl.H11Protocol`:

- **Header deadline**: the request line and headers must be complete ``header_timeout`` seconds
  after the connection opens (or after the first byte of a keep-alive connection's next
  request); otherwise the connection is closed (there is no request to answer yet).
- **Body deadline**: the whole body must arrive ``body_timeout`` seconds after the headers;
  otherwise the client gets ``408 Request Timeout`` (when no answer was sent yet) and the
  connection is closed. A total deadline, not a per-read one: a body trickling a byte a second
  would otherwise never time out.
- **Connection cap**: past ``max_connections`` open connections, the one that has waited
  longest on its client (stalled in headers or body, or idle between keep-alive requests) is
  shed to make room; only when every connection is busy with a complete request is the new one
  refused. So a flood of stalled connections costs at most ``max_connections`` sockets, and a
  well-behaved callback still gets through.

The deadlines live in the protocol rather than in an ASGI wrapper because an answer the app gives
before reading the body (the 404 of a wrong token) leaves nobody in the app to time that body out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import ClassVar, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "ConnectionLimits",
    "GuardedH11Protocol",
    "guarded_protocol",
]

logger = logging.getLogger("callbacks.limits")

#: Seconds for the request line and headers. A callback's headers fit in one packet.
DEFAULT_HEADER_TIMEOUT = 5.0
#: Seconds for the whole body after the headers. Callbacks are a few KiB; with the header
#: deadline this stays under the 15 s the gateway allows for an answer.
DEFAULT_BODY_TIMEOUT = 10.0
#: Open connections at most. The gateway sends callbacks a few at a time; each is one socket.
DEFAULT_MAX_CONNECTIONS = 100

#: What a connection is waiting for: its client's headers or body, its next keep-alive request,
#: or nothing from the client (its request is complete and being answered).
_Phase = Literal["headers", "body", "idle"] | None

_TIMEOUT_408 = b"request body not received in time"


@dataclass(frozen=True)
class ConnectionLimits:
    """The receiver's read deadlines and connection cap.

    Args:
        header_timeout: Seconds for the request line and headers.
        body_timeout: Seconds for the whole body once the headers are in.
        max_connections: Open connections at most.

    Raises:
        ValueError: A limit that is not positive (the message names it).
    """

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "max_connections"):
            value = getattr(self, name)
            # `not value > 0` also refuses NaN, which would make every deadline "never".
            if isinstance(value, bool) or not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header/body deadlines and a connection cap.

    Use :func:`guarded_protocol` to bind the limits; uvicorn builds one instance per connection.
    """

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    _phase: _Phase = None
    _since = 0.0  # loop time the current phase began: the oldest waiter is shed first
    _timer: asyncio.TimerHandle | None = None

    # -- uvicorn's hooks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn runs no timer before the first request: without this, a client that connects
        # and sends nothing (or half a request line) holds the socket for ever.
        self._enter("headers")
        self._enforce_cap()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self._phase = None
        super().connection_lost(exc)

    # -- deadlines -----------------------------------------------------------------------------

    def _follow_request(self) -> None:
        """Move the deadline along with the request h11 has parsed so far."""
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._enter("body")
        elif state is h11.IDLE and self.conn.our_state is h11.IDLE:
            # Between requests. uvicorn's keep-alive timer covers the silence after a response
            # (its data_received cancels that timer): from the next request's first byte, the
            # header deadline runs.
            self._enter("headers" if self.conn.trailing_data[0] else "idle")
        else:
            self._enter(None)  # request complete: the app is answering it

    def _enter(self, phase: _Phase) -> None:
        if phase == self._phase:
            return  # a deadline is total: more bytes of the same part do not extend it
        self._cancel()
        self._phase = phase
        self._since = self.loop.time()
        if phase == "headers":
            self._timer = self.loop.call_later(self.limits.header_timeout, self._headers_expired)
        elif phase == "body":
            self._timer = self.loop.call_later(self.limits.body_timeout, self._body_expired)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_expired(self) -> None:
        self._timer = None
        # No request was parsed, so there is nothing to answer: just close.
        self._drop(f"request headers not complete within {self.limits.header_timeout:g} s")

    def _body_expired(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self.conn.our_state is h11.SEND_RESPONSE:  # no answer started yet: one is possible
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_TIMEOUT_408)).encode()),
                (b"connection", b"close"),
            ]
            response = h11.Response(status_code=408, headers=headers, reason=b"Request Timeout")
            for event in (response, h11.Data(data=_TIMEOUT_408), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event) or b"")
        if self.cycle is not None:
            # As connection_lost does: the app's pending receive() gets http.disconnect and its
            # own answer is dropped, instead of being sent after ours.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self._drop(f"request body not complete within {self.limits.body_timeout:g} s")

    def _drop(self, why: str) -> None:
        if self.transport.is_closing():
            return
        peer = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
        logger.warning("%sclosed the connection: %s", peer, why)
        self._cancel()  # a shed connection's own deadline must not fire on the closed socket
        self._phase = None
        self.transport.close()  # flushes the 408, if any, before closing

    # -- connection cap ------------------------------------------------------------------------

    def _enforce_cap(self) -> None:
        """Shed the longest-waiting connection past the cap, else refuse this one."""
        # Closing connections stay in the set until their connection_lost runs (next loop turn):
        # do not count them, or a burst of new connections would shed several for one.
        open_ = [c for c in self.connections if not c.transport.is_closing()]
        if len(open_) <= self.limits.max_connections:
            return
        waiting = [
            c
            for c in open_
            if isinstance(c, GuardedH11Protocol) and c is not self and c._phase is not None
        ]
        if waiting:
            victim = min(waiting, key=lambda c: c._since)
            victim._drop(
                f"shed past {self.limits.max_connections} connections "
                f"(waiting on its client for {self.loop.time() - victim._since:.1f} s)"
            )
            return
        self._drop(f"refused: {self.limits.max_connections} connections are busy")


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class bound to ``limits``, for ``uvicorn.Config(http=...)``.

    Passing the class also pins the h11 implementation: with ``http="auto"``, installing
    ``httptools`` would silently swap in a protocol without these limits.

    Args:
        limits: The deadlines and cap every connection of the server gets.

    Returns:
        A subclass of :class:`GuardedH11Protocol` (uvicorn instantiates it per connection).
    """

    class _Bound(GuardedH11Protocol):
        pass

    _Bound.limits = limits
    return _Bound
