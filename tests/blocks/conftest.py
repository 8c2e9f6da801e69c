"""Store fixtures: one abstract suite runs on memory://, a local folder and S3 (moto server)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from blocks import AssetStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port (s3fs needs server mode, not mock_aws)."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_store(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AssetStore:
    """An AssetStore on a fresh bucket of the moto server, configured through the AWS env."""
    import requests
    import s3fs

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket="media")
    s3fs.S3FileSystem.clear_instance_cache()
    return AssetStore(base_url="s3://media/prefix")


@pytest.fixture
def memory_store() -> Iterator[AssetStore]:
    """An AssetStore on fsspec's in-memory filesystem, emptied afterwards."""
    yield AssetStore(base_url="memory://store")
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs[:] = [""]


@pytest.fixture
def file_store(tmp_path: Path) -> AssetStore:
    """An AssetStore on a local folder."""
    return AssetStore(base_url=str(tmp_path / "out"))


@pytest.fixture(params=["memory", "file", "s3"])
def store(request: pytest.FixtureRequest) -> AssetStore:
    """Each backend in turn."""
    return request.getfixturevalue(f"{request.param}_store")  # type: ignore[no-any-return]
