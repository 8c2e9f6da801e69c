"""Audio inputs that the gateway fetches itself: a local file, a store key or a public URL.

Suno's upload routes (contract §11.5) take an ``uploadUrl`` and the gateway downloads it, so the
user's own file must sit at a URL the gateway can reach. :func:`load_audio` reads and checks an
input before anything is paid for; :func:`publish_audio` then gives it that URL:

- a public ``http(s)`` URL is sent as it is (it was fetched once, to check it);
- a local file is copied into the asset store once, content-addressed
  (``inputs/<sha256>/<name>``), and published like a store key (``store:<key>``):

  1. a store served over ``http(s)``: the file's own URL;
  2. a store that signs URLs (S3): a presigned URL, valid for ``link_expiry_seconds``;
  3. a store with ``public_base_url`` (a folder a web server serves): that base + the key;
  4. the in-process emulator (``anyint-flows run --emulator``, tests): it serves the bytes as
     an asset of its own (registered with :func:`register_input_host`);
  5. otherwise a ``ValueError`` naming both fixes. A local path is never sent: no gateway can
     read the worker's disk.

A published URL is recorded once per intent (``inputs/<sha256>/links/<digest>.json``), so a
retry or resume of the flow run sends the very same ``uploadUrl``: the body, and with it the
step's identity in the submit journal, does not change, and nothing is paid twice. A link is
made afresh only once it has expired (presigned links last 7 days by default, as long as the
longest run deadline).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal
from urllib.parse import quote, urlsplit

from prefect import task
from prefect.cache_policies import NO_CACHE

from anyint import AnyIntClient, AnyIntError, download, sniff
from anyint.config import settings
from blocks import AssetStore
from blocks.store import UnsafeKeyError, check_key

from .run import RunConfig

__all__ = [
    "MAX_AUDIO_BYTES",
    "MAX_AUDIO_SECONDS",
    "STORE_PREFIX",
    "AudioInput",
    "InputHost",
    "PublishedInput",
    "audio_seconds",
    "check_audio",
    "checked_audio",
    "load_audio",
    "publish_audio",
    "publish_input",
    "register_input_host",
    "unregister_input_host",
]

#: Largest input read: an 8-minute 16-bit stereo 44.1 kHz WAV (the longest upload, §11.5) is
#: about 85 MB, so 100 MiB holds any upload the gateway accepts and no more.
MAX_AUDIO_BYTES = 100 * 1024 * 1024
#: Longest upload the routes accept: 8 minutes (§11.5; upload-cover on V4_5ALL takes 1 minute).
MAX_AUDIO_SECONDS = 480.0
#: How a parameter names a file already in the asset store.
STORE_PREFIX = "store:"
#: A recorded link with less life left than this is made afresh (the gateway fetches the
#: upload soon after the create, but not instantly).
_MIN_LINK_LIFE = 600.0
_AUDIO_TYPES = {"audio/wav": "WAV", "audio/mpeg": "MP3"}

#: Serves ``(data, content_type, name)`` at a URL the gateway reaches; returns the URL and its
#: lifetime in seconds (None: it does not expire).
InputHost = Callable[[bytes, str, str], tuple[str, float | None]]
_HOSTS: dict[str, InputHost] = {}
Source = Literal["file", "store", "url", "bytes"]


def register_input_host(base_url: str, host: InputHost) -> None:
    """Let the gateway at ``base_url`` serve inputs itself (the in-process emulator only).

    Like :func:`tasks.register_transport`, this only says how this process reaches that
    gateway; a real gateway never has a host registered.
    """
    _HOSTS[base_url.rstrip("/")] = host


def unregister_input_host(base_url: str) -> None:
    """Undo :func:`register_input_host`."""
    _HOSTS.pop(base_url.rstrip("/"), None)


@dataclass(frozen=True)
class AudioInput:
    """A checked audio input.

    Attributes:
        source: ``file`` (local path), ``store`` (store key), ``url`` (public URL) or ``bytes``
            (made by the flow itself).
        name: File name (last path segment).
        data: The audio's bytes.
        media_type: ``audio/wav`` or ``audio/mpeg``.
        seconds: Duration.
        key: Store key, for a ``store`` input.
        url: The URL, for a ``url`` input.
    """

    source: Source
    name: str
    data: bytes
    media_type: str
    seconds: float
    key: str | None = None
    url: str | None = None

    @property
    def sha256(self) -> str:
        """Hex digest of the bytes."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class PublishedInput:
    """Where the gateway fetches an input.

    Attributes:
        url: The ``uploadUrl`` to send.
        via: ``url`` (given), ``store`` (http store), ``presigned``, ``public_base_url`` or
            ``emulator``.
        key: Store key of the file (None for a given URL).
        expires_at: Unix time the link stops working, or None.
    """

    url: str
    via: str
    key: str | None = None
    expires_at: float | None = None


