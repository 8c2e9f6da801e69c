"""Progress artifacts: one per wait in a one-step flow, one for the whole pipeline in music-video.

A progress artifact per wait costs the Prefect server a create and an update or more per step; in
a pipeline that moves its own progress artifact they would only repeat it, six bars for one run.
"""

from __future__ import annotations

from prefect.client.schemas.objects import Artifact

from flows.generate_video import generate_video
from flows.music_video import music_video
from tests.conftest import EmulatedGateway
from tests.flows.test_artifact_images import run_artifacts


def _progress(artifacts: list[Artifact]) -> list[Artifact]:
    return [a for a in artifacts if a.type == "progress"]


async def test_music_video_moves_one_progress_artifact_for_the_whole_pipeline(
    gateway: EmulatedGateway,
) -> None:
    result = await music_video(prompt="a quiet walk in the rain", poll_interval=0.01)
    (progress,) = _progress(await run_artifacts(result.manifest_key.split("/")[1]))
    assert progress.data == 100.0
    assert "music video done" in str(progress.description)


async def test_a_one_step_flow_shows_its_wait_as_progress(gateway: EmulatedGateway) -> None:
    result = await generate_video(prompt="a red kite over the sea", duration=2, poll_interval=0.01)
    (progress,) = _progress(await run_artifacts(result.manifest_key.split("/")[1]))
    assert progress.data == 100.0
    assert progress.task_run_id is not None  # the wait's own
