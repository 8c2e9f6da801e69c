"""Store downloads hash and write on a worker thread (blocks/_pipe.py): same results, same errors.

The body comes from an ``httpx.MockTransport`` (the network is not what is tested here); the
store and its writer are real (``memory://``, and a memory filesystem that runs out of space,
registered with fsspec under its own protocol). Every test also checks that no writer thread
outlives the download and that no partial object shows under the final key.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import re
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import fsspec
import httpx
import pytest
from fsspec.implementations.memory import MemoryFile, MemoryFileSystem

from anyint import AnyIntClient, DownloadError, download
from blocks import AssetStore
from blocks._pipe import PipeWriter
from blocks.store import PARTIAL_MARK

from .conftest import BASE_URL

MakeClient = Callable[..., AnyIntClient]
CHUNK = 64 * 1024
#: Three and a half default batches, so the worker sees several hand-overs and a short tail.
BODY = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * (56 * CHUNK // 256)
URL = f"{BASE_URL}/_assets/k/big.mp4"
#: Where the full filesystem refuses to write on.
ROOM = 2 * 2**20


class Body(httpx.AsyncByteStream):
    """A response body in ``CHUNK`` pieces that counts what was read; optionally cut short,
    or stalled (waits on an event nobody sets, so only a deadline ends it)."""

    def __init__(self, data: bytes, *, cut_after: int | None = None, stall: bool = False):
        self.data, self.cut_after, self.stall, self.read = data, cut_after, stall, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), CHUNK):
            if self.cut_after is not None and start >= self.cut_after:
                raise httpx.ReadError("connection reset")
            if self.stall and start:
                await asyncio.Event().wait()
            self.read += min(CHUNK, len(self.data) - start)
            yield self.data[start : start + CHUNK]


def served(body: Body, *, length: bool = True) -> Callable[[httpx.Request], httpx.Response]:
    headers = {"content-type": "video/mp4"}
    if length:
        headers["content-length"] = str(len(body.data))
    return lambda request: httpx.Response(200, headers=headers, stream=body)


class _FullFile(MemoryFile):  # type: ignore[misc]
    def write(self, data: bytes) -> int:
        if self.tell() + len(data) > ROOM:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(super().write(data))


class FullMemoryFileSystem(MemoryFileSystem):  # type: ignore[misc]
    """A memory filesystem with ``ROOM`` bytes per file: the disk-full case, without a disk."""

    protocol = ("fullmem",)
    store: dict[str, Any] = {}  # fsspec's own layout: one dict per class
    pseudo_dirs = [""]

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if mode == "wb":
            handle = _FullFile(self, self._strip_protocol(path))
            handle.commit()
            return handle
        return super()._open(path, mode, **kwargs)


fsspec.register_implementation("fullmem", FullMemoryFileSystem, clobber=True)


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "anyint-store-writer"]


def nothing_left(store: AssetStore, key: str) -> None:
    assert not store.exists(key)
    assert all(PARTIAL_MARK not in k for k in store.list()), store.list()
    assert writer_threads() == []


@pytest.fixture
def store() -> AssetStore:
    return AssetStore(base_url=f"memory://pipe-{uuid.uuid4().hex}")


async def test_store_download_matches_a_plain_one(
    make_client: MakeClient, store: AssetStore
) -> None:
    async with make_client(served(Body(BODY))) as client:
        stored = await store.download(client, URL, "assets/big.mp4", kind="video")
    with store.open("assets/big.mp4") as handle:
        assert handle.read() == BODY
    assert stored.bytes == len(BODY) and stored.sha256 == hashlib.sha256(BODY).hexdigest()
    assert stored.content_type == "video/mp4" and writer_threads() == []


class Recording(io.BytesIO):
    """A handle that notes which thread wrote, and can hold each write until ``gate`` opens."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.gate, self.threads = gate, set[str]()
        self.writes_started = self.writes_done = 0

    def write(self, data: Any) -> int:
        self.writes_started += 1
        self.threads.add(threading.current_thread().name)
        if self.gate is not None:
            self.gate.wait(timeout=1.0)  # the bound on how long a write can hold the pipe
        written = super().write(data)
        self.writes_done += 1
        return written


async def test_hashing_and_writing_happen_on_the_worker(make_client: MakeClient) -> None:
    handle = Recording()
    async with make_client(served(Body(BODY))) as client, PipeWriter(handle) as sink:
        result = await download(client, URL, sink, kind="video")
    assert handle.getvalue() == BODY and result.sha256 == hashlib.sha256(BODY).hexdigest()
    assert handle.threads == {"anyint-store-writer"}
    assert writer_threads() == []


async def test_an_error_while_writing_in_the_worker_surfaces_and_leaves_nothing(
    make_client: MakeClient,
) -> None:
    store = AssetStore(base_url=f"fullmem://full-{uuid.uuid4().hex}")
    body = Body(BODY * 4)  # 14 MiB against 2 MiB of room
    async with make_client(served(body)) as client:
        with pytest.raises(OSError) as info:
            await store.download(client, URL, "assets/big.mp4", kind="video")
    assert info.value.errno == errno.ENOSPC  # the worker's own exception, as a sync write's
    nothing_left(store, "assets/big.mp4")
    # The loop stopped reading soon after: at most the bounded queue's worth past the room.
    assert body.read <= ROOM + (4 + 2) * 2**20, body.read


async def test_the_queue_bounds_what_is_read_ahead_of_a_slow_writer(
    make_client: MakeClient,
) -> None:
    """A writer that does not keep up holds the reader back (bounded memory), and a deadline
    that fires meanwhile still waits for the write in progress (no write after the pipe)."""
    gate = threading.Event()  # never set: each write holds the worker for 1 s
    handle, body = Recording(gate), Body(BODY * 4)
    async with make_client(served(body)) as client:
        with pytest.raises(DownloadError, match="budget") as info:
            async with PipeWriter(handle, batch_bytes=CHUNK, depth=2) as sink:
                await download(client, URL, sink, kind="video", budget_seconds=0.5)
    received = int(re.search(r"\((\d+) bytes received\)", str(info.value)).group(1))  # type: ignore[union-attr]
    # Two batches in flight and one being collected, one chunk each: nothing more is read.
    assert received == body.read <= 3 * CHUNK, received
    assert writer_threads() == []
    # A write was under way when the deadline fired; the pipe waited for it to end.
    assert handle.writes_started == handle.writes_done >= 1


@pytest.mark.parametrize(
    ("body", "length", "max_bytes", "message"),
    [
        (Body(BODY, cut_after=2 * 2**20), True, None, "cut short"),
        (Body(BODY), False, 2**20 + 1, "cap"),
        (Body(BODY, stall=True), True, None, "budget"),
    ],
    ids=["cut-stream", "size-cap", "deadline"],
)
async def test_download_errors_leave_nothing_and_no_thread(
    make_client: MakeClient,
    store: AssetStore,
    body: Body,
    length: bool,
    max_bytes: int | None,
    message: str,
) -> None:
    store.put_bytes("assets/big.mp4", b"previous", "video/mp4")
    kwargs: dict[str, Any] = {"budget_seconds": 0.5}
    if max_bytes is not None:
        kwargs["max_bytes"] = max_bytes
    async with make_client(served(body, length=length)) as client:
        with pytest.raises(DownloadError, match=message):
            await store.download(client, URL, "assets/big.mp4", kind="video", **kwargs)
    with store.open("assets/big.mp4") as handle:
        assert handle.read() == b"previous"  # the old object stays, the partial never shows
    store.remove("assets/big.mp4")
    nothing_left(store, "assets/big.mp4")
