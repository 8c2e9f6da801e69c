"""Audio inputs (tasks/inputs.py): checked before anything is paid, published at a URL the gateway
can fetch (presigned on S3, public base URL, the in-process emulator), the same URL every time
for one intent; and the emulator's side of it (loopback ``uploadUrl``)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest

from anyint import AnyIntClient
from blocks import AssetStore
from emulator.app import create_app
from emulator.errors import EmulatorError
from emulator.media import wav
from emulator.music.rules import uploaded_audio_seconds
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport
from tasks.inputs import (
    MAX_AUDIO_BYTES,
    MAX_AUDIO_SECONDS,
    AudioInput,
    check_audio,
    load_audio,
    publish_audio,
    register_input_host,
    unregister_input_host,
)
from tests._media import png_bytes
from tests.blocks.conftest import moto_endpoint, s3_store  # noqa: F401  (fixtures)

GATEWAY = "https://gateway.example.test"
INTENT = "run:one"


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    """A real mono WAV of a quiet tone, ``seconds`` long."""
    t = np.arange(int(seconds * rate)) / rate
    return wav((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)


def song(seconds: float = 2.0) -> AudioInput:
    return check_audio(wav_bytes(seconds), name="my song.wav", source="file")


@pytest.fixture
def client() -> AnyIntClient:
    return AnyIntClient(api_key="sk-test", base_url=IN_PROCESS_BASE_URL)


@pytest.fixture
def local_store(tmp_path: Path) -> AssetStore:
    return AssetStore(base_url=str(tmp_path / "store"))


# -- checks before any paid call ---------------------------------------------------------------


async def test_a_local_wav_is_read_and_measured(
    input_dir: Path, local_store: AssetStore, client: AnyIntClient
) -> None:
    (input_dir / "take.wav").write_bytes(wav_bytes(2.5))
    audio = await load_audio("take.wav", store=local_store, client=client)
    assert (audio.source, audio.name, audio.media_type) == ("file", "take.wav", "audio/wav")
    assert audio.seconds == pytest.approx(2.5, abs=0.01)


@pytest.mark.parametrize(
    ("ref", "pattern"),
    [
        ("../outside.wav", "'audio': .*outside the allowed folder"),
        ("missing.wav", "'audio': no such file 'missing.wav'.*store:<key>"),
        ("picture.wav", "'audio': 'picture.wav' is not a WAV or MP3 .*image/png"),
        ("garbage.mp3", "'audio': 'garbage.mp3' is not a WAV or MP3"),
        ("long.wav", rf"'audio': 'long.wav' is 481.0 s long; .* at most {MAX_AUDIO_SECONDS:.0f} s"),
        ("huge.wav", f"'audio': 'huge.wav' is over {MAX_AUDIO_BYTES} bytes"),
        ("store:../x.wav", "'audio': store key"),
        ("store:inputs/none.wav", "'audio': no file 'inputs/none.wav' in the store"),
        ("ftp://host/a.wav", "'audio': ftp: is not supported"),
        ("https://cdn.invalid/a.wav", "'audio': .*cannot be reached"),
    ],
)
async def test_bad_audio_is_refused_naming_the_parameter(
    input_dir: Path, local_store: AssetStore, client: AnyIntClient, ref: str, pattern: str
) -> None:
    (input_dir.parent / "outside.wav").write_bytes(wav_bytes(1.0))
    (input_dir / "picture.wav").write_bytes(png_bytes())
    (input_dir / "garbage.mp3").write_bytes(b"ID3" + bytes(500))  # sniffs as MP3, decodes as none
    (input_dir / "long.wav").write_bytes(wav_bytes(481.0, rate=1000))
    with (input_dir / "huge.wav").open("wb") as handle:
        handle.truncate(MAX_AUDIO_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(ValueError, match=pattern):
        await load_audio(ref, store=local_store, client=client)


async def test_a_store_key_and_a_gateway_url_are_read_too(
    local_store: AssetStore, client: AnyIntClient
) -> None:
    data = wav_bytes(1.5)
    local_store.put_bytes("runs/earlier/track.wav", data, "audio/wav")
    from_store = await load_audio("store:runs/earlier/track.wav", store=local_store, client=client)
    assert (from_store.source, from_store.key, from_store.data) == (
        "store",
        "runs/earlier/track.wav",
        data,
    )

    app = create_app()
    url = app.backend.serve(IN_PROCESS_BASE_URL, "k", "song.wav", "audio/wav", lambda: data)
    async with AnyIntClient(
        api_key="sk-test", base_url=IN_PROCESS_BASE_URL, transport=EmulatorTransport(app)
    ) as on_emulator:
        from_url = await load_audio(url, store=local_store, client=on_emulator)
    assert (from_url.source, from_url.url, from_url.sha256) == (
        "url",
        url,
        hashlib.sha256(data).hexdigest(),
    )


# -- publishing ----------------------------------------------------------------------------------


def test_a_local_store_without_a_public_url_says_how_to_fix_it(local_store: AssetStore) -> None:
    # No gateway can read the worker's disk: nothing is pretended, both fixes are named.
    with pytest.raises(ValueError, match=r"'audio'.*S3 store.*public_base_url") as caught:
        publish_audio(local_store, song(), base_url=GATEWAY, intent=INTENT)
    assert "cannot give it a URL" in str(caught.value)
    assert not [k for k in local_store.list() if "/links/" in k]  # no link was recorded


def test_public_base_url_publishes_the_stored_copy_once(local_store: AssetStore) -> None:
    store = local_store.model_copy(update={"public_base_url": "https://media.example.test/x/"})
    audio = song()
    first = publish_audio(store, audio, base_url=GATEWAY, intent=INTENT)
    assert first.via == "public_base_url" and first.key is not None
    assert first.url == f"https://media.example.test/x/{first.key}"
    assert first.key == f"inputs/{audio.sha256[:32]}/my_song.wav"
    with store.open(first.key) as handle:
        assert handle.read() == audio.data
    before = store.list()
    # Another run with the same file: same stored copy, nothing written twice but its link.
    second = publish_audio(store, audio, base_url=GATEWAY, intent="run:two")
    assert second.url == first.url
    assert len(store.list()) == len(before) + 1  # only the second run's link record
    # A store key is published where it is, not copied.
    store.put_bytes("runs/earlier/track.wav", audio.data, "audio/wav")
    kept = check_audio(audio.data, name="track.wav", source="store", key="runs/earlier/track.wav")
    published = publish_audio(store, kept, base_url=GATEWAY, intent=INTENT)
    assert published.url == "https://media.example.test/x/runs/earlier/track.wav"


def test_the_in_process_emulator_hosts_what_the_store_cannot(local_store: AssetStore) -> None:
    app = create_app()
    base = "http://emulator-inputs.anyint.local"
    served: list[str] = []

    def host(data: bytes, content_type: str, name: str) -> tuple[str, float | None]:
        served.append(name)  # a new asset each call: only the recorded link keeps it stable
        key = f"input-{len(served)}"
        return app.backend.serve(base, key, name, content_type, lambda: data), 3600.0

    register_input_host(base, host)
    try:
        first = publish_audio(local_store, song(), base_url=base, intent=INTENT)
        again = publish_audio(local_store, song(), base_url=base, intent=INTENT)
    finally:
        unregister_input_host(base)
    assert first.via == "emulator" and first.url.startswith(f"{base}/_assets/")
    assert again == first and served == ["my_song.wav"]  # recorded: one URL for the intent
    assert uploaded_audio_seconds(app.backend, first.url, max_seconds=480) == pytest.approx(2.0)
    # The host is for that gateway only: a real gateway still gets the honest refusal.
    with pytest.raises(ValueError, match="public_base_url"):
        publish_audio(local_store, song(), base_url=GATEWAY, intent=INTENT)


def test_s3_presigns_and_the_emulator_fetches_the_link(s3_store: AssetStore) -> None:  # noqa: F811
    app = create_app()
    audio = song(3.0)
    first = publish_audio(s3_store, audio, base_url=GATEWAY, intent=INTENT)
    assert first.via == "presigned" and "Signature=" in first.url
    assert first.expires_at is not None
    assert httpx.get(first.url, timeout=10).content == audio.data
    # A retry of the run sends the very same URL (a re-signed one would change the step's
    # identity and pay again); another intent gets its own link.
    assert publish_audio(s3_store, audio, base_url=GATEWAY, intent=INTENT) == first
    other = publish_audio(s3_store, audio, base_url=GATEWAY, intent="run:two")
    assert other.key == first.key
    # The emulator fetches loopback URLs: the presigned link works as the gateway's input.
    seconds = uploaded_audio_seconds(app.backend, first.url, max_seconds=480)
    assert seconds == pytest.approx(3.0, abs=0.01)


# -- the emulator's side -------------------------------------------------------------------------


@pytest.fixture
def served_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A folder served over http on a loopback port, as ``python -m http.server`` does."""
    folder = tmp_path / "public"
    folder.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", folder
    server.shutdown()
    thread.join()


def test_the_emulator_fetches_loopback_and_refuses_the_rest(
    served_folder: tuple[str, Path],
) -> None:
    base, folder = served_folder
    (folder / "tune.wav").write_bytes(wav_bytes(1.25))
    (folder / "notes.txt").write_text("not audio")
    backend = create_app().backend
    assert uploaded_audio_seconds(backend, f"{base}/tune.wav", max_seconds=480) == pytest.approx(
        1.25, abs=0.01
    )
    refusals = {
        f"{base}/notes.txt": "not audio",
        f"{base}/absent.wav": "cannot be fetched: HTTP 404",
        "https://cdn.example.com/tune.wav": "does not download external URLs",
    }
    for url, message in refusals.items():
        with pytest.raises(EmulatorError, match=message):
            uploaded_audio_seconds(backend, url, max_seconds=480)
    with pytest.raises(EmulatorError, match="at most 1 s"):
        uploaded_audio_seconds(backend, f"{base}/tune.wav", max_seconds=1)
