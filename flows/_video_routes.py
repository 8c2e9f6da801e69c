"""What ``generate-video`` sends on each of its routes, and the rules it holds a run to first.

Four routes, all task-based (§3 rows 16, 24, 30-35):

- ``dashscope``: ``dashscope.video-synthesis`` (Wan; §10.2),
- ``kling``: ``kling.text2video`` / ``kling.image2video`` (Kling Std/Pro; §10.4),
- ``kling-omni``: ``kling.omni-video`` (Kling V3 Omni; §10.4),
- ``openai``: ``videos.create``, the OpenAI-style ``/openai/v1/videos`` route (§10.5).

The flow's parameters are one vocabulary (``aspect_ratio``, ``mode``, ``audio``, ``image``); this
module turns them into each route's own fields, and refuses, naming the parameter, what a route
cannot take, so nothing reaches a paid call that the route would refuse or silently ignore.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from anyint.types.models import RouteFamily
from tasks.images import ImageInput

__all__ = [
    "DASHSCOPE_SIZES",
    "DEFAULT_MODELS",
    "FAMILIES",
    "AspectRatio",
    "Mode",
    "Route",
    "VideoOptions",
    "check_options",
    "default_model",
    "for_manifest",
    "request_error",
    "video_request",
]

Route = Literal["dashscope", "kling", "kling-omni", "openai"]
AspectRatio = Literal["16:9", "9:16", "1:1"]
Mode = Literal["std", "pro"]

#: Each route's default model; DashScope has separate text- and image-to-video models.
DEFAULT_MODELS: dict[Route, str] = {
    "dashscope": "wan2.6-t2v",
    "kling": "kling-v3",
    "kling-omni": "kling-v3-omni",
    "openai": "kling-3.0",
}
_DASHSCOPE_I2V = "wan2.6-i2v"
#: Catalogue family each route's model must serve (the OpenAI-style route is ``videos``).
FAMILIES: dict[Route, RouteFamily] = {
    "dashscope": "dashscope",
    "kling": "kling",
    "kling-omni": "kling",
    "openai": "videos",
}
#: DashScope text-to-video takes a frame size, not a ratio: Wan's 720P size of each ratio ([UP]).
DASHSCOPE_SIZES: dict[str, str] = {"16:9": "1280*720", "9:16": "720*1280", "1:1": "960*960"}
#: Kling Omni clips are 3..15 seconds (§10.4).
OMNI_SECONDS = (3, 15)
#: The request field behind each flow parameter, for naming it in a route's validation error.
_PARAMETER_OF = {
    "prompt": "prompt",
    "duration": "duration",
    "image": "image",
    "img_url": "image",
    "image_list": "image",
    "input_reference": "image",
    "aspect_ratio": "aspect_ratio",
    "size": "aspect_ratio",
    "mode": "mode",
    "sound": "audio",
    "generate_audio": "audio",
    "audio": "audio",
    "model": "model",
    "model_name": "model",
}


@dataclass(frozen=True)
class VideoOptions:
    """What a run asks for, in the flow's own terms.

    Attributes:
        prompt: What the video shows.
        duration: Seconds.
        image: The first frame, loaded and checked, or None.
        aspect_ratio: ``16:9``, ``9:16`` or ``1:1``; None for the route's default.
        mode: ``std`` or ``pro`` (Kling); None for the route's default.
        audio: Generate a soundtrack; None for the route's default.
    """

    prompt: str
    duration: int
    image: ImageInput | None = None
    aspect_ratio: str | None = None
    mode: str | None = None
    audio: bool | None = None


def default_model(route: Route, with_image: bool) -> str:
    """The route's default model (DashScope has separate text- and image-to-video models)."""
    if route == "dashscope" and with_image:
        return _DASHSCOPE_I2V
    return DEFAULT_MODELS[route]


def check_options(route: Route, model: str, options: VideoOptions) -> None:
    """The cross-field rules: what ``route`` and ``model`` can honour of ``options``.

    Raises:
        ValueError: Naming the parameter and what it may be on this route.
    """
    omni = "omni" in model
    if route == "kling-omni" and not omni:
        raise ValueError(
            f"parameter 'model': the kling-omni route runs Kling Omni models "
            f"({DEFAULT_MODELS['kling-omni']}), not {model}; use route 'kling' for it"
        )
    if route == "kling" and omni:
        raise ValueError(
            f"parameter 'model': {model} is a Kling Omni model; use route 'kling-omni' for it "
            f"(the kling route runs Std/Pro models such as {DEFAULT_MODELS['kling']})"
        )
    if route == "dashscope" and options.mode is not None:
        raise ValueError(
            "parameter 'mode': std/pro is a Kling option; the dashscope route has none "
            "(leave mode empty, or use route 'kling', 'kling-omni' or 'openai')"
        )
    if options.image is not None and options.aspect_ratio is not None:
        raise ValueError(
            "parameter 'aspect_ratio': with an image, the first frame sets the shape; "
            "leave aspect_ratio empty"
        )
    low, high = OMNI_SECONDS
    if route == "kling-omni" and not low <= options.duration <= high:
        raise ValueError(
            f"parameter 'duration': Kling Omni clips are {low}..{high} seconds, "
            f"got {options.duration}"
        )