def audio_seconds(data: bytes) -> float | None:
    """Duration of the first audio stream of ``data``, or None when FFmpeg finds none."""
    # Imported here: PyAV (and the numpy it loads) costs a third of a second, which every flow
    # run process would pay at start-up, and only an audio input needs it.
    import av

    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.audio:
                return None
            if container.duration is not None:
                return float(container.duration / av.time_base)
            stream = container.streams.audio[0]
            if stream.duration is None or stream.time_base is None:
                return None
            return float(stream.duration * stream.time_base)
    except (av.FFmpegError, ValueError, OSError):
        return None


def check_audio(
    data: bytes,
    *,
    name: str,
    source: Source,
    field: str = "audio",
    max_seconds: float = MAX_AUDIO_SECONDS,
    key: str | None = None,
    url: str | None = None,
) -> AudioInput:
    """``data`` as an :class:`AudioInput`, when it is a WAV or MP3 within the caps.

    Args:
        data: The file's bytes.
        name: File name, for the messages.
        source: Where it came from.
        field: Flow parameter name, for the messages.
        max_seconds: Longest audio accepted.
        key: Store key, for a ``store`` input.
        url: The URL, for a ``url`` input.

    Raises:
        ValueError: Naming ``field``: too large, not WAV/MP3, undecodable or too long.
    """
    if len(data) > MAX_AUDIO_BYTES:
        raise ValueError(
            f"parameter {field!r}: {name!r} is {len(data)} bytes; inputs may be at most "
            f"{MAX_AUDIO_BYTES} bytes (8 minutes of WAV)"
        )
    media_type = sniff(data[:16])
    seconds = audio_seconds(data) if media_type in _AUDIO_TYPES else None
    if media_type not in _AUDIO_TYPES or seconds is None or seconds <= 0:
        found = f" (it looks like {media_type})" if media_type else ""
        raise ValueError(f"parameter {field!r}: {name!r} is not a WAV or MP3 audio file{found}")
    if seconds > max_seconds:
        raise ValueError(
            f"parameter {field!r}: {name!r} is {seconds:.1f} s long; this operation and model "
            f"accept at most {max_seconds:.0f} s (§11.5): trim it"
        )
    return AudioInput(source, name, data, media_type, seconds, key=key, url=url)


def _read_capped(handle: IO[bytes], field: str, name: str) -> bytes:
    data = handle.read(MAX_AUDIO_BYTES + 1)
    if len(data) > MAX_AUDIO_BYTES:
        raise ValueError(
            f"parameter {field!r}: {name!r} is over {MAX_AUDIO_BYTES} bytes; inputs may be at "
            "most that (8 minutes of WAV)"
        )
    return data


def _local_file(ref: str, field: str) -> tuple[Path, str]:
    root = Path(settings().input_dir or Path.cwd()).resolve()
    path = (root / ref).resolve()
    if not path.is_relative_to(root):
        raise ValueError(
            f"parameter {field!r}: {ref!r} is outside the allowed folder {root} (set "
            "ANYINT_INPUT_DIR to allow another)"
        )
    if not path.is_file():
        raise ValueError(
            f"parameter {field!r}: no such file {ref!r} in {root} (a file already in the asset "
            f"store is written {STORE_PREFIX}<key>)"
        )
    return path, path.name


async def load_audio(
    ref: str,
    *,
    store: AssetStore,
    client: AnyIntClient,
    field: str = "audio",
    max_seconds: float = MAX_AUDIO_SECONDS,
) -> AudioInput:
    """Read and check one audio reference, before any paid call.

    Args:
        ref: ``https://...`` (fetched once through ``client``'s pool), ``store:<key>`` or a
            local path inside ``ANYINT_INPUT_DIR`` (default: the working directory).
        store: The run's asset store (for ``store:`` keys).
        client: The gateway client (for URLs).
        field: Flow parameter name, for the messages.
        max_seconds: Longest audio accepted.

    Raises:
        ValueError: Naming ``field``: missing, outside the folder, unreachable, too large,
            not audio or too long.
    """
    parts = urlsplit(ref)
    if parts.scheme in ("http", "https"):
        data = await _fetch(client, ref, field)
        name = posixpath.basename(parts.path) or "upload"
        return check_audio(
            data, name=name, source="url", field=field, max_seconds=max_seconds, url=ref
        )
    if ref.startswith(STORE_PREFIX):
        try:
            key = check_key(ref.removeprefix(STORE_PREFIX))
        except UnsafeKeyError as exc:
            raise ValueError(f"parameter {field!r}: {exc}") from None
        if not store.exists(key):
            raise ValueError(f"parameter {field!r}: no file {key!r} in the store {store.root_url}")
        with store.open(key) as handle:
            data = _read_capped(handle, field, key)
        return check_audio(
            data,
            name=posixpath.basename(key),
            source="store",
            field=field,
            max_seconds=max_seconds,
            key=key,
        )
    if parts.scheme and len(parts.scheme) > 1:  # one letter: a Windows drive, i.e. a path
        raise ValueError(
            f"parameter {field!r}: {parts.scheme}: is not supported; give an https URL, "
            f"{STORE_PREFIX}<key> or a local path"
        )
    path, name = _local_file(ref, field)
    with path.open("rb") as handle:
        data = _read_capped(handle, field, ref)
    return check_audio(data, name=name, source="file", field=field, max_seconds=max_seconds)


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        return len(data)


