"""OpenAI-style videos behaviour (contract §10.5): create, the video object, its content.

The body is the client's strict request model (AnyInt's ``duration``, ``aspect_ratio``,
``image``, ``frame_images`` ...) plus OpenAI's own ``seconds`` and ``size``; other fields are
accepted and ignored. Jobs move ``queued → in_progress → completed | failed``; the video object
follows OpenAI's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt

from anyint.types.videos import VideoCreateParams

from ..backend import Backend, Task
from ..calls import Call
from ..catalogue import check_model
from ..errors import EmulatorError
from ..media import png
from .jobs import FAILURE_MESSAGE, new_task, progress, seen_at, video_bytes
from .specs import (
    VideoSpec,
    aspect_size,
    body_clip,
    image_ref,
    parse_seconds,
    parse_size,
)

__all__ = ["STAGES", "VideoCreateBody", "content", "create_video", "find", "video_object"]

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


def create_video(call: Call, body: VideoCreateBody) -> Task:
    """A video job (models ``kling-3.0`` and ``kling-v3-omni``)."""
    check_model(body.model, "videos", output="video")
    seconds = _seconds(body)
    if body.size is not None:
        width, height = parse_size(body.size, sep="x", field="size")
    else:
        width, height = aspect_size(body.aspect_ratio, field="aspect_ratio")
    reference = _reference(body)
    facts = None
    if reference is not None:
        facts = image_ref(call.backend, reference[1], field=reference[0], raw_base64=False)
    ref = reference[1] if reference else None
    spec = body_clip(
        call.backend,
        body,
        (width, height),
        seconds,
        seed_parts=(body.model, body.prompt, ref, width, height, seconds, body.mode),
        reference=facts,
    )
    return new_task(
        call,
        family="videos",
        kind="video",
        stages=STAGES,
        failed=FAILED,
        body=body,
        data={"spec": spec},
        prefix="video_",
    )


def video_object(backend: Backend, task: Task, status: str) -> dict[str, Any]:
    """OpenAI's video object of ``task`` in ``status``."""
    spec: VideoSpec = task.data["spec"]
    completed_at = expires_at = None
    if status == STAGES[-1]:
        completed_at = int(seen_at(task, status))
        expires_at = int(completed_at + backend.asset_ttl)
    failed = {"code": "video_generation_failed", "message": FAILURE_MESSAGE}
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
        "error": failed if status == FAILED else None,
    }


def find(backend: Backend, video_id: str) -> Task:
    """The job ``video_id``, or a 404."""
    task = backend.find_task(video_id, "videos")
    if task is None:
        raise EmulatorError(404, f"video {video_id!r} not found", code="video_not_found")
    return task


async def content(
    backend: Backend, video_id: str, variant: Literal["video", "thumbnail"]
) -> tuple[bytes, str]:
    """The finished MP4 (``variant=thumbnail``: its first frame's picture as PNG), and its type.

    Raises:
        EmulatorError: 409 until the job is ``completed`` (a failed job never has content); 404
            for a job completed under a ``task_no_output`` fault, as if its file were lost.
    """
    task = find(backend, video_id)
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
        return png(spec.width, spec.height, seed=spec.seed), "image/png"
    return await video_bytes(task, spec), "video/mp4"
