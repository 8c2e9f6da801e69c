"""Flow ``generate-video``: text (or a first frame) to video, kept in the asset store.

Routes: ``dashscope`` (``dashscope.video-synthesis``; ``wan2.6-t2v``, or ``wan2.6-i2v`` with an
image) or ``kling`` (``kling.text2video`` / ``kling.image2video``; ``kling-v3``). Both are
task-based: submit (recorded before it is sent, never paid twice) → wait (polls with backoff
and a deadline) → fetch (streams the MP4 into the store).

Needs: an ``AnyIntCredentials`` block (``credentials_block``) or ``ANYINT_API_KEY`` /
``ANYINT_BASE_URL``, and an ``AssetStore`` block (``store_block``) or ``ANYINT_STORE`` (default
``./output``). ``ANYINT_CALLBACK_URL`` (optional) lets the gateway's Kling callback end the wait
early. A local ``image`` path is read only inside ``ANYINT_INPUT_DIR`` (default: the working
directory). Writes ``assets/<route>/<task_id>/video*.mp4`` and ``runs/<flow_run_id>/manifest.json``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Any, Literal

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flows._common import (
    ModelNeed,
    check_models,
    gateway_for,
    parse_parameters,
    publish_assets,
    use_gateway,
)
from tasks import AssetRecord, SubmittedTask, current_gateway, fetch, submit, wait
from tasks.assets import run_prefix
from tasks.images import ImageInput, check_image_urls, load_image
from tasks.routes import route as route_spec

__all__ = ["DURATION_MAX", "VideoResult", "default_model", "video_request"]

Route = Literal["dashscope", "kling"]
PROMPT_MAX = 2500
DURATION_MIN, DURATION_MAX = 1, 15

Prompt = Annotated[
    str, Field(min_length=1, max_length=PROMPT_MAX, description="What the video shows.")
]
Model = Annotated[
    str | None,
    Field(
        max_length=200,
        description=(
            "Model id; empty picks the route's default (dashscope: wan2.6-t2v, or wan2.6-i2v "
            "with an image; kling: kling-v3)."
        ),
    ),
]
RouteField = Annotated[Route, Field(description="dashscope (Wan) or kling (Kling native).")]
Image = Annotated[
    str | None,
    Field(
        description=(
            "First frame (optional): an https URL, a data:image/...;base64 URL, or a path inside "
            "ANYINT_INPUT_DIR. PNG, JPEG, GIF or WebP, up to 5 MB inline."
        )
    ),
]
Duration = Annotated[
    int,
    Field(
        ge=DURATION_MIN,
        le=DURATION_MAX,
        description="Length in seconds (the model may allow only some values, e.g. 5 or 10).",
    ),
]
MaxWait = Annotated[
    int, Field(ge=1, le=240, description="Give up waiting after this many minutes.")
]
ForceNew = Annotated[
    bool,
    Field(description="Submit again even if an earlier run submitted this exact request."),
]
BlockName = Annotated[
    str | None, Field(description="Name of a saved block; empty uses the environment.")
]


class VideoParams(BaseModel):
    """The flow's parameters, checked together before any call."""

    model_config = ConfigDict(extra="forbid")

    prompt: Prompt
    model: Model
    route: Route
    image: Image
    duration: Duration
    max_wait_minutes: MaxWait
    force_new: bool
    credentials_block: BlockName = None
    store_block: BlockName = None

    @model_validator(mode="after")
    def _not_blank(self) -> VideoParams:
        if not self.prompt.strip():
            raise ValueError("parameter 'prompt': must not be blank")
        return self


class VideoResult(BaseModel):
    """What ``generate-video`` returns.

    Attributes:
        route: Gateway route used (``kling.image2video`` ...).
        model: Model used.
        task_id: Gateway task id (keep it: the task can be looked up or fetched again).
        videos: The stored MP4(s).
        manifest_key: This run's manifest in the asset store.
        reused: True when an earlier run's task was handed back (nothing was paid).
    """

    route: str
    model: str
    task_id: str
    videos: list[AssetRecord]
    manifest_key: str
    reused: bool = False


def default_model(route: Route, with_image: bool) -> str:
    """The route's default model (DashScope has separate text- and image-to-video models)."""
    if route == "kling":
        return "kling-v3"
    return "wan2.6-i2v" if with_image else "wan2.6-t2v"


def _image_value(route: Route, image: ImageInput) -> str:
    """Kling takes a URL or raw base64; DashScope a URL or a data URL."""
    if image.url is not None:
        return image.url
    data = base64.b64encode(image.data or b"").decode()
    return data if route == "kling" else f"data:{image.media_type};base64,{data}"


