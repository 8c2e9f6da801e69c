"""The abstract store suite, run on memory://, a local folder and S3 through s3fs + moto."""

from __future__ import annotations

import hashlib
import os
import posixpath
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from subprocess import PIPE

import boto3
import botocore.exceptions
import pytest

from blocks import AssetStore, StoreDocumentError, UnsafeKeyError
from blocks.store import PARTIAL_MARK

from ._race import race_in_processes


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


# -- exclusive create --------------------------------------------------------------------------

#: Racing threads per backend (a barrier lines them up, so their creates overlap).
THREADS = 16
#: Racing processes (each imports Prefect: kept small on 2 cores).
PROCESSES = 4
#: Keys they race on, one after the other: each round is another chance to collide (a
#: check-then-write create was caught in every run with 20 rounds, in some with 1).
ROUNDS = 20


def test_create_json_creates_once(store: AssetStore) -> None:
    assert store.create_json("intents/a.json", {"first": True}) is True
    assert store.create_json("intents/a.json", {"first": False}) is False
    assert store.read_json("intents/a.json") == {"first": True}
    store.put_json("intents/b.json", {"put": 1})
    assert store.create_json("intents/b.json", {"put": 2}) is False
    assert store.read_json("intents/b.json") == {"put": 1}
    assert store.list("intents") == ["intents/a.json", "intents/b.json"]  # no temporary files
    fs, root = store._fs()
    assert not fs.glob(f"{root}/intents/*{PARTIAL_MARK}*")


