"""OpenAI-style videos under ``/openai/v1/videos`` (contract §10.5): create, status, content.

The body is AnyInt's (``duration``, ``aspect_ratio``, ``image``, ``frame_images`` ...) and also
OpenAI's own ``seconds`` and ``size``; other fields are accepted and ignored. Jobs move
``queued → in_progress → completed | failed``; the video object follows OpenAI's. Errors use the
OpenAI envelope (rendered by the app).
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ConfigDict, Field, StrictInt

from anyint.types.videos import VideoCreateParams

from ..auth import bearer_auth
from ..backend import Backend, Task
from ..catalogue import check_model
from ..errors import EmulatorError
from ..media import png
from ..video_tasks import (
    FAILURE_MESSAGE,
    VideoSpec,
    aspect_size,
    fps_for,
    image_ref,
    parse_seconds,
    parse_size,
    progress,
    seed_for,
    seen_at,
    video_bytes,
)
from ._common import base_url, mark_created

router = APIRouter(tags=["videos"])

PATH = "/openai/v1/videos"
STAGES = ("queued", "in_progress", "completed")
FAILED = "failed"


class VideoCreateBody(VideoCreateParams):
    """Body of ``POST /openai/v1/videos``: AnyInt's fields plus OpenAI's ``seconds`` and ``size``.

    Attributes:
        seconds: OpenAI's name for ``duration`` (e.g. ``"8"``).
        size: Exact frame size ``WxH`` (e.g. ``"1280x720"``); overrides ``aspect_ratio``.
    """

    model_config = ConfigDict(extra="allow")

    seconds: StrictInt | str | None = None
    size: Annotated[str, Field(pattern=r"^[0-9]+x[0-9]+$")] | None = None


def _reference(body: VideoCreateBody) -> tuple[str, str] | None:
    """(field, value) of the image that becomes the first frame, if any."""
    for i, frame in enumerate(body.frame_images or []):
        if (frame.role or frame.frame_type) == "first_frame":
            return f"frame_images.{i}.url", frame.url
    if body.image:
        return "image", body.image
    if body.input_reference:
        return "input_reference", body.input_reference
    if body.frame_images:
        return "frame_images.0.url", body.frame_images[0].url
    return None


def _seconds(body: VideoCreateBody) -> int:
    duration = parse_seconds(body.duration, field="duration")
    seconds = parse_seconds(body.seconds, field="seconds")
    if body.duration is not None and body.seconds is not None and duration != seconds:
        raise EmulatorError(400, "duration and seconds disagree; give one of them")
    return duration if body.duration is not None else seconds


@router.post(PATH)
async def create_video(
    body: VideoCreateBody, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Create a video job (models ``kling-3.0`` and ``kling-v3-omni``)."""
    check_model(body.model, "videos", output="video")
    seconds = _seconds(body)
    if body.size is not None:
        width, height = parse_size(body.size, sep="x", field="size")
    else:
        width, height = aspect_size(body.aspect_ratio, field="aspect_ratio")
    reference = _reference(body)
    facts = None
    if reference is not None:
        facts = image_ref(backend, reference[1], field=reference[0], raw_base64=False)
    seed = seed_for(
        backend,
        body.model,
        body.prompt,
        reference[1] if reference else None,
        width,
        height,
        seconds,
        body.mode,
        color=facts.color_name if facts else None,
    )
    spec = VideoSpec(
        width=width,
        height=height,
        seconds=seconds,
        fps=fps_for(width, height),
        seed=seed,
        text=body.prompt,
        audio=bool(body.generate_audio) or body.sound == "on",
    )
    task = backend.create_task(
        family="videos",
        kind="video",
        stages=STAGES,
        body=body.model_dump(mode="json", exclude_none=True),
        base_url=base_url(request),
        failure_status=FAILED,
        method=request.method,
        path=request.url.path,
        prefix="video_",
        data={"spec": spec, "wall": time.time()},
    )
    mark_created(request, task)
    return _video_object(backend, task, STAGES[0])


def _video_object(backend: Backend, task: Task, status: str) -> dict[str, Any]:
    spec: VideoSpec = task.data["spec"]
    completed_at = expires_at = None
    if status == STAGES[-1]:
        completed_at = int(seen_at(task, status))
        expires_at = int(completed_at + backend.asset_ttl)
    return {
        "id": task.id,
        "object": "video",
        "model": task.body["model"],
        "status": status,
        "progress": progress(backend, task, status),
        "created_at": int(task.data["wall"]),
        "completed_at": completed_at,
        "expires_at": expires_at,
        "seconds": str(int(spec.seconds)),
        "size": spec.size,
        "prompt": task.body["prompt"],
        "error": {"code": "video_generation_failed", "message": FAILURE_MESSAGE}
        if status == FAILED
        else None,
    }


def _task(backend: Backend, video_id: str) -> Task:
    task = backend.get_task(video_id)
    if task is None or task.family != "videos" or task.unknown:
        raise EmulatorError(404, f"video {video_id!r} not found", code="video_not_found")
    return task


@router.get(PATH + "/{video_id}")
async def retrieve_video(video_id: str, backend: Backend = Depends(bearer_auth)) -> dict[str, Any]:
    """The job's current state (each call counts as a poll)."""
    task = _task(backend, video_id)
    return _video_object(backend, task, backend.status(task))


@router.get(
    PATH + "/{video_id}/content",
    response_class=Response,
    responses={200: {"content": {"video/mp4": {}, "image/png": {}}}},
)
async def download_video(
    video_id: str,
    variant: Literal["video", "thumbnail"] = Query("video"),
    backend: Backend = Depends(bearer_auth),
) -> Response:
    """The finished MP4 (``variant=thumbnail``: its first frame's picture as PNG).

    409 until the job is ``completed``; a failed job never has content. A job completed under
    a ``task_no_output`` fault answers 404, as if its file were lost.
    """
    task = _task(backend, video_id)
    status = backend.status(task, poll=False)
    if status != STAGES[-1]:
        if status == FAILED:
            message = f"video {video_id!r} failed ({FAILURE_MESSAGE}); it has no content"
        else:
            message = f"video {video_id!r} is {status}; download it once status is completed"
        raise EmulatorError(409, message, code="video_not_ready")
    if task.no_output:
        raise EmulatorError(
            404, f"video {video_id!r} is completed but has no content", code="video_content_missing"
        )
    spec: VideoSpec = task.data["spec"]
    if variant == "thumbnail":
        return Response(png(spec.width, spec.height, seed=spec.seed), media_type="image/png")
    return Response(await video_bytes(task, spec), media_type="video/mp4")
