"""``AssetStore.download`` on every backend, with the worker thread writing (blocks/_pipe.py).

10 MiB: more than one 8 MiB S3 part, so a part upload happens on the worker thread and the
multipart completion on the loop's. The body comes from an ``httpx.MockTransport``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import AsyncIterator

import httpx
import pytest

from anyint import AnyIntClient, DownloadError
from blocks import AssetStore
from blocks.store import PARTIAL_MARK

BASE_URL = "https://gateway.test"
URL = f"{BASE_URL}/_assets/k/big.mp4"
CHUNK = 64 * 1024
BODY = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * (160 * CHUNK // 256)  # 10 MiB


class Body(httpx.AsyncByteStream):
    def __init__(self, cut_after: int | None = None) -> None:
        self.cut_after = cut_after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(BODY), CHUNK):
            if self.cut_after is not None and start >= self.cut_after:
                raise httpx.ReadError("connection reset")
            yield BODY[start : start + CHUNK]


def client(cut_after: int | None = None) -> AnyIntClient:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "video/mp4", "content-length": str(len(BODY))}
        return httpx.Response(200, headers=headers, stream=Body(cut_after))

    return AnyIntClient("sk-test-store", BASE_URL, transport=httpx.MockTransport(answer))


def no_writer_thread() -> bool:
    return not any(t.name == "anyint-store-writer" for t in threading.enumerate())


async def test_download_stores_every_byte(store: AssetStore) -> None:
    async with client() as c:
        stored = await store.download(c, URL, "runs/r1/big.mp4", kind="video")
    with store.open("runs/r1/big.mp4") as handle:
        assert handle.read() == BODY
    assert stored.bytes == len(BODY) and stored.sha256 == hashlib.sha256(BODY).hexdigest()
    assert store.list("runs") == ["runs/r1/big.mp4"] and no_writer_thread()


@pytest.mark.parametrize("cut_after", [9 * 2**20], ids=["after-the-first-s3-part"])
async def test_a_cut_download_leaves_nothing(store: AssetStore, cut_after: int) -> None:
    async with client(cut_after) as c:
        with pytest.raises(DownloadError, match="cut short"):
            await store.download(c, URL, "runs/r1/big.mp4", kind="video")
    assert not store.exists("runs/r1/big.mp4")
    assert all(PARTIAL_MARK not in k for k in store.list()) and no_writer_thread()