def video_request(
    route: Route, model: str, prompt: str, duration: int, image: ImageInput | None
) -> tuple[str, dict[str, Any]]:
    """The registry route name and request body of one video create.

    Returns:
        ``(route name, body)``, e.g. ``("kling.image2video", {"model_name": ...})``.
    """
    if route == "kling":
        body: dict[str, Any] = {"model_name": model, "prompt": prompt, "duration": str(duration)}
        if image is None:
            return "kling.text2video", body
        return "kling.image2video", {**body, "image": _image_value(route, image)}
    inputs: dict[str, Any] = {"prompt": prompt}
    if image is not None:
        inputs["img_url"] = _image_value(route, image)
    return "dashscope.video-synthesis", {
        "model": model,
        "input": inputs,
        "parameters": {"duration": duration},
    }


def _for_manifest(body: dict[str, Any]) -> dict[str, Any]:
    """The request as recorded: an inline first frame becomes its size and digest."""
    recorded = {**body, "input": dict(body["input"])} if "input" in body else dict(body)
    holder = recorded["input"] if "input" in recorded else recorded
    for key in ("img_url", "image"):
        value = holder.get(key)
        if isinstance(value, str) and not value.startswith(("https://", "http://")):
            digest = hashlib.sha256(value.encode()).hexdigest()[:16]
            holder[key] = f"<inline image, {len(value)} base64 chars, sha256 {digest}>"
    return recorded


@flow(
    name="generate-video",
    description="Generate a video on the DashScope or Kling route and store the MP4.",
    validate_parameters=False,  # parse_parameters raises one ValueError naming the parameter
)
async def generate_video(
    prompt: Prompt = "A paper boat drifting down a rainy street, slow camera pan.",
    model: Model = None,
    route: RouteField = "dashscope",
    image: Image = None,
    duration: Duration = 5,
    max_wait_minutes: MaxWait = 30,
    force_new: ForceNew = False,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
) -> VideoResult:
    """Generate a video for ``prompt`` (optionally from a first frame) and store it.

    Args:
        prompt: What the video shows.
        model: Model id; None picks the route's default.
        route: ``dashscope`` or ``kling``.
        image: First frame: https URL, data URL or local path.
        duration: Seconds.
        max_wait_minutes: Wait deadline; the task id is kept on the timeout error.
        force_new: Submit again even if an earlier run submitted this request.
        credentials_block: Saved ``AnyIntCredentials`` block name.
        store_block: Saved ``AssetStore`` block name.

    Returns:
        The gateway task id, the stored MP4(s) and this run's manifest key.

    Raises:
        ValueError: A bad parameter (named in the message); raised before any paid call.
    """
    p = parse_parameters(VideoParams, locals())
    frame = load_image(p.image, "image") if p.image is not None else None
    model_id = p.model or default_model(p.route, frame is not None)
    name, body = video_request(p.route, model_id, p.prompt, p.duration, frame)
    try:
        route_spec(name).params.model_validate(body)  # the route's own rules, before paying
    except ValidationError as exc:
        raise ValueError(f"request for {name} is invalid: {exc}") from None
    inputs: tuple[Any, ...] = ("text", "image") if frame is not None else ("text",)
    with use_gateway(await gateway_for(p.credentials_block, p.store_block)):
        if p.image is not None:
            async with current_gateway().client() as client:
                await check_image_urls(client, {"image": p.image})
        await check_models([ModelNeed("model", model_id, p.route, input=inputs, output=("video",))])
        # return_state: a Cached state means an earlier run's task was handed back.
        state = await submit(name, body, force_new=p.force_new, return_state=True)  # type: ignore[misc]
        submitted: SubmittedTask = await state.aresult()
        # Handed back by the Prefect cache or the store's submit journal: nothing was paid.
        reused = submitted.reused or state.name == "Cached"
        finished = await wait(submitted, deadline_seconds=p.max_wait_minutes * 60.0)
        records = await fetch(finished, request=_for_manifest(body), model=model_id)
        await publish_assets(
            records,
            key="generate-video",
            title="Generated video",
            summary=f"`{model_id}` on {name}, task `{finished.task_id}`"
            + (" (submitted by an earlier run)" if reused else "")
            + f"\n\n> {p.prompt}",
        )
    return VideoResult(
        route=name,
        model=model_id,
        task_id=finished.task_id,
        videos=records,
        manifest_key=f"{run_prefix()}/manifest.json",
        reused=reused,
    )
