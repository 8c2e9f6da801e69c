"""The ``karaoke`` flow on the emulator: LRC and SRT beside the audio, timings in the manifest."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from anyint import APIStatusError
from flows.karaoke import KaraokeResult, karaoke
from tests.conftest import EmulatedGateway, call_log, created_task_ids, resume_flow_run
from tests.flows.conftest import Refusal

FAST: dict[str, Any] = {"poll_interval": 0.01}
LRC_LINE = re.compile(r"^\[(\d{2}):(\d{2})\.(\d{2})\](.*)$")
SRT_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2}):(\d{2}):(\d{2}),(\d{3})$")


def _lrc(text: str) -> list[tuple[float, str]]:
    out = []
    for line in text.splitlines()[1:]:  # after [ti:...]
        match = LRC_LINE.match(line)
        assert match, line
        minutes, seconds, centis, words = match.groups()
        out.append((int(minutes) * 60 + int(seconds) + int(centis) / 100, words))
    return out


def _srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for i, block in enumerate(text.strip().split("\n\n"), start=1):
        number, times, words = block.split("\n")
        match = SRT_TIME.match(times)
        assert number == str(i) and match, block
        h, m, s, ms, h2, m2, s2, ms2 = (int(x) for x in match.groups())
        cues.append(
            (h * 3600 + m * 60 + s + ms / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, words)
        )
    return cues


def _check_files(gateway: EmulatedGateway, result: KaraokeResult) -> None:
    assert result.track_key and result.track_key.endswith(".mp3")
    stem = result.track_key.removesuffix(".mp3")
    assert (result.lrc_key, result.srt_key) == (f"{stem}.lrc", f"{stem}.srt")  # beside the audio
    lrc = _lrc(gateway.read(result.lrc_key).decode())
    srt = _srt(gateway.read(result.srt_key).decode())
    texts = [x.text for x in result.lines]
    assert [w for _, w in lrc[:-1]] == texts and lrc[-1][1] == ""  # the last stamp ends the song
    assert [w for *_, w in srt] == texts
    starts = [start for start, *_ in srt]
    assert starts == sorted(starts) and all(start <= end for start, end, _ in srt)
    assert sum(len(t.split()) for t in texts) == result.words > 0


async def test_default_run_makes_a_song_and_times_its_words(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    result = await karaoke(**FAST)

    assert result.made_song and len(await created_task_ids(fast_music)) == 1
    _check_files(gateway, result)
    manifest = gateway.store.read_json(result.manifest_key)
    assert manifest["flow"] == "karaoke"
    entries = {e["key"]: e for e in manifest["assets"]}
    lrc = entries[result.lrc_key]
    assert lrc["kind"] == "timed_lyrics" and lrc["audio_id"] == result.audio_id
    words = lrc["metadata"]["words"]
    assert len(words) == result.words and all(w["start_s"] <= w["end_s"] for w in words)
    assert result.track_key in entries and result.srt_key in entries


async def test_a_named_song_gets_its_files_and_a_resume_stores_nothing_twice(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    first = await karaoke(**FAST)
    other = next(r for r in first.assets["audio"] if r.audio_id != first.audio_id)
    assert other.audio_id is not None
    # The timings call fails once: the run fails after the song's track was stored.
    fault = {"match": "POST /suno/timestamped-lyrics", "fault": "status", "status": 400}
    (await fast_music.post("/_emulator/faults", json=fault)).raise_for_status()
    named = {"task_id": first.task_id, "audio_id": other.audio_id, **FAST}
    state = await karaoke(**named, return_state=True)
    with pytest.raises(APIStatusError, match="400"):
        await state.aresult()

    result = await (await resume_flow_run(karaoke, state.state_details.flow_run_id)).aresult()
    assert not result.made_song and result.audio_id == other.audio_id
    assert result.track_key == other.key  # the second track, in the song's own folder
    _check_files(gateway, result)
    again = await (await resume_flow_run(karaoke, state.state_details.flow_run_id)).aresult()
    assert again.lrc_key == result.lrc_key
    log = await call_log(fast_music)
    assert sum(c["path"] == "/suno/timestamped-lyrics" for c in log) == 3  # 1 + failed + resumed
    assert len(await created_task_ids(fast_music)) == 1  # a named song is never made again
    manifest = gateway.store.read_json(result.manifest_key)
    keys = [e["key"] for e in manifest["assets"]]
    assert len(keys) == len(set(keys)) == 4  # track-2 and its cover, the LRC and the SRT


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"audio_id": "a-1"}, "task_id"),
        ({"task_id": "t-1"}, "audio_id"),
        ({"prompt": "la " * 200}, "prompt"),
        ({"model": "V9"}, "model"),
    ],
)
async def test_bad_input_fails_before_any_paid_call(
    refused: Refusal, parameters: dict[str, Any], named: str
) -> None:
    await refused(karaoke, {**parameters, **FAST}, f"parameter '{named}'")


async def test_a_named_song_that_is_not_one_fails_before_any_paid_call(
    refused: Refusal, fast_music: httpx.AsyncClient
) -> None:
    await refused(karaoke, {"task_id": "no-such-task", "audio_id": "a-1"}, "parameter 'task_id'")
