"""Kling native routes under ``/transtreams/kling/v1`` (contract §10.4, §10.6).

Five create routes (text2video, image2video, omni-video, images/generations, omni-image), each
polled on its own ``GET <create path>/{task_id}``. Thin: bodies, rules, outputs and callbacks live
in :mod:`emulator.video.kling`. Success bodies are ``{"code": 0, "message": "SUCCEED",
"request_id", "data"}``; errors use the Kling envelope (rendered by the app).
"""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Depends, Request

from ..auth import bearer_auth
from ..backend import Backend
from ..video import kling
from ..video.kling import BODIES, PATHS, CreateBody, Route
from ._common import call_of

router = APIRouter(tags=["kling"])

_CREATE_DOCS: dict[Route, str] = {
    "text2video": "Create a text-to-video task (Std/Pro: ``kling-v3``).",
    "image2video": "Create an image-to-video task; ``image`` is the first frame.",
    "omni-video": "Create an Omni video task (``kling-v3-omni``); a first-frame image sets the "
    "colour.",
    "image": "Create an image task (``kling-v2-1``): ``n`` PNGs at ``aspect_ratio`` and "
    "``resolution``.",
    "omni-image": "Create an Omni image task; reads ``n``, ``aspect_ratio``, ``resolution``, "
    "``image_list``.",
}


def _routes(route: Route) -> None:
    """Register ``POST <path>`` (create) and ``GET <path>/{task_id}`` (query) of one route."""

    async def create(
        body: CreateBody, request: Request, backend: Backend = Depends(bearer_auth)
    ) -> dict[str, Any]:
        return kling.created(kling.create(call_of(request, backend), route, body))

    # FastAPI parses the body with the annotation's model: the route's own, not the union.
    create.__annotations__["body"] = BODIES[route]
    create.__name__ = f"create_{route.replace('-', '_')}"
    create.__doc__ = _CREATE_DOCS[route]
    router.add_api_route(PATHS[route], create, methods=["POST"])

    async def query(
        task_id: str, request: Request, backend: Backend = Depends(bearer_auth)
    ) -> dict[str, Any]:
        return await kling.query(call_of(request, backend), route, task_id)

    query.__name__ = f"get_{route.replace('-', '_')}"
    query.__doc__ = f"Query a task created on ``POST {PATHS[route]}``."
    router.add_api_route(f"{PATHS[route]}/{{task_id}}", query, methods=["GET"])


for _route in get_args(Route):
    _routes(_route)
