"""DashScope: sync image generation, video-synthesis tasks and task queries (contract §10.1-10.3).

Thin: bodies, rules and outputs live in :mod:`emulator.video.dashscope`. Errors use the DashScope
envelope ``{request_id, code, message}`` (rendered by the app).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ..auth import bearer_auth
from ..backend import Backend
from ..video import dashscope
from ..video.dashscope import ImageRequest, VideoRequest
from ._common import call_of

router = APIRouter(tags=["dashscope"])

IMAGE_PATH = "/dashscope/v1/services/aigc/multimodal-generation/generation"
VIDEO_PATH = "/dashscope/v1/services/aigc/video-generation/video-synthesis"
TASK_PATH = "/dashscope/v1/tasks/{task_id}"


@router.post(IMAGE_PATH)
async def generate_image(
    body: ImageRequest, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Synchronous image generation: real PNGs at ``parameters.size`` (default 1328*1328)."""
    call = call_of(request, backend)
    answer = dashscope.generate_image(call, body)
    call.reported(answer["usage"])  # §10.1: image size and count
    return answer


@router.post(VIDEO_PATH)
async def create_video(
    body: VideoRequest, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Create a video task; works with or without ``X-DashScope-Async: enable``."""
    return dashscope.created(dashscope.create_video(call_of(request, backend), body))


@router.get(TASK_PATH)
async def get_task(
    task_id: str, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Query a task; an unknown (or expired) id is ``UNKNOWN`` with HTTP 200, as upstream."""
    return await dashscope.task_record(call_of(request, backend), task_id)
