"""DashScope behaviour (contract §10.1-10.3): sync images, video-synthesis tasks, task records.

Bodies are the emulator's own lenient models (unknown fields are kept): the official ``dashscope``
SDK sends fields and shapes our strict client models reject (``input.extend_prompt``, string
message contents, ``parameters.ratio``).
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from anyint.types.dashscope import SEED_MAX, SIZE_PATTERN

from ..backend import Task
from ..calls import Call
from ..catalogue import check_model
from ..errors import EmulatorError
from ..media import MAX_IMAGE_SIDE, png
from .jobs import FAILURE_MESSAGE, new_task, seen_at, serve_video
from .specs import MAX_SECONDS, VideoSpec, aspect_size, clip, image_ref, parse_size, seed_for

__all__ = [
    "ImageRequest",
    "VideoRequest",
    "create_video",
    "created",
    "generate_image",
    "task_record",
]

DEFAULT_IMAGE_SIZE = "1328*1328"
MAX_IMAGES = 4
STAGES = ("PENDING", "RUNNING", "SUCCEEDED")
FAILED = "FAILED"
#: Rendered frame (small, 16:9) and reported ``SR`` per ``resolution``.
RESOLUTIONS = {"480P": (180, 480), "720P": (216, 720), "1080P": (270, 1080)}
DEFAULT_RESOLUTION = "480P"

_Size = Annotated[str, Field(pattern=SIZE_PATTERN)]
_Seed = Annotated[StrictInt, Field(ge=0, le=SEED_MAX)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Parameters(_Lenient):
    """``parameters`` both request kinds share (upstream names; unknown ones are ignored)."""

    size: _Size | None = None
    seed: _Seed | None = None
    prompt_extend: StrictBool | None = None
    watermark: StrictBool | None = None


# -- image generation -----------------------------------------------------------------------------


class ImageMessage(_Lenient):
    """One ``input.messages[]`` entry: blocks ``{"text"}`` / ``{"image"}`` or a plain string."""

    role: str = "user"
    content: str | list[dict[str, Any]]


class ImageInput(_Lenient):
    """``input`` of an image request."""

    messages: list[ImageMessage] = Field(min_length=1)


class ImageParameters(_Parameters):
    """``parameters`` of an image request."""

    n: Annotated[StrictInt, Field(ge=1, le=MAX_IMAGES)] | None = None
    negative_prompt: Annotated[str, Field(max_length=500)] | None = None


class ImageRequest(_Lenient):
    """Body of ``POST .../multimodal-generation/generation``."""

    model: Annotated[str, Field(min_length=1)]
    input: ImageInput
    parameters: ImageParameters | None = None


def _prompt_and_images(messages: list[ImageMessage]) -> tuple[str, list[str]]:
    texts: list[str] = []
    images: list[str] = []
    for i, message in enumerate(messages):
        if message.role != "user":
            continue
        if isinstance(message.content, str):
            texts.append(message.content)
            continue
        for j, block in enumerate(message.content):
            text, image = block.get("text"), block.get("image")
            if isinstance(text, str):
                texts.append(text)
            elif isinstance(image, str):
                images.append(image)
            else:
                raise EmulatorError(
                    400,
                    f"input.messages.{i}.content.{j} must be {{'text': str}} or {{'image': str}}",
                )
    prompt = " ".join(t.strip() for t in texts if t.strip())
    if not prompt:
        raise EmulatorError(400, "input.messages needs a user text block holding the prompt")
    return prompt, images


def generate_image(call: Call, body: ImageRequest) -> dict[str, Any]:
    """Synchronous image generation: real PNGs at ``parameters.size`` (default 1328*1328)."""
    backend = call.backend
    entry = check_model(body.model, "dashscope", output="image")
    prompt, images = _prompt_and_images(body.input.messages)
    if images and "image" not in entry.capabilities["dashscope"][0]:
        raise EmulatorError(400, f"model {body.model!r} takes no input images")
    color = None
    for ref in images:
        facts = image_ref(backend, ref, field="input.messages[].content[].image", raw_base64=False)
        color = color or (facts.color_name if facts else None)
    params = body.parameters or ImageParameters()
    size = params.size or DEFAULT_IMAGE_SIZE
    width, height = (int(x) for x in size.split("*"))
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise EmulatorError(400, f"parameters.size sides must be at most {MAX_IMAGE_SIDE}")
    n = params.n or 1
    urls = []
    for i in range(n):
        seed = seed_for(backend, body.model, prompt, size, params.seed, images, i, color=color)
        # Same request, same picture: the key is the seed, so the bytes are drawn once.
        draw = functools.partial(png, width, height, seed=seed, text=prompt)
        key = f"dashscope-image:{seed}:{size}"
        urls.append(backend.serve(call.base_url, key, f"image-{i}.png", "image/png", draw))
    choice = {
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": [{"image": u} for u in urls]},
    }
    return {
        "output": {"choices": [choice]},
        "usage": {"width": width, "height": height, "image_count": n},
        "request_id": str(uuid.uuid4()),
    }


# -- video synthesis ------------------------------------------------------------------------------


class VideoInput(_Lenient):
    """``input`` of a video-synthesis request."""

    prompt: str | None = None
    img_url: str | None = None
    first_frame_url: str | None = None
    audio_url: str | None = None
    negative_prompt: Annotated[str, Field(max_length=500)] | None = None
    media: list[dict[str, Any]] | None = None


class VideoParameters(_Parameters):
    """``parameters`` of a video-synthesis request."""

    resolution: str | None = None
    ratio: str | None = None
    duration: Annotated[StrictInt, Field(ge=1, le=MAX_SECONDS)] | None = None
    audio: StrictBool | None = None
    shot_type: str | None = None


class VideoRequest(_Lenient):
    """Body of ``POST .../video-generation/video-synthesis``."""

    model: Annotated[str, Field(min_length=1)]
    input: VideoInput
    parameters: VideoParameters | None = None


def _first_image(inp: VideoInput) -> tuple[str, str] | None:
    """(field, value) of the first-frame image, from whichever field the model uses."""
    if inp.img_url:
        return "input.img_url", inp.img_url
    if inp.first_frame_url:
        return "input.first_frame_url", inp.first_frame_url
    for i, item in enumerate(inp.media or []):
        url = item.get("url")
        if isinstance(url, str) and item.get("type") in (None, "first_frame", "image", "img_url"):
            return f"input.media.{i}.url", url
    return None


def _frame(params: VideoParameters) -> tuple[int, int, int]:
    """Rendered width and height, and the ``SR`` usage value."""
    if params.size:
        width, height = parse_size(params.size, sep="*", field="parameters.size")
        return width, height, min(width, height)
    resolution = (params.resolution or DEFAULT_RESOLUTION).upper()
    if resolution not in RESOLUTIONS:
        raise EmulatorError(
            400, f"parameters.resolution must be one of {sorted(RESOLUTIONS)}, got {resolution!r}"
        )
    short, sr = RESOLUTIONS[resolution]
    width, height = aspect_size(params.ratio, field="parameters.ratio", short=short)
    return width, height, sr


def _check_video_inputs(body: VideoRequest, first: tuple[str, str] | None) -> str | None:
    """The prompt, once the inputs suit the model (an i2v model needs its first frame)."""
    entry = check_model(body.model, "dashscope", output="video")
    takes_image = "image" in entry.capabilities["dashscope"][0]
    prompt = (body.input.prompt or "").strip() or None
    if first is not None and not takes_image:
        raise EmulatorError(
            400, f"model {body.model!r} is text-to-video and takes no input image ({first[0]})"
        )
    # Image-to-video models (wan2.6-i2v, *kf2v*) animate a first frame; they cannot run without.
    needs_image = "i2v" in body.model or "kf2v" in body.model
    if first is None and needs_image and body.input.media is None:
        raise EmulatorError(400, f"model {body.model!r} needs input.img_url (the first frame)")
    if prompt is None and first is None:
        raise EmulatorError(400, "input.prompt is required for text-to-video")
    if body.input.audio_url and not body.input.audio_url.startswith(("http://", "https://")):
        raise EmulatorError(400, "input.audio_url must be an http(s) URL")
    return prompt


def create_video(call: Call, body: VideoRequest) -> Task:
    """Create a video task; works with or without ``X-DashScope-Async: enable``."""
    first = _first_image(body.input)
    prompt = _check_video_inputs(body, first)
    backend = call.backend
    facts = image_ref(backend, first[1], field=first[0], raw_base64=False) if first else None
    params = body.parameters or VideoParameters()
    width, height, sr = _frame(params)
    seconds = params.duration or 5
    reference = first[1] if first else None
    spec = clip(
        backend,
        (width, height),
        seconds,
        text=prompt,
        audio=bool(params.audio),
        seed_parts=(body.model, prompt, reference, width, height, seconds, params.seed),
        reference=facts,
    )
    data = {"spec": spec, "sr": sr, "prompt": prompt}
    return new_task(
        call, family="dashscope", kind="video", stages=STAGES, failed=FAILED, body=body, data=data
    )


def created(task: Task) -> dict[str, Any]:
    """The answer to the create call that made ``task``."""
    return {
        "output": {"task_id": task.id, "task_status": STAGES[0]},
        "request_id": str(uuid.uuid4()),
    }


# -- task query -----------------------------------------------------------------------------------


def _stamp(seconds: float) -> str:
    """DashScope's ``2025-09-25 11:07:28.590`` (local time, milliseconds)."""
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _actual_prompt(task: Task, prompt: str) -> str:
    # Upstream rewrites the prompt unless prompt_extend is false; show that it happened.
    params = task.body.get("parameters") or {}
    if params.get("prompt_extend") is False or task.body["input"].get("extend_prompt") is False:
        return prompt
    return f"{prompt}. Cinematic lighting, smooth camera motion, rich detail."


