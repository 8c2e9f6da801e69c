"""Kling native routes under ``/transtreams/kling/v1`` (contract §10.4, §10.6).

Five create routes (text2video, image2video, omni-video, images/generations, omni-image), each
polled on its own ``GET <create path>/{task_id}``. Bodies are parsed with the client's request
models made lenient (provider-native fields we do not model are accepted and ignored). Success
bodies are ``{"code": 0, "message": "SUCCEED", "request_id", "data"}``; errors use the Kling
envelope (rendered by the app). A ``callback_url`` gets the task's ``data`` on every change.
"""

from __future__ import annotations

import functools
import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict

from anyint.types.kling import (
    KlingImage2VideoParams,
    KlingImageParams,
    KlingOmniImageParams,
    KlingOmniVideoParams,
    KlingText2VideoParams,
)

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
    seed_for,
    seen_at,
    serve_video,
    video_bytes_now,
)
from ._common import base_url, mark_created

router = APIRouter(tags=["kling"])

PREFIX = "/transtreams/kling/v1"
PATHS = {
    "text2video": f"{PREFIX}/videos/text2video",
    "image2video": f"{PREFIX}/videos/image2video",
    "omni-video": f"{PREFIX}/videos/omni-video",
    "image": f"{PREFIX}/images/generations",
    "omni-image": f"{PREFIX}/images/omni-image",
}
STAGES = ("submitted", "processing", "succeed")
FAILED = "failed"
#: Long side of a generated image per ``resolution``.
IMAGE_SIDES = {"1k": 1024, "2k": 2048}


class Text2VideoBody(KlingText2VideoParams):
    """``POST /videos/text2video``: the client's model, accepting provider fields it lacks."""

    model_config = ConfigDict(extra="allow")


class Image2VideoBody(KlingImage2VideoParams):
    """``POST /videos/image2video`` (``image`` required: URL or raw base64)."""

    model_config = ConfigDict(extra="allow")


class OmniVideoBody(KlingOmniVideoParams):
    """``POST /videos/omni-video`` (model ``kling-v3-omni``)."""

    model_config = ConfigDict(extra="allow")


class ImageBody(KlingImageParams):
    """``POST /images/generations`` (model ``kling-v2-1``)."""

    model_config = ConfigDict(extra="allow")


class OmniImageBody(KlingOmniImageParams):
    """``POST /images/omni-image``: common fields checked, the rest passed through."""


def _ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


# -- creating -------------------------------------------------------------------------------------


def _create(
    request: Request,
    backend: Backend,
    route: str,
    body: Any,
    data: dict[str, Any],
) -> dict[str, Any]:
    backend.callback_builders.setdefault("kling", _callback_payloads)
    task = backend.create_task(
        family="kling",
        kind=route,
        stages=STAGES,
        body=body.model_dump(mode="json", exclude_none=True),
        base_url=base_url(request),
        failure_status=FAILED,
        method=request.method,
        path=request.url.path,
        callback_url=body.callback_url,
        # Callback builders get only the task; the backend is needed to serve its assets.
        data={
            **data,
            "wall": time.time(),
            "external_task_id": getattr(body, "external_task_id", None),
            "_backend": backend,
        },
    )
    mark_created(request, task)
    return _ok(_task_data(task, STAGES[0], None))


def _video_spec(
    backend: Backend,
    body: Any,
    *,
    seconds: int,
    reference: tuple[str, str] | None,
) -> VideoSpec:
    """The clip a video create asks for; a reference image gives the first frame its colour."""
    facts = None
    if reference is not None:
        facts = image_ref(backend, reference[1], field=reference[0], raw_base64=True)
    width, height = aspect_size(body.aspect_ratio, field="aspect_ratio")
    seed = seed_for(
        backend,
        body.model_name,
        body.prompt,
        body.negative_prompt,
        reference[1] if reference else None,
        body.aspect_ratio,
        seconds,
        getattr(body, "mode", None),
        color=facts.color_name if facts else None,
    )
    return VideoSpec(
        width=width,
        height=height,
        seconds=seconds,
        fps=fps_for(width, height),
        seed=seed,
        text=body.prompt,
        audio=bool(body.generate_audio) or body.sound == "on",
    )


