"""The built-in tools of the ``assistant`` flow: the toolkit's media flows, as functions a model
can call (``builtin:<name>`` in its ``tools`` parameter).

Each one runs its flow as a subflow, with the arguments the model gave and the assistant run's
gateway, store and waiting budget, so its media is stored (and its manifest written) exactly as
a run of that flow would store it. The subflow's ``idempotency_key`` is derived from the
assistant run's intent, the tool and its arguments: a retry or resume of the assistant run hands
back what an earlier attempt of the same call made instead of paying for it again, while a new
assistant run makes new media. The model gets a short summary back (what was stored, and the
subflow's manifest key), not the whole flow result.

Kept small on purpose; each exposes only the parameters a model can sensibly choose:

- ``generate_image``: prompt, route, size (the ``generate-image`` flow);
- ``generate_video``: prompt, route, duration, image (the ``generate-video`` flow);
- ``music_video``: prompt, style, title, instrumental, video (the ``music-video`` flow).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import BaseModel, Field

from anyint.records import canonical_json
from tasks.tools import ToolContext

# Imported by name: the package binds each flow's module name to the flow itself.
from .generate_image import Prompt as ImagePrompt
from .generate_image import RouteField as ImageRoute
from .generate_image import Size as ImageSize
from .generate_image import generate_image as image_flow
from .generate_video import Duration as VideoDuration
from .generate_video import Image as VideoImage
from .generate_video import Prompt as VideoPrompt
from .generate_video import RouteField as VideoRoute
from .generate_video import generate_video as video_flow
from .music_video import music_video as music_flow

__all__ = ["BUILTINS", "generate_image", "generate_video", "music_video"]

#: ``builtin:<name>`` → the import path :func:`tasks.tools.resolve_tool` declares and calls.
BUILTINS: dict[str, str] = {
    f"builtin:{name}": f"{__name__}:{name}"
    for name in ("generate_image", "generate_video", "music_video")
}


def _run_options(
    context: ToolContext | None, tool: str, arguments: dict[str, Any], *, waits: bool
) -> dict[str, Any]:
    """The subflow's gateway, store, budget and idempotency key, from the assistant run."""
    ctx = context or ToolContext()
    what = canonical_json({"intent": ctx.intent, "tool": tool, "arguments": arguments})
    options: dict[str, Any] = {
        "credentials_block": ctx.credentials_block,
        "store_block": ctx.store_block,
        "idempotency_key": f"assistant-{hashlib.sha256(what.encode()).hexdigest()[:32]}",
    }
    if waits:
        options |= {"deadline_seconds": ctx.deadline_seconds, "poll_interval": ctx.poll_interval}
    return options


def _assets(value: Any) -> list[dict[str, Any]]:
    """Every stored asset record anywhere in a flow result, shortened for the model."""
    if isinstance(value, dict):
        if {"key", "sha256", "uri", "kind"} <= value.keys():
            return [{k: value[k] for k in ("kind", "key", "uri", "bytes", "content_type")}]
        return [a for v in value.values() for a in _assets(v)]
    if isinstance(value, list):
        return [a for v in value for a in _assets(v)]
    return []


def _summary(flow: str, result: BaseModel) -> dict[str, Any]:
    """What the model hears back: the flow, its headline fields and the stored assets."""
    data = result.model_dump(mode="json")
    head: dict[str, Any] = {
        k: data[k] for k in ("title", "model", "route", "task_id", "reused") if k in data
    }
    return {"flow": flow, **head, "manifest_key": data["manifest_key"], "assets": _assets(data)}


async def generate_image(
    prompt: ImagePrompt,
    route: ImageRoute = "gemini",
    size: ImageSize = None,
    context: ToolContext | None = None,
) -> dict[str, Any]:
    """Make an image from a text prompt and store it (the generate-image flow).

    Args:
        prompt: What the image shows, in detail.
        route: Which image service draws it.
        size: An aspect ratio such as 16:9 (gemini) or W*H pixels (dashscope); empty for the
            default.
        context: The assistant run (filled in, never declared).
    """
    arguments: dict[str, Any] = {"prompt": prompt, "route": route, "size": size}
    options = _run_options(context, "generate_image", arguments, waits=False)
    result = await image_flow(**arguments, **options)
    return _summary("generate-image", result)


async def generate_video(
    prompt: VideoPrompt,
    route: VideoRoute = "dashscope",
    duration: VideoDuration = 5,
    image: VideoImage = None,
    context: ToolContext | None = None,
) -> dict[str, Any]:
    """Make a short video from a text prompt, optionally from a first frame, and store it.

    Args:
        prompt: What happens in the video, with camera movement.
        route: Which video service renders it.
        duration: Length in seconds.
        image: First frame: an https URL or a path the run may read; empty for none.
        context: The assistant run (filled in, never declared).
    """
    arguments: dict[str, Any] = {
        "prompt": prompt,
        "route": route,
        "duration": duration,
        "image": image,
    }
    options = _run_options(context, "generate_video", arguments, waits=True)
    result = await video_flow(**arguments, **options)
    return _summary("generate-video", result)


async def music_video(
    prompt: Annotated[str, Field(min_length=1, max_length=3000)],
    style: Annotated[str, Field(min_length=1, max_length=1000)] = "synth-pop, bright",
    title: Annotated[str | None, Field(max_length=80)] = None,
    instrumental: bool = False,
    video: bool = True,
    context: ToolContext | None = None,
) -> dict[str, Any]:
    """Write and sing a song (lyrics, track, stems, WAV, cover art), optionally with a video.

    Args:
        prompt: What the song is about; its lyrics are written from it.
        style: Musical style, e.g. "lo-fi jazz, mellow piano".
        title: Song title; empty derives one from the prompt.
        instrumental: No vocals.
        video: Also make a music video of the song.
        context: The assistant run (filled in, never declared).
    """
    arguments: dict[str, Any] = {
        "prompt": prompt,
        "style": style,
        "title": title,
        "instrumental": instrumental,
        "music_video": video,
    }
    options = _run_options(context, "music_video", arguments, waits=True)
    result = await music_flow(**arguments, **options)
    return _summary("music-video", result)
