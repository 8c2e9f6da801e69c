"""What ``generate-image`` may ask of each route, and what it sends on the Kling task routes.

Four routes: ``gemini`` (``generateContent`` with IMAGE output, §9.4) and ``dashscope``
(multimodal generation, §10.1) are sync; ``kling`` (``kling.image``, §3 rows 26-27) and
``kling-omni`` (``kling.omni-image``, rows 28-29) are task routes (submit → wait → fetch).

The flow's parameters are one vocabulary (``size``, ``n``, ``seed``, ``negative_prompt``,
``images``); the rules here refuse, naming the parameter, whatever the chosen route or model
cannot take, before any paid call.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from anyint.types.models import RouteFamily
from tasks.generation import GEMINI_ASPECT_RATIOS, aspect_ratio
from tasks.images import ImageInput

__all__ = [
    "DASHSCOPE_FIXED_SIZES",
    "DASHSCOPE_SINGLE_IMAGE",
    "DEFAULT_MODELS",
    "FAMILIES",
    "KLING_ASPECT_RATIOS",
    "ImageOptions",
    "Route",
    "check_options",
    "check_size",
    "for_manifest",
    "gemini_aspect_ratio",
    "kling_request",
    "reference",
]

Route = Literal["gemini", "dashscope", "kling", "kling-omni"]
DEFAULT_MODELS: dict[str, str] = {
    "gemini": "gemini-3.1-flash-image-preview",
    "dashscope": "qwen-image-plus",
    "kling": "kling-v2-1",
    "kling-omni": "kling-v3-omni",
}
#: Catalogue family each route's model must serve.
FAMILIES: dict[Route, RouteFamily] = {
    "gemini": "gemini",
    "dashscope": "dashscope",
    "kling": "kling",
    "kling-omni": "kling",
}
#: The only sizes these DashScope models render (contract §10.1 [UP]); other models take any W*H.
DASHSCOPE_FIXED_SIZES: dict[str, tuple[str, ...]] = {
    model: ("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664")
    for model in ("qwen-image-plus", "qwen-image-max")
}
#: DashScope models that make one image per call (``n`` is 1 for them, §10.1 [UP]).
DASHSCOPE_SINGLE_IMAGE = frozenset({"qwen-image-plus", "qwen-image-max"})
#: Bounds of a free ``W*H`` on DashScope models without a fixed list.
SIDE_MIN, SIDE_MAX = 256, 2048
#: Aspect ratios of the Kling image routes (§10.4 [UP]).
KLING_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
#: Reference images each route takes (Kling v2.1 image takes one ``image``, §10.4).
MAX_REFERENCES: dict[Route, int] = {"gemini": 0, "dashscope": 4, "kling": 1, "kling-omni": 4}


@dataclass(frozen=True)
class ImageOptions:
    """What a run asks for, in the flow's own terms.

    Attributes:
        size: ``W*H`` pixels (dashscope) or an aspect ratio; None for the default.
        n: Number of images; None for the route's default (one).
        seed: DashScope random seed; None for a random one.
        negative_prompt: What to avoid; None for nothing.
        images: Reference images, loaded and checked.
    """

    size: str | None = None
    n: int | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    images: tuple[ImageInput, ...] = field(default_factory=tuple)


def _ratio_only(route: str, size: str, offered: tuple[str, ...]) -> str:
    """``size`` as an aspect ratio ``route`` offers, unchanged.

    These routes set only a ratio, never pixels, so ``W*H`` is refused rather than quietly
    sent as its ratio at whatever pixel size the provider picks.

    Raises:
        ValueError: Naming ``size`` and the aspect ratios the route takes.
    """
    if size in offered:
        return size
    ratio = aspect_ratio(size)
    who = "Gemini" if route == "gemini" else "Kling"
    fix = (
        f"; pass size={ratio!r} ({who} picks the pixels)"
        if ratio in offered
        else f" ({'' if ratio == size else f'{ratio}, '}not offered); pick one of those"
    )
    raise ValueError(
        f"parameter 'size': the {route} route takes only an aspect ratio, one of "
        f"{', '.join(offered)}; got {size}{fix}, or use route 'dashscope' for exact W*H pixels"
    )


def gemini_aspect_ratio(size: str) -> str:
    """``size`` as the Gemini route sends it (``imageConfig.aspectRatio``, §9.3).

    Raises:
        ValueError: Naming ``size`` and the aspect ratios the gemini route takes.
    """
    return _ratio_only("gemini", size, GEMINI_ASPECT_RATIOS)


def check_size(route: Route, size: str | None, model: str) -> None:
    """The cross-field rule of ``size``: what the chosen route and model can honour.

    Raises:
        ValueError: Naming ``size`` and what it may be.
    """
    if size is None:
        return
    if route == "gemini":
        gemini_aspect_ratio(size)
        return
    if route in ("kling", "kling-omni"):
        _ratio_only(route, size, KLING_ASPECT_RATIOS)
        return
    if ":" in size:
        raise ValueError(f"parameter 'size': the dashscope route takes pixels as W*H, got {size!r}")
    fixed = DASHSCOPE_FIXED_SIZES.get(model)
    if fixed is not None and size not in fixed:
        raise ValueError(f"parameter 'size': {model} renders only {', '.join(fixed)}; got {size}")
    if fixed is None and not all(SIDE_MIN <= int(side) <= SIDE_MAX for side in size.split("*")):
        raise ValueError(
            f"parameter 'size': sides must be {SIDE_MIN}..{SIDE_MAX} pixels, got {size}"
        )


def check_options(route: Route, model: str, options: ImageOptions) -> None:
    """The cross-field rules of ``n``, ``seed``, ``negative_prompt`` and ``images``.

    Raises:
        ValueError: Naming the parameter and the routes that take it.
    """
    check_size(route, options.size, model)
    omni = "omni" in model
    if (route == "kling-omni" and not omni) or (route == "kling" and omni):
        want = "kling-omni" if omni else "kling"
        raise ValueError(
            f"parameter 'model': {model} runs on route {want!r}, not {route!r} (kling: "
            f"{DEFAULT_MODELS['kling']}; kling-omni: Kling Omni models such as "
            f"{DEFAULT_MODELS['kling-omni']})"
        )
    if route == "gemini" and options.n is not None and options.n > 1:
        raise ValueError(
            "parameter 'n': the gemini route returns the images the model makes and takes no "
            "count; use route 'dashscope', 'kling' or 'kling-omni' for n > 1"
        )
    if route == "dashscope" and model in DASHSCOPE_SINGLE_IMAGE and (options.n or 1) > 1:
        raise ValueError(f"parameter 'n': {model} makes one image per call (n=1); got {options.n}")
    if options.seed is not None and route != "dashscope":
        raise ValueError(
            f"parameter 'seed': only the dashscope route takes a seed, not {route}; "
            "leave seed empty"
        )
    if options.negative_prompt is not None and route == "gemini":
        raise ValueError(
            "parameter 'negative_prompt': the gemini route has none; say what to avoid in "
            "the prompt, or use route 'dashscope', 'kling' or 'kling-omni'"
        )
    most = MAX_REFERENCES[route]
    if len(options.images) > most:
        takes = "no reference images" if most == 0 else f"at most {most} reference image(s)"
        raise ValueError(
            f"parameter 'images': the {route} route takes {takes}, got {len(options.images)}"
            + ("; use route 'dashscope', 'kling' or 'kling-omni'" if most == 0 else "")
        )


def reference(image: ImageInput, *, raw: bool) -> str:
    """A reference image as a route takes it: its URL, else raw base64 (Kling) or a data URL."""
    if image.url is not None:
        return image.url
    data = base64.b64encode(image.data or b"").decode()
    return data if raw else f"data:{image.media_type};base64,{data}"


def kling_request(
    route: Route, model: str, prompt: str, options: ImageOptions
) -> tuple[str, dict[str, Any]]:
    """The registry route name and request body of a Kling image task.

    Returns:
        ``("kling.image" | "kling.omni-image", body)``.
    """
    body: dict[str, Any] = {"model_name": model, "prompt": prompt}
    if options.size is not None:
        body["aspect_ratio"] = options.size
    if options.n is not None:
        body["n"] = options.n
    if options.negative_prompt is not None:
        body["negative_prompt"] = options.negative_prompt
    refs = [reference(image, raw=True) for image in options.images]
    if route == "kling":
        if refs:
            body["image"] = refs[0]
        return "kling.image", body
    if refs:
        body["image_list"] = [{"image_url": ref} for ref in refs]
    return "kling.omni-image", body


def for_manifest(body: dict[str, Any]) -> dict[str, Any]:
    """The Kling request as recorded: an inline reference becomes its size and digest."""

    def shown(value: str) -> str:
        if value.startswith(("https://", "http://")):
            return value
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        return f"<inline image, {len(value)} chars, sha256 {digest}>"

    recorded = dict(body)
    if "image" in recorded:
        recorded["image"] = shown(recorded["image"])
    if "image_list" in recorded:
        recorded["image_list"] = [{"image_url": shown(r["image_url"])} for r in body["image_list"]]
    return recorded