def _finished(task: Task, status: str, output: dict[str, Any]) -> None:
    """The times and prompts of a finished task, and the failure of a failed one."""
    end = seen_at(task, status)
    output["scheduled_time"] = _stamp(task.data["_seen"].get(STAGES[1], end))
    output["end_time"] = _stamp(end)
    prompt = task.data["prompt"]
    if prompt:
        output["orig_prompt"] = prompt
        output["actual_prompt"] = _actual_prompt(task, prompt)
    if status == FAILED:
        output["code"] = "InternalError"
        output["message"] = FAILURE_MESSAGE


async def task_record(call: Call, task_id: str) -> dict[str, Any]:
    """A task's query answer; an unknown (or expired) id is ``UNKNOWN`` with HTTP 200."""
    backend = call.backend
    task = backend.find_task(task_id, "dashscope")
    request_id = str(uuid.uuid4())
    if task is None:
        return {"request_id": request_id, "output": {"task_id": task_id, "task_status": "UNKNOWN"}}
    status = backend.status(task)
    output: dict[str, Any] = {
        "task_id": task.id,
        "task_status": status,
        "submit_time": _stamp(seen_at(task, STAGES[0])),
    }
    answer: dict[str, Any] = {"request_id": request_id, "output": output}
    if status in (STAGES[0], STAGES[1]):
        if status == STAGES[1]:
            output["scheduled_time"] = _stamp(seen_at(task, STAGES[1]))
        return answer
    _finished(task, status, output)
    if status == FAILED:
        return answer
    spec: VideoSpec = task.data["spec"]
    if not task.no_output:  # a task_no_output fault: SUCCEEDED, yet no video_url
        output["video_url"] = await serve_video(backend, call.base_url, task, spec)
    answer["usage"] = {"duration": int(spec.seconds), "video_count": 1, "SR": task.data["sr"]}
    task.data["usage"] = answer["usage"]  # what the task reports, for ``GET /_emulator/tasks``
    return answer
