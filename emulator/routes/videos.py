"""OpenAI-style videos under ``/openai/v1/videos`` (contract §10.5): create, status, content.

Thin: the body, rules and the video object live in :mod:`emulator.video.videos`. Errors use the
OpenAI envelope (rendered by the app).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ..auth import bearer_auth
from ..backend import Backend
from ..video import videos
from ..video.videos import VideoCreateBody
from ._common import call_of

router = APIRouter(tags=["videos"])

PATH = "/openai/v1/videos"


@router.post(PATH)
async def create_video(
    body: VideoCreateBody, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Create a video job (models ``kling-3.0`` and ``kling-v3-omni``)."""
    task = videos.create_video(call_of(request, backend), body)
    return videos.video_object(backend, task, videos.STAGES[0])


@router.get(PATH + "/{video_id}")
async def retrieve_video(video_id: str, backend: Backend = Depends(bearer_auth)) -> dict[str, Any]:
    """The job's current state (each call counts as a poll)."""
    task = videos.find(backend, video_id)
    return videos.video_object(backend, task, backend.status(task))


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
    data, media_type = await videos.content(backend, video_id, variant)
    return Response(data, media_type=media_type)
