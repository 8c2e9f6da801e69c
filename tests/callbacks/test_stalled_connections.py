"""Stalled clients on real loopback sockets: read deadlines and the connection cap.

The server is the one ``python -m callbacks`` builds (:func:`callbacks.__main__.build_server`,
flags included), run by uvicorn in a thread. A server-side close is seen as the client sees it:
``recv`` returning ``b""`` (or a reset), waited for with ``select`` up to a deadline.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn

from callbacks.__main__ import build_server

from .conftest import TOKEN
from .test_server import uvicorn_logging

__all__ = ["uvicorn_logging"]  # a fixture: imported for pytest, not called

Addr = tuple[str, int]
Serve = Callable[..., Addr]

CALLBACK = {"callbackType": "complete", "task_id": "5c79be8e", "data": []}
BODY_HEAD = (
    f"POST /callbacks/{TOKEN}/suno HTTP/1.1\r\nHost: receiver\r\n"
    "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
).encode()
#: Headers complete, body stalled after a few of its 200 bytes.
BODY_STALL = BODY_HEAD + b'{"callbackType": "comp'
#: Stalls before the request line or the headers are complete.
HEADER_STALLS = [
    b"",
    b"POST /callb",
    f"POST /callbacks/{TOKEN}/suno HTTP/1.1\r\nHost: receiver\r\nContent-Le".encode(),
]
#: A wrong token is answered 404 before the body is read; the body then stalls.
WRONG_TOKEN_STALL = BODY_STALL.replace(TOKEN.encode(), b"wrong-token-0123456789")


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, uvicorn_logging: None) -> Iterator[Serve]:
    """Start the receiver with extra ``python -m callbacks`` flags; returns its address."""
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", TOKEN)
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(*flags: str) -> Addr:
        store = f"memory://stalled-{len(running)}-{time.monotonic_ns()}"
        argv = ["--host", "127.0.0.1", "--port", "0", "--store", store, "--log-level", "warning"]
        server = build_server([*argv, *flags])
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        ready = threading.Event()
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "receiver did not start"
            ready.wait(0.01)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        return str(host), int(port)

    yield start
    for server, thread in running:
        # force_exit too: uvicorn otherwise waits for still-open (stalled) connections.
        server.should_exit = server.force_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive()


@pytest.fixture
def clients() -> Iterator[list[socket.socket]]:
    """Client sockets of a test, closed at the end (before the server stops)."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def stall(addr: Addr, clients: list[socket.socket], data: bytes) -> socket.socket:
    """Connect, send ``data`` (maybe nothing) and then nothing more."""
    sock = socket.create_connection(addr, timeout=5)
    clients.append(sock)
    if data:
        sock.sendall(data)
    return sock


