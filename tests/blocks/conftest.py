"""Store fixtures: one abstract suite runs on memory://, a local folder and S3 (moto server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from blocks import AssetStore


class _OneRequestAtATime:
    """WSGI middleware that lets moto answer one request at a time.

    moto 5.2 checks ``If-None-Match: *`` and stores the object in two steps with no lock between
    them, so on a threaded moto server two racing conditional PUTs can both win (seen under CPU
    load); real S3 decides them atomically. Serialising requests makes the fake as atomic as the
    real service, so the racing tests test the store, not moto. moto holds the GIL anyway.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port (s3fs needs server mode, not mock_aws)."""
    app = _OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


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
