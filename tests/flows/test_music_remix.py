"""The ``music-remix`` flow on the in-process emulator: each operation from a local WAV on a local
store, an S3 (moto) store whose presigned link the emulated gateway fetches, a resume that stores
and pays for nothing again, and bad input refused before any paid call."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from anyint_cli.embedded import embedded_gateway
from blocks import AssetStore
from emulator.app import EmulatorApp
from emulator.media import probe, wav
from flows.music_remix import OPERATIONS, MusicRemixResult, music_remix
from tests._media import png_bytes
from tests.blocks.conftest import moto_endpoint, s3_store  # noqa: F401  (fixtures)
from tests.conftest import (
    CANARY_KEY,
    EmulatedGateway,
    created_task_ids,
    paid_calls,
    resume_flow_run,
)
from tests.flows.conftest import Refusal

FAST: dict[str, Any] = {"poll_interval": 0.01}
TITLES = {
    "cover": "Cover",
    "extend": "Extended",
    "add-vocals": "Vocal Mix",
    "add-instrumental": "Band Mix",
}


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    """A real mono WAV of a tone, ``seconds`` long."""
    t = np.arange(int(seconds * rate)) / rate
    return wav((0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), rate)


@pytest.fixture
def local_gateway(
    emulator: EmulatorApp, prefect_harness: None, tmp_path: Path
) -> Iterator[EmulatedGateway]:
    """The emulator with a local-folder store (the default kind), configured as a user does."""
    store_url = str(tmp_path / "store")
    base_url = f"http://emulator-{uuid.uuid4().hex[:12]}.anyint.local"
    with embedded_gateway(emulator, store_url, api_key=CANARY_KEY, base_url=base_url):
        yield EmulatedGateway(base_url=base_url, store=AssetStore(base_url=store_url))


def sent_request(gateway: EmulatedGateway, result: MusicRemixResult) -> dict[str, Any]:
    """The body the remix task was created with, as its manifest entries record it."""
    manifest = gateway.store.read_json(result.manifest_key)
    requests = {
        str(e["request"]) for e in manifest["assets"] if e["kind"] == "audio" and e["request"]
    }
    assert len(requests) == 1
    audio = next(e for e in manifest["assets"] if e["kind"] == "audio")
    body: dict[str, Any] = audio["request"]
    return body


def check_outputs(gateway: EmulatedGateway, result: MusicRemixResult, data: bytes) -> None:
    """Two decodable tracks and the input copy, each in the manifest with its sha256."""
    manifest = gateway.store.read_json(result.manifest_key)
    assert manifest["flow"] == "music-remix"
    by_key = {e["key"]: e for e in manifest["assets"]}
    audio = result.assets["audio"]
    assert len(audio) == 2 and {r.audio_id for r in audio} == set(result.audio_ids)
    for record in [*audio, *result.assets["image"]]:
        stored = gateway.read(record.key)
        assert hashlib.sha256(stored).hexdigest() == by_key[record.key]["sha256"]
    for record in audio:
        facts = probe(gateway.read(record.key))
        assert facts.audio is not None and facts.duration > 1
    (source,) = result.assets["input"]
    assert gateway.read(source.key) == data and by_key[source.key]["kind"] == "input"
    assert source.sha256 == hashlib.sha256(data).hexdigest() == result.input["sha256"]


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_each_operation_remixes_a_local_wav_on_a_local_store(
    local_gateway: EmulatedGateway,
    fast_music: httpx.AsyncClient,
    input_dir: Path,
    operation: str,
) -> None:
    data = wav_bytes(4.0)
    (input_dir / "my_take.wav").write_bytes(data)
    result = await music_remix(audio="my_take.wav", operation=operation, **FAST)

    assert result.route == OPERATIONS[operation] and not result.reused
    assert result.title == f"My Take ({TITLES[operation]})"  # from the file name
    (created,) = await created_task_ids(fast_music)
    assert created == result.task_id
    (create,) = [c for c in await paid_calls(fast_music) if c["created_task_id"]]
    assert create["path"] == "/suno/" + OPERATIONS[operation].split(".", 1)[1]
    # A local store cannot be reached by a gateway: the in-process emulator served the file.
    body = sent_request(local_gateway, result)
    assert body["uploadUrl"].startswith(f"{local_gateway.base_url}/_assets/")
    assert result.input["via"] == "emulator" and result.input["source"] == "file"
    check_outputs(local_gateway, result, data)
    if operation == "extend":
        assert body["continueAt"] == 3.0 and body["defaultParamFlag"] is True
    if operation == "add-instrumental":
        assert body["tags"] == "synth-pop, bright" and "style" not in body
    if operation in ("add-vocals", "add-instrumental"):
        assert body["negativeTags"] == "low quality, distortion"


async def test_defaults_run_and_a_resume_stores_and_pays_nothing_again(
    local_gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    state = await music_remix(**FAST, return_state=True)
    result = await state.aresult()
    assert result.operation == "cover" and result.title == "Demo Tune (Cover)"
    assert result.input["source"] == "bytes"
    keys = local_gateway.store.list()
    calls = await paid_calls(fast_music)

    again = await (await resume_flow_run(music_remix, state.state_details.flow_run_id)).aresult()
    assert again.reused and again.task_id == result.task_id
    assert await paid_calls(fast_music) == calls  # not one new create
    assert local_gateway.store.list() == keys  # every file written once, under the same key
    assert sent_request(local_gateway, again) == sent_request(local_gateway, result)
    assert {k: [r.sha256 for r in v] for k, v in again.assets.items()} == {
        k: [r.sha256 for r in v] for k, v in result.assets.items()
    }


async def test_an_s3_store_gives_the_gateway_a_presigned_url_it_fetches(
    emulator: EmulatorApp,
    prefect_harness: None,
    s3_store: AssetStore,  # noqa: F811
    moto_endpoint: str,  # noqa: F811
    fast_music: httpx.AsyncClient,
    input_dir: Path,
) -> None:
    data = wav_bytes(3.0)
    (input_dir / "take.wav").write_bytes(data)
    base_url = f"http://emulator-{uuid.uuid4().hex[:12]}.anyint.local"
    assert s3_store.base_url is not None
    with embedded_gateway(emulator, s3_store.base_url, api_key=CANARY_KEY, base_url=base_url):
        result = await music_remix(audio="take.wav", operation="extend", **FAST)
    gateway = EmulatedGateway(base_url=base_url, store=s3_store)
    body = sent_request(gateway, result)
    # The store's link, not the emulator's hand-off: the emulated gateway fetched it from S3.
    assert body["uploadUrl"].startswith(f"{moto_endpoint}/media/prefix/inputs/")
    assert "Signature=" in body["uploadUrl"] and result.input["via"] == "presigned"
    check_outputs(gateway, result, data)


#: Local files of the bad-input cases.
FILES: dict[str, Callable[[], bytes]] = {
    "take.wav": lambda: wav_bytes(4.0),
    "picture.wav": png_bytes,
    "minute.wav": lambda: wav_bytes(61.0, rate=1000),
}


@pytest.mark.parametrize(
    ("parameters", "pattern"),
    [
        ({"audio": "picture.wav"}, "'audio': 'picture.wav' is not a WAV or MP3"),
        ({"audio": "../take.wav"}, "'audio': .*outside the allowed folder"),
        ({"audio": "nope.wav"}, "'audio': no such file 'nope.wav'"),
        ({"audio": "store:runs/x/none.mp3"}, "'audio': no file 'runs/x/none.mp3' in the store"),
        ({"audio": "minute.wav", "model": "V4_5ALL"}, "'audio': 'minute.wav' is 61.0 s .* 60 s"),
        ({"operation": "add-vocals", "model": "V4"}, "'model': operation 'add-vocals' supports"),
        ({"operation": "add-instrumental", "model": "V4_5"}, "'model': .* V4_5PLUS and V5"),
        ({"operation": "sing-along"}, "'operation'"),
        ({"continue_at": 2.0}, "'continue_at': only operation 'extend'"),
        (
            {"operation": "extend", "audio": "take.wav", "continue_at": 4.5},
            "'continue_at': 4.5 s is not before the end of 'take.wav'",
        ),
        ({"operation": "add-vocals", "instrumental": True}, "'instrumental': operation"),
        ({"model": "V4", "style": "s" * 201}, "'style': .*V4 allows at most 200"),
        ({"model": "V4", "prompt": "la " * 1001}, "'prompt': .*V4 allows at most 3000"),
        ({"title": "t" * 81}, "'title'"),
    ],
)
async def test_bad_input_is_refused_before_any_paid_call(
    gateway: EmulatedGateway,
    refused: Refusal,
    input_dir: Path,
    parameters: dict[str, Any],
    pattern: str,
) -> None:
    for name, make in FILES.items():
        (input_dir / name).write_bytes(make())
    (input_dir.parent / "take.wav").write_bytes(wav_bytes(1.0))
    await refused(music_remix, {**parameters, **FAST}, pattern)