def wait_closed(
    socks: list[socket.socket], count: int, within: float
) -> dict[socket.socket, tuple[bytes, float]]:
    """Read ``socks`` until ``count`` of them are closed by the server or ``within`` s pass.

    Returns:
        Each closed socket with the bytes it received and the monotonic time of the close.
    """
    received = {s: b"" for s in socks}
    closed: dict[socket.socket, tuple[bytes, float]] = {}
    deadline = time.monotonic() + within
    while len(closed) < count and (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([s for s in socks if s not in closed], [], [], left)
        for sock in readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                received[sock] += chunk
            else:
                closed[sock] = (received[sock], time.monotonic())
    return closed


def post_callback(addr: Addr) -> int:
    """A well-formed callback on its own connection; its status."""
    url = f"http://{addr[0]}:{addr[1]}/callbacks/{TOKEN}/suno"
    return httpx.post(url, json=CALLBACK, timeout=5).status_code


def test_stalled_headers_and_bodies_are_dropped(serve: Serve, clients: list[socket.socket]) -> None:
    addr = serve("--header-timeout", "0.5", "--body-timeout", "0.8", "--max-connections", "20")
    opened = time.monotonic()
    headers = [stall(addr, clients, data) for data in HEADER_STALLS * 3]
    bodies = [stall(addr, clients, BODY_STALL) for _ in range(8)]
    wrong = stall(addr, clients, WRONG_TOKEN_STALL)
    stalled = [*headers, *bodies, wrong]
    assert len(stalled) < 20  # below the cap: only the deadlines close these

    assert post_callback(addr) == 200  # answered while the stalled ones are held

    closed = wait_closed(stalled, len(stalled), within=5)
    assert set(closed) == set(stalled), f"{len(stalled) - len(closed)} stalled sockets still open"
    for sock in headers:
        data, at = closed[sock]
        assert data == b""  # no request yet: nothing to answer
        assert 0.5 <= at - opened < 0.5 + 3.5
    for sock in bodies:
        data, at = closed[sock]
        assert data.startswith(b"HTTP/1.1 408 "), data[:80]
        assert 0.8 <= at - opened < 0.8 + 3.5
    data, _ = closed[wrong]
    assert data.startswith(b"HTTP/1.1 404 "), data[:80]  # answered, then dropped, not held

    assert post_callback(addr) == 200  # and the receiver is still up


def test_trickled_body_hits_the_total_deadline(serve: Serve, clients: list[socket.socket]) -> None:
    # A byte every 0.1 s never leaves the socket idle for long: only a total deadline stops it.
    addr = serve("--body-timeout", "0.8")
    sock = stall(addr, clients, BODY_HEAD)
    started = time.monotonic()
    sock.settimeout(0.1)
    answer = b""
    sent = 0
    while time.monotonic() - started < 6:
        try:
            chunk = sock.recv(65536)  # a bounded wait for the server's answer or close
        except TimeoutError:
            if sent < 199:
                sock.sendall(b" ")  # keep trickling: the body needs 200 bytes
                sent += 1
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert time.monotonic() - started < 0.8 + 3.5
    assert sent < 199  # stopped by the deadline, not by the body running out


def test_keep_alive_next_request_has_a_header_deadline(
    serve: Serve, clients: list[socket.socket]
) -> None:
    # uvicorn's keep-alive timer stops at the next request's first byte; the deadline must not.
    addr = serve("--header-timeout", "0.5")
    sock = stall(addr, clients, b"GET /healthz HTTP/1.1\r\nHost: receiver\r\n\r\n")
    answer = b""
    while b'"ok":true' not in answer:
        chunk = sock.recv(65536)  # bounded by the socket's 5 s timeout
        assert chunk, f"closed before answering: {answer!r}"
        answer += chunk
    started = time.monotonic()  # before the send: the server's clock starts after it
    sock.sendall(b"GET /heal")
    closed = wait_closed([sock], 1, within=4)  # less than the 5 s keep-alive timeout
    assert closed, "half a second request held open"
    data, at = closed[sock]
    assert data == b""
    assert at - started >= 0.5


def test_cap_sheds_the_longest_waiting(serve: Serve, clients: list[socket.socket]) -> None:
    # Long deadlines: here only the cap can close anything.
    addr = serve("--header-timeout", "60", "--body-timeout", "60", "--max-connections", "20")
    headers = [stall(addr, clients, data) for data in (HEADER_STALLS * 5)]  # 15, oldest
    bodies = [stall(addr, clients, BODY_STALL) for _ in range(15)]
    stalled = [*headers, *bodies]

    assert post_callback(addr) == 200  # room was made for it
    assert post_callback(addr) == 200

    # 20 allowed: 10 of the 30 stalled are shed, then one for the first callback; the second
    # finds that room (the first one's connection has closed). The 11 oldest waiters go.
    expected = len(stalled) + 1 - 20
    closed = wait_closed(stalled, expected, within=5)
    assert len(closed) == expected
    assert set(closed) <= set(headers)  # the oldest waiters went first
    assert all(data == b"" for data, _ in closed.values())
    still_open = [s for s in stalled if s not in closed]
    assert select.select(still_open, [], [], 0)[0] == []  # the other 19 are held, not closed


def test_bad_limit_flags_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", TOKEN)
    bad = [("--header-timeout", "0"), ("--body-timeout", "nan"), ("--max-connections", "-1")]
    for flag, value in bad:
        with pytest.raises(SystemExit):
            build_server([flag, value])
        assert f"argument {flag}: must be positive" in capsys.readouterr().err