def _inline(image: ImageInput, *, raw: bool) -> str:
    """An image as the route takes it: its URL, else raw base64 (Kling) or a data URL."""
    if image.url is not None:
        return image.url
    data = base64.b64encode(image.data or b"").decode()
    return data if raw else f"data:{image.media_type};base64,{data}"


def _dashscope(model: str, o: VideoOptions) -> tuple[str, dict[str, Any]]:
    inputs: dict[str, Any] = {"prompt": o.prompt}
    if o.image is not None:
        inputs["img_url"] = _inline(o.image, raw=False)
    parameters: dict[str, Any] = {"duration": o.duration}
    if o.aspect_ratio is not None:
        parameters["size"] = DASHSCOPE_SIZES[o.aspect_ratio]
    if o.audio is not None:
        parameters["audio"] = o.audio
    body = {"model": model, "input": inputs, "parameters": parameters}
    return "dashscope.video-synthesis", body


def _kling_common(model: str, o: VideoOptions) -> dict[str, Any]:
    body: dict[str, Any] = {"model_name": model, "prompt": o.prompt, "duration": str(o.duration)}
    if o.aspect_ratio is not None:
        body["aspect_ratio"] = o.aspect_ratio
    if o.audio is not None:
        body["sound"] = "on" if o.audio else "off"
    return body


def _kling(model: str, o: VideoOptions) -> tuple[str, dict[str, Any]]:
    # `mode` is a field of the Std/Pro routes (§10.4 table): sent, defaulting to Standard.
    body = {**_kling_common(model, o), "mode": o.mode or "std"}
    if o.image is None:
        return "kling.text2video", body
    return "kling.image2video", {**body, "image": _inline(o.image, raw=True)}


def _kling_omni(model: str, o: VideoOptions) -> tuple[str, dict[str, Any]]:
    body = _kling_common(model, o)
    if o.mode is not None:
        body["mode"] = o.mode
    if o.image is not None:
        body["image_list"] = [{"image_url": _inline(o.image, raw=True), "type": "first_frame"}]
    return "kling.omni-video", body


def _openai(model: str, o: VideoOptions) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"model": model, "prompt": o.prompt, "duration": o.duration}
    if o.aspect_ratio is not None:
        body["aspect_ratio"] = o.aspect_ratio
    if o.mode is not None:
        body["mode"] = o.mode
    if o.audio is not None:
        body["generate_audio"] = o.audio
    if o.image is not None and o.image.url is not None:
        body["image"] = o.image.url  # `image` takes only a public URL (§10.5)
    elif o.image is not None:
        body["input_reference"] = _inline(o.image, raw=False)  # inline images go here
    return "videos.create", body


_BUILDERS = {"dashscope": _dashscope, "kling": _kling, "kling-omni": _kling_omni, "openai": _openai}


def video_request(route: Route, model: str, options: VideoOptions) -> tuple[str, dict[str, Any]]:
    """The registry route name and request body of one video create.

    Returns:
        ``(route name, body)``, e.g. ``("kling.image2video", {"model_name": ...})``.
    """
    return _BUILDERS[route](model, options)


def request_error(exc: ValidationError, route_name: str) -> ValueError:
    """A route's validation error as the flow's: each problem names the flow parameter."""
    parts = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        named = next((_PARAMETER_OF[str(p)] for p in error["loc"] if str(p) in _PARAMETER_OF), None)
        if named is None:
            named = next((v for k, v in _PARAMETER_OF.items() if message.startswith(k)), None)
        where = f"parameter {named!r}" if named else f"request for {route_name}"
        parts.append(f"{where}: {message} ({route_name})")
    return ValueError("; ".join(parts))


def for_manifest(body: dict[str, Any]) -> dict[str, Any]:
    """The request as recorded: an inline first frame becomes its size and digest."""

    def shown(value: Any) -> Any:
        if isinstance(value, str) and not value.startswith(("https://", "http://")):
            digest = hashlib.sha256(value.encode()).hexdigest()[:16]
            return f"<inline image, {len(value)} chars, sha256 {digest}>"
        return value

    recorded = dict(body)
    if "input" in recorded:
        recorded["input"] = {
            k: shown(v) if k == "img_url" else v for k, v in recorded["input"].items()
        }
    for key in ("image", "input_reference"):
        if key in recorded:
            recorded[key] = shown(recorded[key])
    if "image_list" in recorded:
        recorded["image_list"] = [
            {**ref, "image_url": shown(ref["image_url"])} for ref in recorded["image_list"]
        ]
    return recorded
