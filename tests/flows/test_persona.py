"""The ``persona`` flow against the emulator: a voice from a song, then a new song in it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from anyint import APIStatusError
from flows.persona import persona
from tests.conftest import EmulatedGateway, call_log, created_task_ids, resume_flow_run
from tests.flows.conftest import Refusal

FAST: dict[str, Any] = {"poll_interval": 0.01}


def _persona_calls(log: list[dict[str, Any]]) -> int:
    return sum(c["path"] == "/suno/generate-persona" for c in log)


async def test_default_run_sings_a_new_song_in_the_new_voice(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    result = await persona(**FAST)

    assert result.made_source and not result.persona_adopted and result.lyrics
    created = await created_task_ids(fast_music)
    assert len(created) == 3  # the source song, the lyrics, the new song
    assert result.source_task_id in created and result.task_id in created
    manifest = gateway.store.read_json(result.manifest_key)
    (record,) = [e for e in manifest["assets"] if e["kind"] == "persona"]
    stored = gateway.store.read_json(record["key"])
    assert stored["personaId"] == result.persona_id and stored["audioId"] == result.source_audio_id
    new_song = [e for e in manifest["assets"] if e["task_id"] == result.task_id]
    assert new_song and all(e["request"]["personaId"] == result.persona_id for e in new_song)
    assert all(e["request"]["customMode"] is True for e in new_song)
    assert new_song[0]["request"]["prompt"] == result.lyrics
    assert result.track_key and gateway.store.exists(result.track_key)


async def test_a_resume_pays_for_nothing_twice_and_a_named_track_lends_its_persona(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    # The new song's create is refused once: the run fails after the persona was made.
    fault = {"match": "POST /suno/generate", "fault": "status", "status": 400, "times": 1}
    first = await persona(**FAST)
    (await fast_music.post("/_emulator/faults", json=fault)).raise_for_status()
    named = {"task_id": first.source_task_id, "audio_id": first.source_audio_id, **FAST}
    state = await persona(**named, new_title="Second Song", return_state=True)
    with pytest.raises(APIStatusError, match="400"):
        await state.aresult()
    resumed = await resume_flow_run(persona, state.state_details.flow_run_id)
    result = await resumed.aresult()

    # One persona per audioId: the named track's persona is adopted, not made again.
    assert result.persona_adopted and result.persona_id == first.persona_id
    assert not result.made_source and result.source_task_id == first.source_task_id
    assert _persona_calls(await call_log(fast_music)) == 2  # first run, then refused + adopted
    again = await (await resume_flow_run(persona, state.state_details.flow_run_id)).aresult()
    assert again.task_id == result.task_id
    assert _persona_calls(await call_log(fast_music)) == 2  # the resume read it from the store
    assert len(await created_task_ids(fast_music)) == 3 + 2  # lyrics and new song, once each
    manifest = gateway.store.read_json(result.manifest_key)
    keys = [e["key"] for e in manifest["assets"]]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"audio_id": "a-1"}, "task_id"),
        ({"task_id": "t-1"}, "audio_id"),
        ({"name": ""}, "name"),
        ({"new_style": "dreamy " * 30, "model": "V4"}, "new_style"),
        ({"new_title": "A Very Long Title " * 5}, "new_title"),
        ({"prompt": "la " * 200}, "prompt"),
    ],
)
async def test_bad_input_fails_before_any_paid_call(
    refused: Refusal, parameters: dict[str, Any], named: str
) -> None:
    await refused(persona, {**parameters, **FAST}, f"parameter '{named}'")