@router.post(PATHS["text2video"])
async def create_text2video(
    body: Text2VideoBody, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Create a text-to-video task (Std/Pro: ``kling-v3``)."""
    check_model(body.model_name, "kling", output="video")
    seconds = parse_seconds(body.duration, field="duration")
    spec = _video_spec(backend, body, seconds=seconds, reference=None)
    return _create(request, backend, "text2video", body, {"spec": spec})


@router.post(PATHS["image2video"])
async def create_image2video(
    body: Image2VideoBody, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Create an image-to-video task; ``image`` is the first frame."""
    check_model(body.model_name, "kling", output="video")
    seconds = parse_seconds(body.duration, field="duration")
    if body.image_tail is not None:
        image_ref(backend, body.image_tail, field="image_tail", raw_base64=True)
    spec = _video_spec(backend, body, seconds=seconds, reference=("image", body.image))
    return _create(request, backend, "image2video", body, {"spec": spec})


@router.post(PATHS["omni-video"])
async def create_omni_video(
    body: OmniVideoBody, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Create an Omni video task (``kling-v3-omni``); a first-frame image sets the colour."""
    check_model(body.model_name, "kling", output="video")
    seconds = parse_seconds(body.duration, field="duration", low=3, high=15)
    images = body.image_list or []
    first = next((i for i, ref in enumerate(images) if ref.type == "first_frame"), 0)
    reference = (f"image_list.{first}.image_url", images[first].image_url) if images else None
    spec = _video_spec(backend, body, seconds=seconds, reference=reference)
    return _create(request, backend, "omni-video", body, {"spec": spec})


def _image_plan(
    backend: Backend, body: Any, *, n: Any, aspect: Any, resolution: Any, reference: str | None
) -> list[tuple[int, int, int]]:
    """(seed, width, height) of each image an image task makes."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 9:
        raise EmulatorError(400, f"n must be an integer 1..9, got {n!r}")
    if not isinstance(resolution, str) or resolution not in IMAGE_SIDES:
        raise EmulatorError(400, f"resolution must be one of {sorted(IMAGE_SIDES)}")
    if aspect is not None and not isinstance(aspect, str):
        raise EmulatorError(400, f"aspect_ratio must be a string such as '16:9', got {aspect!r}")
    long = IMAGE_SIDES[resolution]
    w, h = aspect_size(aspect, field="aspect_ratio", short=long)
    scale = long / max(w, h)
    width, height = max(2, round(w * scale)), max(2, round(h * scale))
    facts = image_ref(backend, reference, field="image", raw_base64=True) if reference else None
    color = facts.color_name if facts else None
    return [
        (
            seed_for(
                backend, body.model_name, body.prompt, aspect, resolution, reference, i, color=color
            ),
            width,
            height,
        )
        for i in range(n)
    ]


@router.post(PATHS["image"])
async def create_image(
    body: ImageBody, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Create an image task (``kling-v2-1``): ``n`` PNGs at ``aspect_ratio`` and ``resolution``."""
    check_model(body.model_name, "kling", output="image")
    plan = _image_plan(
        backend,
        body,
        n=body.n or 1,
        aspect=body.aspect_ratio or "16:9",
        resolution=body.resolution or "1k",
        reference=body.image,
    )
    return _create(request, backend, "image", body, {"images": plan})


@router.post(PATHS["omni-image"])
async def create_omni_image(
    body: OmniImageBody, request: Request, backend: Backend = Depends(bearer_auth)
) -> dict[str, Any]:
    """Create an Omni image task; reads ``n``, ``aspect_ratio``, ``resolution``, ``image_list``."""
    check_model(body.model_name, "kling", output="image")
    extra = body.model_extra or {}
    images = extra.get("image_list") or []
    first = images[0] if isinstance(images, list) and images else None
    reference = first.get("image_url") if isinstance(first, dict) else None
    if reference is not None and not isinstance(reference, str):
        raise EmulatorError(400, "image_list.0.image_url must be a string")
    plan = _image_plan(
        backend,
        body,
        n=extra.get("n", 1),
        aspect=extra.get("aspect_ratio", "16:9"),
        resolution=extra.get("resolution", "1k"),
        reference=reference,
    )
    return _create(request, backend, "omni-image", body, {"images": plan})


# -- querying -------------------------------------------------------------------------------------


def _task_data(task: Task, status: str, result: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "task_id": task.id,
        "task_status": status,
        "task_status_msg": FAILURE_MESSAGE if status == FAILED else "",
        "task_info": {"external_task_id": task.data["external_task_id"]}
        if task.data["external_task_id"]
        else {},
        "created_at": _ms(task.data["wall"]),
        "updated_at": _ms(seen_at(task, status)),
    }
    if result is not None:
        data["task_result"] = result
    return data


def _video_entry(task: Task, url: str) -> dict[str, Any]:
    spec: VideoSpec = task.data["spec"]
    video_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kling-video:{task.id}"))
    return {"id": video_id, "url": url, "duration": f"{spec.duration:.3f}"}


def _images(backend: Backend, base: str, task: Task) -> dict[str, Any]:
    images = []
    for i, (seed, width, height) in enumerate(task.data["images"]):
        url = backend.serve(
            base,
            f"kling-image:{task.id}:{i}",
            f"image-{i}.png",
            "image/png",
            functools.partial(png, width, height, seed=seed),
        )
        images.append({"index": i, "url": url})
    return {"images": images}


def _callback_payloads(task: Task, status: str) -> list[dict[str, Any]]:
    """What a ``callback_url`` receives when the task enters ``status``: the query's ``data``."""
    result = _result_now(task.data["_backend"], task) if status == STAGES[-1] else None
    return [_task_data(task, status, result)]


def _no_output(task: Task) -> dict[str, Any]:
    """``task_result`` of a ``task_no_output`` task: there, but with an empty list."""
    return {"images": []} if "images" in task.data else {"videos": []}


def _result_now(backend: Backend, task: Task) -> dict[str, Any]:
    if task.no_output:
        return _no_output(task)
    if "images" in task.data:
        return _images(backend, task.base_url, task)
    spec: VideoSpec = task.data["spec"]
    data = video_bytes_now(task, spec)
    url = backend.serve(task.base_url, f"video:{task.id}", "video.mp4", "video/mp4", lambda: data)
    return {"videos": [_video_entry(task, url)]}


async def _query(route: str, task_id: str, request: Request, backend: Backend) -> dict[str, Any]:
    task = backend.get_task(task_id)
    if task is None or task.family != "kling" or task.unknown:
        raise EmulatorError(404, f"task {task_id!r} not found", code="task_not_found")
    if task.kind != route:
        raise EmulatorError(
            404,
            f"task {task_id!r} was created on {PATHS[task.kind]}; poll it there",
            code="task_not_found",
        )
    status = backend.status(task)
    result = None
    if status == STAGES[-1] and task.no_output:
        result = _no_output(task)
    elif status == STAGES[-1]:
        base = base_url(request)
        if "images" in task.data:
            result = _images(backend, base, task)
        else:
            url = await serve_video(backend, base, task, task.data["spec"])
            result = {"videos": [_video_entry(task, url)]}
    return _ok(_task_data(task, status, result))


def _query_route(route: str) -> None:
    async def query(
        task_id: str, request: Request, backend: Backend = Depends(bearer_auth)
    ) -> dict[str, Any]:
        return await _query(route, task_id, request, backend)

    query.__name__ = f"get_{route.replace('-', '_')}"
    query.__doc__ = f"Query a task created on ``POST {PATHS[route]}``."
    router.add_api_route(f"{PATHS[route]}/{{task_id}}", query, methods=["GET"])


for _route in PATHS:
    _query_route(_route)