async def _fetch(client: AnyIntClient, url: str, field: str) -> bytes:
    host = urlsplit(url).hostname or ""
    if host == "invalid" or host.endswith(".invalid"):
        raise ValueError(f"parameter {field!r}: {url!r} cannot be reached (.invalid never exists)")
    sink = _Buffer()
    try:
        await download(client, url, sink, kind="audio", max_bytes=MAX_AUDIO_BYTES)
    except AnyIntError as exc:
        # The error names the URL without its query string (it may be presigned).
        raise ValueError(f"parameter {field!r}: could not fetch the audio URL: {exc}") from None
    return b"".join(sink.parts)


def _store_link(store: AssetStore, key: str) -> PublishedInput | None:
    """The store's own URL for ``key`` a gateway can fetch, or None when it has none."""
    link = store.browser_url(key)  # http(s) store or presigned; never inline (limit 0)
    if link is not None:
        expires = link.expires_at.timestamp() if link.expires_at else None
        return PublishedInput(link.url, "presigned" if expires else "store", key, expires)
    if store.public_base_url:
        url = f"{store.public_base_url.rstrip('/')}/{quote(check_key(key))}"
        return PublishedInput(url, "public_base_url", key)
    return None


def _make_link(store: AssetStore, audio: AudioInput, key: str, base_url: str) -> PublishedInput:
    if (published := _store_link(store, key)) is not None:
        return published
    host = _HOSTS.get(base_url.rstrip("/"))
    if host is not None:
        url, ttl = host(audio.data, audio.media_type, _safe_name(audio.name))
        return PublishedInput(url, "emulator", key, None if ttl is None else time.time() + ttl)
    raise ValueError(
        f"parameter 'audio': the gateway must download the input, and the store {store.root_url} "
        "cannot give it a URL: use an S3 store (its links are presigned), or serve the store's "
        "folder over https and set public_base_url on the AssetStore block "
        "(store_block); or pass a public https URL as audio"
    )


def publish_audio(
    store: AssetStore, audio: AudioInput, *, base_url: str, intent: str
) -> PublishedInput:
    """The ``uploadUrl`` for ``audio``, the same one for every execution of one intent.

    Args:
        store: The run's asset store (a local file is copied into it first, once).
        audio: A checked input (:func:`load_audio`).
        base_url: The gateway's base URL (an in-process emulator may host the input).
        intent: The run's intent; the link is recorded per intent.

    Raises:
        ValueError: Naming ``audio`` and both fixes, when no URL can be made.
    """
    if audio.url is not None:
        return PublishedInput(audio.url, "url")
    key = audio.key
    if key is None:
        key = f"inputs/{audio.sha256[:32]}/{_safe_name(audio.name)}"
        if not store.exists(key):
            store.put_bytes(key, audio.data, audio.media_type)
    who = hashlib.sha256(f"{base_url.rstrip('/')}\n{intent}\n{key}".encode()).hexdigest()[:32]
    record = f"inputs/{audio.sha256[:32]}/links/{who}.json"
    if store.exists(record):
        known = PublishedInput(**store.read_json(record))
        if known.expires_at is None or known.expires_at > time.time() + _MIN_LINK_LIFE:
            return known
    published = _make_link(store, audio, key, base_url)
    store.put_json(record, published.__dict__)
    return published


def _safe_name(name: str) -> str:
    """A file name fit for a store key and a URL path (letters, digits, ``.-_`` only)."""
    cleaned = "".join(c if c.isalnum() or c in ".-_" else "_" for c in name).strip("._")
    return cleaned[:80] or "upload"


# The two steps as Prefect tasks. No cache: the bytes would be hashed for a key, and the store
# record, not a cache, is what makes a retry send the same URL.


@task(name="check-audio", task_run_name="check audio input", cache_policy=NO_CACHE)
async def checked_audio(
    run: RunConfig, ref: str, *, field: str = "audio", max_seconds: float = MAX_AUDIO_SECONDS
) -> AudioInput:
    """:func:`load_audio` with the run's store and gateway client (nothing is paid for).

    Raises:
        ValueError: Naming ``field`` (see :func:`load_audio`).
    """
    connection = await run.gateway.connect()
    async with connection.client() as client:
        return await load_audio(
            ref, store=connection.store, client=client, field=field, max_seconds=max_seconds
        )


@task(name="publish-input", task_run_name="publish audio input", cache_policy=NO_CACHE)
async def publish_input(run: RunConfig, audio: AudioInput) -> PublishedInput:
    """:func:`publish_audio` with the run's store, gateway and intent.

    Raises:
        ValueError: No URL can be made (the message names both fixes).
    """
    store = (await run.gateway.connect()).store
    return await asyncio.to_thread(
        publish_audio, store, audio, base_url=run.gateway.base_url, intent=run.intent
    )
