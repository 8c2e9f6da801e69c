"""``AssetStore``: where generated media lives (any fsspec URL: local, ``memory://``, ``s3://``).

Writes are atomic: bytes go to a temporary key that is renamed onto the final key only once
complete, so a crash never leaves a partial file under a final name. Keys are relative paths
inside the store; anything that could escape it is refused.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import posixpath
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import fsspec
from fsspec import AbstractFileSystem
from prefect.blocks.core import Block
from prefect.blocks.fields import SecretDict
from pydantic import BaseModel, Field

from anyint import (
    DEFAULT_DOWNLOAD_BASE_SECONDS,
    DEFAULT_DOWNLOAD_MIN_BYTES_PER_SECOND,
    DEFAULT_MAX_DOWNLOAD_BYTES,
    AnyIntClient,
    MediaKind,
    download,
    download_budget,
)
from anyint.config import settings
from anyint.secrets import credential_values, remember

from ._pipe import PipeWriter

__all__ = ["AssetStore", "BrowserLink", "StoreDocumentError", "StoredAsset", "UnsafeKeyError"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
PARTIAL_MARK = ".partial-"
#: Another host's partial file older than this is taken as left by a dead writer.
_FOREIGN_PARTIAL_TTL = 3600.0
#: A memory store lives in one process, so a process lock makes its exclusive create atomic.
_MEMORY_LOCK = threading.Lock()
#: SigV4, which S3 presigned URLs use, refuses an expiry longer than seven days. (A URL signed
#: with temporary credentials also stops working when those expire, whichever comes first.)
_MAX_LINK_EXPIRY = 7 * 24 * 3600


class UnsafeKeyError(ValueError):
    """A store key that is empty, absolute, carries a scheme or climbs out with ``..``."""


class StoreDocumentError(ValueError):
    """A JSON document in the store (journal entry, manifest part) that cannot be parsed."""


@dataclass(frozen=True)
class BrowserLink:
    """A URL a web browser can load for a stored file (see :meth:`AssetStore.browser_url`).

    Attributes:
        url: An ``http(s):`` or ``data:`` URL.
        expires_at: When a presigned URL stops working; None for one that does not expire.
    """

    url: str
    expires_at: datetime | None = None


class StoredAsset(BaseModel):
    """A file safely in the store.

    Attributes:
        key: Path inside the store.
        uri: Full fsspec URL of the file.
        bytes: Size.
        sha256: Hex digest of the content.
        content_type: Media type.
    """

    key: str
    uri: str
    bytes: int
    sha256: str
    content_type: str


def _partial_suffix() -> str:
    """``.partial-<host>.<pid>.<random>``: who writes it, so a later writer can tell a dead one."""
    return f"{PARTIAL_MARK}{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex}"


def _writer_dead(name: str, now: float, modified: float) -> bool:
    host, _, rest = name.rpartition(PARTIAL_MARK)[2].rpartition(".")[0].rpartition(".")
    pid = int(rest) if rest.isdigit() else 0
    if host == socket.gethostname() and pid:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return now - modified > _FOREIGN_PARTIAL_TTL


def _sweep_partials(fs: AbstractFileSystem, final: str) -> None:
    """Remove temporary files that a killed writer of ``final`` left behind.

    A process killed mid-write cannot clean up; the next write of the same key (a resume) does.
    A partial file of a live writer (another run sharing the key) is left alone: on this host
    its pid is asked, from another host it must be older than an hour.
    """
    fs.invalidate_cache(posixpath.dirname(final))
    now = time.time()
    for stale in fs.glob(f"{final}{PARTIAL_MARK}*"):
        try:
            modified = fs.modified(stale).timestamp()
        except (NotImplementedError, FileNotFoundError):
            modified = now
        if _writer_dead(stale, now, modified):
            with contextlib.suppress(FileNotFoundError):
                fs.rm(stale)


def _protocols(fs: AbstractFileSystem) -> set[str]:
    """The names a filesystem answers to (fsspec gives one string or a tuple)."""
    return {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)


def check_key(key: str) -> str:
    """Validate a store key and return it normalised (forward slashes, no leading ``./``).

    Raises:
        UnsafeKeyError: Empty, absolute, scheme-qualified, or containing ``..``/empty segments.
    """
    if not isinstance(key, str) or not key.strip():
        raise UnsafeKeyError("store key must be a non-empty relative path")
    if "\\" in key or "\x00" in key:
        raise UnsafeKeyError(f"store key {key!r} must use '/' separators and no NUL bytes")
    if _SCHEME.match(key) or key.startswith("/") or key.startswith("~"):
        raise UnsafeKeyError(f"store key {key!r} must be relative to the store, without a scheme")
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise UnsafeKeyError(f"store key {key!r} must not contain '..'")
    return "/".join(parts)


class AssetStore(Block):
    """Storage for generated assets, manifests and the callback inbox.

    ``base_url`` is any fsspec URL: a local folder (``./output``, ``file:///data/media``),
    ``memory://bucket`` for tests, or ``s3://bucket/prefix`` through s3fs (standard AWS
    environment and ``AWS_ENDPOINT_URL`` apply; ``storage_options`` are passed to fsspec).

    Example:
        ```python
        from blocks import AssetStore

        store = AssetStore.load("BLOCK_NAME")
        print(store.url("runs/abc/manifest.json"))
        ```
    """

    _block_type_name = "AnyInt Asset Store"
    _block_type_slug = "anyint-asset-store"
    _description = "fsspec location (local, memory, S3) where AnyInt assets are stored."
    _documentation_url = "https://filesystem-spec.readthedocs.io/"  # type: ignore[assignment]

    base_url: str | None = Field(
        default=None,
        description="fsspec URL of the store root; when empty, ANYINT_STORE or ./output.",
    )
    storage_options: SecretDict = Field(
        default_factory=lambda: SecretDict({}),
        description="Extra fsspec options (e.g. S3 client_kwargs); values are kept secret.",
    )
    link_expiry_seconds: int = Field(
        default=_MAX_LINK_EXPIRY,
        ge=60,
        le=_MAX_LINK_EXPIRY,
        description=(
            "How long the presigned links in artifacts stay valid (S3 and other signing "
            "stores), in seconds; at most 7 days, the longest S3 allows."
        ),
    )
    public_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+[^\s?#]*$",
        description=(
            "http(s) URL where a web server serves this store's root (for a local folder), "
            "e.g. https://media.example.com/anyint; the gateway fetches input files (music-remix "
            "audio) at <public_base_url>/<key>. Not needed on S3, whose links are presigned."
        ),
    )
    download_base_seconds: float = Field(
        default=DEFAULT_DOWNLOAD_BASE_SECONDS,
        gt=0,
        description=(
            "Fixed part of every download's total time budget, in seconds (connect, redirects, "
            "first byte). Budget = download_base_seconds + size cap / "
            "download_min_bytes_per_second."
        ),
    )
    download_min_bytes_per_second: float = Field(
        default=DEFAULT_DOWNLOAD_MIN_BYTES_PER_SECOND,
        gt=0,
        description=(
            "Slowest average rate, in bytes per second, a download at its full size cap may "
            "have (default 512 KiB/s: the 2 GiB cap gets about 69 minutes). A slower download "
            "fails, naming its URL, instead of holding the run."
        ),
    )

    # -- filesystem ---------------------------------------------------------------------------

    def _fs(self) -> tuple[AbstractFileSystem, str]:
        url = self.base_url or settings().store or "./output"
        options = self.storage_options.get_secret_value() if self.storage_options else {}
        remember(*credential_values(options))
        fs, root = fsspec.core.url_to_fs(url, **options)
        return fs, root.rstrip("/")

    @property
    def root_url(self) -> str:
        """The resolved store root as a full URL."""
        fs, root = self._fs()
        return str(fs.unstrip_protocol(root))

    def _fresh(self, key: str) -> tuple[AbstractFileSystem, str]:
        """The filesystem and path of ``key``, with fsspec's cached listing of it dropped.

        s3fs caches directory listings per filesystem instance; another process (the callback
        receiver) writing a key would otherwise stay invisible to a long-lived reader.
        """
        fs, root = self._fs()
        path = f"{root}/{check_key(key)}"
        fs.invalidate_cache(path)
        return fs, path

    def path(self, key: str) -> str:
        """The filesystem path of ``key`` (validated)."""
        return f"{self._fs()[1]}/{check_key(key)}"

    def url(self, key: str) -> str:
        """The full URL of ``key``, e.g. ``s3://bucket/prefix/runs/1/song.mp3``."""
        fs, root = self._fs()
        return str(fs.unstrip_protocol(f"{root}/{check_key(key)}"))

    def browser_url(
        self, key: str, *, inline_limit: int = 0, content_type: str = "application/octet-stream"
    ) -> BrowserLink | None:
        """A URL a web browser (the Prefect UI) can load for ``key``, or None when there is none.

        - a store served over ``http(s)``: the file's own URL;
        - a store that signs URLs (S3, through fsspec's ``sign``): a presigned URL valid for
          ``link_expiry_seconds``;
        - any other store (local folder, memory): the content as a ``data:`` URL when it is at
          most ``inline_limit`` bytes, else None. Never a ``file://`` URL: a web page cannot
          load local files, so it would show as a broken image.

        Args:
            key: Store key of the file.
            inline_limit: Largest file, in bytes, to inline; 0 inlines nothing.
            content_type: Media type written into a ``data:`` URL.
        """
        fs, root = self._fs()
        path = f"{root}/{check_key(key)}"
        if _protocols(fs) & {"http", "https"}:
            return BrowserLink(self.url(key))
        expires = self.link_expiry_seconds
        try:
            signed = str(fs.sign(path, expiration=expires))
        except NotImplementedError:  # fsspec's default: this store cannot sign
            signed = ""
        if signed.startswith(("https://", "http://")):
            return BrowserLink(signed, datetime.now(UTC) + timedelta(seconds=expires))
        if inline_limit <= 0 or int(fs.size(path)) > inline_limit:
            return None
        with fs.open(path, "rb") as handle:
            data = base64.b64encode(handle.read()).decode()
        return BrowserLink(f"data:{content_type};base64,{data}")

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a complete file (asked afresh: see :meth:`_fresh`)."""
        fs, path = self._fresh(key)
        return bool(fs.exists(path))

    def open(self, key: str, mode: str = "rb") -> IO[Any]:
        """Open ``key`` for reading (writes go through :meth:`writer`)."""
        if any(c in mode for c in "wax+"):
            raise ValueError(
                "open() is for reading; write with writer(), put_bytes() or "
                "put_stream() so the write is atomic"
            )
        fs, root = self._fs()
        return fs.open(f"{root}/{check_key(key)}", mode)  # type: ignore[no-any-return]

    def remove(self, key: str) -> None:
        """Delete ``key`` if it exists."""
        fs, root = self._fs()
        path = f"{root}/{check_key(key)}"
        if fs.exists(path):
            fs.rm(path)

    def list(self, prefix: str = "") -> list[str]:
        """Keys of complete files under ``prefix`` (sorted, asked afresh)."""
        fs, root = self._fs()
        base = f"{root}/{check_key(prefix)}" if prefix else root
        fs.invalidate_cache(base)
        if not fs.exists(base):
            return []
        keys = [posixpath.relpath(p, root) for p in fs.find(base)]
        return sorted(k for k in keys if PARTIAL_MARK not in k)

    # -- atomic writes ------------------------------------------------------------------------

    @contextmanager
    def writer(self, key: str) -> Iterator[IO[bytes]]:
        """Write ``key`` atomically: to a temporary key first, renamed on success.

        On any error the temporary file is removed and the final key is left untouched.
        """
        fs, root = self._fs()
        final = f"{root}/{check_key(key)}"
        tmp = f"{final}{_partial_suffix()}"
        fs.makedirs(posixpath.dirname(final), exist_ok=True)
        _sweep_partials(fs, final)
        # 8 MiB parts: s3fs buffers one part in memory (its 50 MiB default costs RSS for nothing).
        handle = fs.open(tmp, "wb", block_size=8 * 2**20)
        try:
            yield handle
            handle.close()
            fs.mv(tmp, final)
        except BaseException:
            handle.close()
            if fs.exists(tmp):
                fs.rm(tmp)
            raise

    def create_json(self, key: str, value: Any) -> bool:
        """Write ``key`` only if no file holds it yet, as one atomic check-and-write.

        Concurrent callers (threads, processes, machines sharing the store) race on the store's
        own primitive, so exactly one of them sees True:

        - local folder: the document is written to a temporary file first and then hard-linked
          onto the final name; ``link`` fails when the name exists, and readers never see a
          half-written document;
        - S3: a conditional PUT (``If-None-Match: *``), decided by S3 itself;
        - memory: a process lock (a memory store exists in one process only);
        - any other fsspec store: fsspec's ``mode="create"``, as atomic as that backend makes it.

        Returns:
            True when this call created ``key``, False when it existed already.
        """
        data = json.dumps(value, indent=2, sort_keys=True, default=str).encode()
        fs, path = self._fresh(key)
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        _sweep_partials(fs, path)
        protocols = _protocols(fs)
        try:
            if "file" in protocols or "local" in protocols:
                return self._link_new(path, data)
            if "memory" in protocols:
                with _MEMORY_LOCK:
                    if fs.exists(path):
                        return False
                    fs.pipe_file(path, data)
                return True
            fs.pipe_file(path, data, mode="create")
        except FileExistsError:
            return False
        return True

    @staticmethod
    def _link_new(path: str, data: bytes) -> bool:
        tmp = f"{path}{_partial_suffix()}"
        with open(tmp, "wb") as handle:
            handle.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
        return True

    def sha256(self, key: str) -> str:
        """The sha256 of the file at ``key``, read in chunks (constant memory)."""
        digest = hashlib.sha256()
        with self.open(key) as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredAsset:
        """Store small content (JSON, text) atomically."""
        with self.writer(key) as handle:
            handle.write(data)
        return self._stored(key, len(data), hashlib.sha256(data).hexdigest(), content_type)

    def put_json(self, key: str, value: Any) -> StoredAsset:
        """Store a JSON document atomically."""
        data = json.dumps(value, indent=2, sort_keys=True, default=str).encode()
        return self.put_bytes(key, data, "application/json")

    def read_json(self, key: str) -> Any:
        """Read a JSON document.

        Raises:
            StoreDocumentError: The file is not valid JSON (named by its key; never overwritten).
        """
        with self.open(key) as handle:
            data = handle.read()
        try:
            return json.loads(data)
        except ValueError as exc:
            raise StoreDocumentError(
                f"store document {self.url(key)} is not valid JSON ({exc}); it was left as it "
                "is: repair or remove it"
            ) from None

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str
    ) -> StoredAsset:
        """Store a stream of chunks atomically, in constant memory."""
        digest, size = hashlib.sha256(), 0
        with self.writer(key) as handle:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        return self._stored(key, size, digest.hexdigest(), content_type)

    async def download(
        self,
        client: AnyIntClient,
        url: str,
        key: str,
        *,
        kind: MediaKind = "any",
        max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        budget_seconds: float | None = None,
    ) -> StoredAsset:
        """Stream ``url`` into ``key`` (atomic, size-capped, type-checked, checksummed, within
        one total time budget).

        Args:
            client: The gateway client (its pool; the key goes to the gateway's origin only).
            url: The asset URL.
            key: Store key to write.
            kind: Expected media kind.
            max_bytes: Size cap.
            budget_seconds: Total seconds allowed; None: :meth:`download_budget` of
                ``max_bytes`` (pass what is left of an earlier attempt's budget to share it).

        Raises:
            DownloadError: Refused, cut short, or over the budget (named URL, no query string).
        """
        budget = self.download_budget(max_bytes) if budget_seconds is None else budget_seconds
        with self.writer(key) as handle:
            # Hashing and writing on a worker thread, overlapping the next reads (_pipe.py).
            async with PipeWriter(handle) as sink:
                result = await download(
                    client, url, sink, kind=kind, max_bytes=max_bytes, budget_seconds=budget
                )
        return self._stored(key, result.bytes, result.sha256, result.content_type)

    def download_budget(self, max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES) -> float:
        """Total seconds a download into this store with size cap ``max_bytes`` may take:
        ``download_base_seconds + max_bytes / download_min_bytes_per_second``."""
        return download_budget(
            max_bytes,
            base_seconds=self.download_base_seconds,
            min_bytes_per_second=self.download_min_bytes_per_second,
        )

    def _stored(self, key: str, size: int, sha256: str, content_type: str) -> StoredAsset:
        return StoredAsset(
            key=check_key(key),
            uri=self.url(key),
            bytes=size,
            sha256=sha256,
            content_type=content_type,
        )
