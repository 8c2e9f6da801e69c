"""The ``content-brief`` flow end to end against the emulator, on both task runners."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import httpx
import pytest
from PIL import Image
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)

from emulator.media import decode_audio, probe
from flows.content_brief import ContentBriefResult, content_brief
from tests.conftest import EmulatedGateway, created_task_ids
from tests.flows.conftest import Refusal

#: Small media and fast polling keep a whole run around a second.
SMALL: dict[str, Any] = {
    "image_size": "256*256",
    "video_size": "320*180",
    "video_seconds": 2,
    "poll_interval": 0.01,
}


def _check_stored(gateway: EmulatedGateway, result: ContentBriefResult) -> None:
    """Every asset is in this run's manifest with the checksum of the stored bytes."""
    manifest = gateway.store.read_json(result.manifest_key)
    assert manifest["flow"] == "content-brief"
    by_key = {entry["key"]: entry for entry in manifest["assets"]}
    records = [*result.image, *result.video, *result.song, *result.music_video]
    assert {r.key for r in records} <= set(by_key)
    for record in records:
        assert hashlib.sha256(gateway.read(record.key)).hexdigest() == by_key[record.key]["sha256"]


def _check_song(gateway: EmulatedGateway, result: ContentBriefResult) -> None:
    kinds = {r.kind for r in result.song}
    assert {"lyrics", "audio"} <= kinds
    (track,) = [r for r in result.song if r.kind == "audio" and r.audio_id == result.audio_id]
    samples, rate = decode_audio(gateway.read(track.key))
    assert len(samples) / rate > 1.0  # a real song, not an empty file


async def test_default_run_makes_image_video_and_song(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    result = await content_brief(**SMALL)

    (image,) = result.image
    with Image.open(io.BytesIO(gateway.read(image.key))) as picture:
        assert picture.format == "PNG" and picture.size == (256, 256)
    (video,) = result.video
    facts = probe(gateway.read(video.key))
    assert facts.video is not None and (facts.video.width, facts.video.height) == (320, 180)
    assert facts.duration == pytest.approx(2.0, abs=0.2)
    _check_song(gateway, result)
    assert result.music_video == [] and set(result.task_ids) == {"video", "lyrics", "song"}
    _check_stored(gateway, result)
    created = await created_task_ids(fast_music)
    assert sorted(created) == sorted(result.task_ids.values())

    flow_run_id = result.manifest_key.split("/")[1]  # runs/<flow_run_id>/manifest.json
    async with get_client() as client:
        (summary,) = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["content-brief-summary"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),  # this run's, no other
            ),
        )
    assert result.brief in str(summary.data) and result.task_ids["video"] in str(summary.data)

    # A scheduled run tomorrow (same parameters, new flow run) makes new content.
    tomorrow = await content_brief(**SMALL)
    assert len(await created_task_ids(fast_music)) == 2 * len(created)
    assert set(tomorrow.task_ids.values()).isdisjoint(result.task_ids.values())
    assert tomorrow.image[0].key != result.image[0].key
    _check_stored(gateway, result)  # and today's content is left as it was


async def test_a_shared_key_reuses_every_paid_task(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    first = await content_brief(**SMALL, idempotency_key="brief-2026-12-01")
    created = await created_task_ids(fast_music)
    again = await content_brief(**SMALL, idempotency_key="brief-2026-12-01")
    assert await created_task_ids(fast_music) == created  # reused, not created again
    assert again.task_ids == first.task_ids
    assert [r.sha256 for r in again.image] == [r.sha256 for r in first.image]
    _check_stored(gateway, again)


async def test_dask_runner_with_the_other_routes_and_a_music_video(
    gateway: EmulatedGateway, fast_music: httpx.AsyncClient
) -> None:
    result = await content_brief(
        brief="Night market in the rain: lanterns, steam and neon reflections.",
        task_runner="dask",
        image_route="gemini",
        video_route="kling",
        music_video=True,
        **{**SMALL, "image_size": "320*180"},
    )
    (image,) = result.image
    with Image.open(io.BytesIO(gateway.read(image.key))) as picture:
        # Gemini takes the aspect ratio (16:9) of image_size; the emulator's short side is 288.
        assert picture.format == "PNG" and picture.size == (512, 288)
    (video,) = result.video
    assert probe(gateway.read(video.key)).video is not None
    _check_song(gateway, result)
    (clip,) = result.music_video
    facts = probe(gateway.read(clip.key))
    assert facts.video is not None and facts.audio is not None
    _check_stored(gateway, result)
    # The creates reached this test's emulator: the Dask workers used the run's gateway value.
    assert sorted(await created_task_ids(fast_music)) == sorted(result.task_ids.values())
    assert set(result.task_ids) == {"video", "lyrics", "song", "music_video"}


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"image_size": "big"}, "image_size"),
        ({"image_route": "gemini", "image_size": "1000*700"}, "image_size"),  # 10:7: not offered
        ({"song_model": "V9"}, "song_model"),
        ({"video_model": "wan9-t2v"}, "video_model"),
        ({"image_route": "gemini", "image_model": "wan2.6-t2v"}, "image_model"),
        ({"video_seconds": 0}, "video_seconds"),
    ],
)
async def test_bad_parameters_fail_before_any_create(
    refused: Refusal, parameters: dict[str, Any], named: str
) -> None:
    await refused(content_brief, {**SMALL, **parameters}, f"parameter '{named}'")
