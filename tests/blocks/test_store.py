"""The abstract store suite, run on memory://, a local folder and S3 through s3fs + moto."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from blocks import AssetStore, UnsafeKeyError
from blocks.store import PARTIAL_MARK


async def chunks(n: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(n):
        yield bytes([i % 256]) * size


async def test_put_stream_roundtrip_with_checksum(store: AssetStore) -> None:
    stored = await store.put_stream("runs/r1/song.mp3", chunks(20), "audio/mpeg")
    with store.open("runs/r1/song.mp3") as handle:
        data = handle.read()
    assert stored.bytes == len(data) == 20 * 64 * 1024
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.uri == store.url("runs/r1/song.mp3") and store.exists("runs/r1/song.mp3")
    assert store.list("runs") == ["runs/r1/song.mp3"]


async def test_failed_stream_leaves_nothing_under_the_key(store: AssetStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise ConnectionError("source died")

    store.put_bytes("keep/old.bin", b"previous", "application/octet-stream")
    with pytest.raises(ConnectionError):
        await store.put_stream("keep/old.bin", broken(), "application/octet-stream")
    with store.open("keep/old.bin") as handle:
        assert handle.read() == b"previous"
    with pytest.raises(ConnectionError):
        await store.put_stream("new/file.bin", broken(), "application/octet-stream")
    assert not store.exists("new/file.bin")
    assert all(PARTIAL_MARK not in k for k in store.list())


def test_json_roundtrip(store: AssetStore) -> None:
    store.put_json("inbox/t1/complete.json", {"task_id": "t1", "n": [1, 2]})
    assert store.read_json("inbox/t1/complete.json") == {"task_id": "t1", "n": [1, 2]}


@pytest.mark.parametrize(
    "key",
    [
        "",
        "   ",
        "../x",
        "a/../../x",
        "/etc/passwd",
        "s3://other/x",
        "file:///x",
        "a\\b",
        "~/x",
        "a/..",
        "..",
        "C:/x",
    ],
)
def test_unsafe_keys_rejected(store: AssetStore, key: str) -> None:
    with pytest.raises(UnsafeKeyError):
        store.put_bytes(key, b"x", "text/plain")
    with pytest.raises(UnsafeKeyError):
        store.exists(key)


def test_open_refuses_writes(store: AssetStore) -> None:
    with pytest.raises(ValueError, match="atomic"):
        store.open("a.txt", "wb")


def test_env_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANYINT_STORE", str(tmp_path / "from-env"))
    store = AssetStore()
    store.put_bytes("a.txt", b"hi", "text/plain")
    assert (tmp_path / "from-env" / "a.txt").read_bytes() == b"hi"
