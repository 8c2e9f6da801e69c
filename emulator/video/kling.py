"""Kling native behaviour (contract §10.4, §10.6): five create routes, their queries, callbacks.

Bodies are the client's strict request models made lenient: every rule of the client applies,
and provider-native fields we do not model are accepted and ignored. A ``callback_url`` gets the
task's ``data`` on every change.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any, Literal

from pydantic import ConfigDict

from anyint.types.kling import (
    KlingImage2VideoParams,
    KlingImageParams,
    KlingOmniImageParams,
    KlingOmniVideoParams,
    KlingText2VideoParams,
)

from ..backend import Backend, Task
from ..calls import Call
from ..catalogue import check_model
from ..errors import EmulatorError
from ..media import png
from .jobs import FAILURE_MESSAGE, new_task, seen_at, serve_video, video_bytes_now
from .specs import (
    MAX_SECONDS,
    VideoSpec,
    aspect_size,
    body_clip,
    image_ref,
    parse_seconds,
    seed_for,
)

__all__ = [
    "BODIES",
    "PATHS",
    "CreateBody",
    "Image2VideoBody",
    "ImageBody",
    "OmniImageBody",
    "OmniVideoBody",
    "Route",
    "Text2VideoBody",
    "create",
    "create_image",
    "create_omni_image",
    "create_video",
    "created",
    "query",
]

Route = Literal["text2video", "image2video", "omni-video", "image", "omni-image"]
PREFIX = "/transtreams/kling/v1"
#: Create path of each route; a task is polled on ``<create path>/{task_id}``. Written out here
#: rather than taken from the client's table, so a wrong client path fails against the emulator.
PATHS: dict[str, str] = {
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


VideoBody = Text2VideoBody | Image2VideoBody | OmniVideoBody
CreateBody = VideoBody | ImageBody | OmniImageBody
#: The body model of each create route.
BODIES: dict[str, type[CreateBody]] = {
    "text2video": Text2VideoBody,
    "image2video": Image2VideoBody,
    "omni-video": OmniVideoBody,
    "image": ImageBody,
    "omni-image": OmniImageBody,
}


def _ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


# -- creating -------------------------------------------------------------------------------------


def _create(call: Call, route: Route, body: CreateBody, data: dict[str, Any]) -> Task:
    call.backend.callback_builders.setdefault("kling", _callback_payloads)
    # Callback builders get only the task; the backend is needed to serve its assets.
    extra = {"external_task_id": getattr(body, "external_task_id", None), "_backend": call.backend}
    return new_task(
        call,
        family="kling",
        kind=route,
        stages=STAGES,
        failed=FAILED,
        body=body,
        data={**data, **extra},
        callback_url=body.callback_url,
    )


def created(task: Task) -> dict[str, Any]:
    """The answer to the create call that made ``task``."""
    return _ok(_task_data(task, STAGES[0], None))


def _reference(body: VideoBody) -> tuple[str, str] | None:
    """(field, value) of the image that gives the first frame its colour, if any."""
    if isinstance(body, Image2VideoBody):
        return "image", body.image
    if isinstance(body, OmniVideoBody) and body.image_list:
        images = body.image_list
        first = next((i for i, ref in enumerate(images) if ref.type == "first_frame"), 0)
        return f"image_list.{first}.image_url", images[first].image_url
    return None


def create_video(call: Call, route: Route, body: VideoBody) -> Task:
    """A text2video, image2video (``image`` is the first frame) or Omni video task."""
    check_model(body.model_name, "kling", output="video")
    low, high = (3, 15) if route == "omni-video" else (1, MAX_SECONDS)
    seconds = parse_seconds(body.duration, field="duration", low=low, high=high)
    if isinstance(body, Image2VideoBody) and body.image_tail is not None:
        image_ref(call.backend, body.image_tail, field="image_tail", raw_base64=True)
    reference = _reference(body)
    facts = None
    if reference is not None:
        facts = image_ref(call.backend, reference[1], field=reference[0], raw_base64=True)
    width, height = aspect_size(body.aspect_ratio, field="aspect_ratio")
    spec = body_clip(
        call.backend,
        body,
        (width, height),
        seconds,
        seed_parts=(
            body.model_name,
            body.prompt,
            body.negative_prompt,
            reference[1] if reference else None,
            body.aspect_ratio,
            seconds,
            getattr(body, "mode", None),
        ),
        reference=facts,
    )
    return _create(call, route, body, {"spec": spec})


def _image_plan(
    backend: Backend,
    body: ImageBody | OmniImageBody,
    *,
    n: Any,
    aspect: Any,
    resolution: Any,
    reference: str | None,
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
    parts = (body.model_name, body.prompt, aspect, resolution, reference)
    return [(seed_for(backend, *parts, i, color=color), width, height) for i in range(n)]


def create_image(call: Call, body: ImageBody) -> Task:
    """An image task (``kling-v2-1``): ``n`` PNGs at ``aspect_ratio`` and ``resolution``."""
    check_model(body.model_name, "kling", output="image")
    plan = _image_plan(
        call.backend,
        body,
        n=body.n or 1,
        aspect=body.aspect_ratio or "16:9",
        resolution=body.resolution or "1k",
        reference=body.image,
    )
    return _create(call, "image", body, {"images": plan})


def create_omni_image(call: Call, body: OmniImageBody) -> Task:
    """An Omni image task; reads ``n``, ``aspect_ratio``, ``resolution``, ``image_list``."""
    check_model(body.model_name, "kling", output="image")
    extra = body.model_extra or {}
    images = extra.get("image_list") or []
    first = images[0] if isinstance(images, list) and images else None
    reference = first.get("image_url") if isinstance(first, dict) else None
    if reference is not None and not isinstance(reference, str):
        raise EmulatorError(400, "image_list.0.image_url must be a string")
    plan = _image_plan(
        call.backend,
        body,
        n=extra.get("n", 1),
        aspect=extra.get("aspect_ratio", "16:9"),
        resolution=extra.get("resolution", "1k"),
        reference=reference,
    )
    return _create(call, "omni-image", body, {"images": plan})


def create(call: Call, route: Route, body: CreateBody) -> Task:
    """The task ``POST <create path of route>`` makes from ``body`` (that route's model)."""
    if isinstance(body, ImageBody):
        return create_image(call, body)
    if isinstance(body, OmniImageBody):
        return create_omni_image(call, body)
    return create_video(call, route, body)


# -- querying -------------------------------------------------------------------------------------


def _task_data(task: Task, status: str, result: dict[str, Any] | None) -> dict[str, Any]:
    external = task.data["external_task_id"]
    data: dict[str, Any] = {
        "task_id": task.id,
        "task_status": status,
        "task_status_msg": FAILURE_MESSAGE if status == FAILED else "",
        "task_info": {"external_task_id": external} if external else {},
        "created_at": _ms(task.data["wall"]),
        "updated_at": _ms(seen_at(task, status)),
    }
    if result is not None:
        data["task_result"] = result
    return data


def _videos(task: Task, url: str) -> dict[str, Any]:
    spec: VideoSpec = task.data["spec"]
    video_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kling-video:{task.id}"))
    return {"videos": [{"id": video_id, "url": url, "duration": f"{spec.duration:.3f}"}]}


def _images(backend: Backend, base: str, task: Task) -> dict[str, Any]:
    images = []
    for i, (seed, width, height) in enumerate(task.data["images"]):
        draw = functools.partial(png, width, height, seed=seed)
        key = f"kling-image:{task.id}:{i}"
        url = backend.serve(base, key, f"image-{i}.png", "image/png", draw)
        images.append({"index": i, "url": url})
    return {"images": images}


def _no_output(task: Task) -> dict[str, Any]:
    """``task_result`` of a ``task_no_output`` task: there, but with an empty list."""
    return {"images": []} if "images" in task.data else {"videos": []}


def _callback_payloads(task: Task, status: str) -> list[dict[str, Any]]:
    """What a ``callback_url`` receives when the task enters ``status``: the query's ``data``."""
    result = None
    if status == STAGES[-1]:
        backend: Backend = task.data["_backend"]
        if task.no_output:
            result = _no_output(task)
        elif "images" in task.data:
            result = _images(backend, task.base_url, task)
        else:
            data = video_bytes_now(task, task.data["spec"])
            key = f"video:{task.id}"
            url = backend.serve(task.base_url, key, "video.mp4", "video/mp4", lambda: data)
            result = _videos(task, url)
    return [_task_data(task, status, result)]


async def query(call: Call, route: Route, task_id: str) -> dict[str, Any]:
    """The answer to ``GET <create path of route>/{task_id}`` (counts as a poll).

    Raises:
        EmulatorError: 404 for an unknown task, or one created on another route.
    """
    task = call.backend.find_task(task_id, "kling")
    if task is None:
        raise EmulatorError(404, f"task {task_id!r} not found", code="task_not_found")
    if task.kind != route:
        raise EmulatorError(
            404,
            f"task {task_id!r} was created on {PATHS[task.kind]}; poll it there",
            code="task_not_found",
        )
    status = call.backend.status(task)
    result = None
    if status == STAGES[-1] and task.no_output:
        result = _no_output(task)
    elif status == STAGES[-1] and "images" in task.data:
        result = _images(call.backend, call.base_url, task)
    elif status == STAGES[-1]:
        url = await serve_video(call.backend, call.base_url, task, task.data["spec"])
        result = _videos(task, url)
    return _ok(_task_data(task, status, result))