@pytest.mark.parametrize(
    "backend",
    ["memory", "file", pytest.param("s3", marks=pytest.mark.slow)],  # s3: ~11 s
)
def test_create_json_racing_threads_one_winner(
    backend: str, request: pytest.FixtureRequest
) -> None:
    store: AssetStore = request.getfixturevalue(f"{backend}_store")
    keys = [f"claims/{i}.json" for i in range(ROUNDS)]
    start = threading.Barrier(THREADS)  # cyclic: every round starts together
    won: dict[str, list[int]] = {key: [] for key in keys}

    def create(writer: int) -> None:
        for key in keys:
            start.wait(60)
            if store.create_json(key, {"writer": writer}):
                won[key].append(writer)  # list.append is atomic

    threads = [threading.Thread(target=create, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {k: len(w) for k, w in won.items()} == dict.fromkeys(keys, 1), won
    for key, (winner,) in won.items():
        assert store.read_json(key) == {"writer": winner}


@pytest.mark.process
@pytest.mark.parametrize("backend", ["file", "s3"])
def test_create_json_racing_processes_one_winner(
    backend: str, request: pytest.FixtureRequest
) -> None:
    store: AssetStore = request.getfixturevalue(f"{backend}_store")
    keys = [f"claims/{i}.json" for i in range(ROUNDS)]
    winners = race_in_processes("create_json", store.root_url, keys, PROCESSES)
    assert {k: len(w) for k, w in winners.items()} == dict.fromkeys(keys, 1), winners
    for key, (winner,) in winners.items():
        assert store.read_json(key) == {"writer": winner}


def test_s3_create_is_decided_by_s3_if_none_match(s3_store: AssetStore, moto_endpoint: str) -> None:
    """The refusal comes from S3 (the conditional PUT), not from a look in this process.

    Another client writes the key, and this process is made to believe it is absent (every
    existence check of its filesystem says no, as a stale view would): only the server's
    ``If-None-Match: *`` can then refuse the create. moto honours that header (412
    PreconditionFailed, as S3 does), shown directly by the last assertion. (moto checks the
    condition and stores without a lock between the two; the test server serialises requests,
    see ``tests/blocks/conftest.py``, as S3 itself is atomic.)
    """
    fs, _ = s3_store._fs()
    other = boto3.client("s3", endpoint_url=moto_endpoint)
    other.put_object(Bucket="media", Key="prefix/claims/one.json", Body=b'{"writer": "other"}')

    async def absent(*args: object, **kwargs: object) -> bool:
        return False

    def info(*args: object, **kwargs: object) -> dict[str, object]:
        raise FileNotFoundError(args[0] if args else "")

    with pytest.MonkeyPatch.context() as blind:
        for name in ("exists", "isfile"):
            blind.setattr(fs, name, lambda *a, **k: False)
        for name in ("_exists", "_isfile"):
            blind.setattr(fs, name, absent)
        blind.setattr(fs, "info", info)
        assert not fs.exists("media/prefix/claims/one.json")
        assert s3_store.create_json("claims/one.json", {"writer": "me"}) is False
    assert s3_store.read_json("claims/one.json") == {"writer": "other"}
    with pytest.raises(botocore.exceptions.ClientError, match="PreconditionFailed"):
        other.put_object(Bucket="media", Key="prefix/claims/one.json", Body=b"{}", IfNoneMatch="*")


# -- sha256, partial files, broken documents ----------------------------------------------------


def test_sha256_matches_the_content(store: AssetStore) -> None:
    data = os.urandom(3 * 2**20 + 12345)  # several read chunks, the last one short
    store.put_bytes("media/big.bin", data, "application/octet-stream")
    assert store.sha256("media/big.bin") == hashlib.sha256(data).hexdigest()
    store.put_bytes("media/empty.bin", b"", "application/octet-stream")
    assert store.sha256("media/empty.bin") == hashlib.sha256(b"").hexdigest()


@pytest.fixture
def dead_pid() -> int:
    """A pid no process has (the highest free one: nothing is started to find it)."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    for pid in range(pid_max - 1, 1, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise AssertionError("no free pid")


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of another live process: a child that lives until the test ends (the parent
    of the test run may be gone, e.g. under nohup, where it is pid 1)."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=PIPE)
    try:
        yield child.pid
    finally:
        child.communicate(b"")  # closes stdin: the child ends, and is reaped


def _partial(store: AssetStore, key: str, host: str, pid: int) -> str:
    """Leave a temporary file of ``key`` as a writer ``pid`` on ``host`` would; its path."""
    fs, root = store._fs()
    path = f"{root}/{key}{PARTIAL_MARK}{host}.{pid}.{uuid.uuid4().hex}"
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    fs.pipe_file(path, b"half a document")
    return path


def test_next_write_sweeps_a_dead_writers_partial_and_keeps_a_live_ones(
    store: AssetStore, dead_pid: int, live_pid: int
) -> None:
    host = socket.gethostname()
    dead = _partial(store, "runs/r1/manifest.json", host, dead_pid)
    live = _partial(store, "runs/r1/manifest.json", host, live_pid)
    other_key = _partial(store, "runs/r1/other.json", host, dead_pid)
    fs, _ = store._fs()
    store.put_json("runs/r1/manifest.json", {"v": 1})
    fs.invalidate_cache()
    assert not fs.exists(dead)
    assert fs.exists(live)
    assert fs.exists(other_key)  # only the key written is swept
    assert store.read_json("runs/r1/manifest.json") == {"v": 1}
    assert store.list("runs") == ["runs/r1/manifest.json"]  # partials are never listed


def test_a_foreign_hosts_partial_is_swept_only_once_it_is_old(file_store: AssetStore) -> None:
    fresh = _partial(file_store, "a.json", "some-other-host", 4242)
    old = _partial(file_store, "a.json", "some-other-host", 4243)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    file_store.put_json("a.json", {})
    assert os.path.exists(fresh) and not os.path.exists(old)


def test_read_json_of_a_broken_document_names_it_and_leaves_it(store: AssetStore) -> None:
    broken = b'{"state": "created", "task_id": '
    store.put_bytes("submits/abc/000000.json", broken, "application/json")
    with pytest.raises(StoreDocumentError) as info:
        store.read_json("submits/abc/000000.json")
    assert store.url("submits/abc/000000.json") in str(info.value)
    assert isinstance(info.value, ValueError)  # callers that catch ValueError still do
    with store.open("submits/abc/000000.json") as handle:
        assert handle.read() == broken
