"""Flow ``describe-images``: ask a question about one or more images.

Routes: ``anthropic`` (Anthropic-compatible messages with image blocks) or ``gemini``
(Gemini-compatible ``generateContent`` with inline data; URL images are fetched first).

Needs: an ``AnyIntCredentials`` block named by ``credentials_block``, or ``ANYINT_API_KEY`` (and
``ANYINT_BASE_URL`` for a gateway other than the default). Local image paths are read only inside
``ANYINT_INPUT_DIR`` (default: the working directory). Nothing is written to the asset store; the
answer is returned and published as a markdown artifact.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from prefect.artifacts import acreate_markdown_artifact
from pydantic import Field

from flows._common import ModelNeed, check_models_once, start_run
from flows._params import BlockName, PriceTable, checked_flow, checked_parameters, text_field
from tasks.images import check_image_urls, load_image
from tasks.understanding import LIVE_KEY
from tasks.understanding import describe_images as describe_task
from tasks.usage import UsageSummary, markdown_lines
from tasks.usage import summary as usage_summary

__all__ = ["DEFAULT_MODEL", "GEMINI_DEFAULT_MODEL", "SAMPLE_IMAGE", "DescribeResult"]

DEFAULT_MODEL = "claude-sonnet-4-6"
#: Used instead of :data:`DEFAULT_MODEL` when ``route="gemini"`` and the model was left as is.
GEMINI_DEFAULT_MODEL = "gemini-2.0-flash"
MAX_IMAGES = 20
QUESTION_MAX = 4000

#: A 64x48 orange PNG (#ff8c00), so the flow runs with no parameters at all. A constant rather
#: than an image made at import time: it is the default in every deployment's parameter schema,
#: which must not change with the Pillow version.
SAMPLE_IMAGE = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAEAAAAAwCAIAAAAuKetIAAAAQklEQVR42u3PQQ0AMAgE"
    "sGP68QwW9iVpHbSmc9pLBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAT+LMTLAev3bucMAAAAAElF"
    "TkSuQmCC"
)

Route = Literal["anthropic", "gemini"]
Images = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=MAX_IMAGES,
        description=(
            "Images to read: https URLs, data:image/...;base64 URLs, or paths inside "
            "ANYINT_INPUT_DIR. PNG, JPEG, GIF or WebP, up to 5 MB each; Prefect caps all flow "
            "parameters together at 512 KB, so pass larger images as a path or URL."
        ),
    ),
]
Question = Annotated[str, text_field(QUESTION_MAX, "What to ask about the images.")]
Model = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description=(
            f"Model id; it must take text and images and answer in text on the chosen route. "
            f"Left at {DEFAULT_MODEL} with route gemini, {GEMINI_DEFAULT_MODEL} is used."
        ),
    ),
]
RouteField = Annotated[
    Route, Field(description="anthropic (messages API) or gemini (generateContent).")
]
Stream = Annotated[
    bool,
    Field(
        description=(
            f"Stream the answer: while it arrives, its partial text is the artifact "
            f"{LIVE_KEY!r}, updated about twice a second."
        )
    ),
]


class DescribeResult(UsageSummary):
    """What ``describe-images`` returns.

    Attributes:
        answer: The model's answer.
        model: Model that answered.
        route: Route used.
        images: How many images were sent.
        usage: Token usage the gateway reported.
    """

    answer: str
    model: str
    route: Route
    images: int
    usage: dict[str, Any] | None = None


def _shown(ref: str) -> str:
    """How an image is named in the artifact: never the bytes of a data URL."""
    if ref.startswith("data:"):
        size = len(base64.b64decode(ref.partition(",")[2], validate=False))
        return f"inline image ({size} bytes)"
    return ref


@checked_flow("describe-images", "Ask a question about images on the Anthropic or Gemini route.")
async def describe_images(
    images: Images = [SAMPLE_IMAGE],  # noqa: B006 (never mutated; Prefect needs a JSON default)
    question: Question = "Describe this image.",
    model: Model = DEFAULT_MODEL,
    route: RouteField = "anthropic",
    stream: Stream = False,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
) -> DescribeResult:
    """Describe ``images``, answering ``question`` with ``model`` on ``route``.

    Args:
        images: https URLs, data URLs or local paths (inside ``ANYINT_INPUT_DIR``).
        question: What to ask.
        model: Model id (see the field description for the gemini default).
        route: ``anthropic`` or ``gemini``.
        stream: Stream the answer into the live artifact while it arrives.
        credentials_block: Saved ``AnyIntCredentials`` block name.
        store_block: Saved ``AssetStore`` block name (the run's usage record, the price table).
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.

    Returns:
        The answer, with the model, route and usage.

    Raises:
        ValueError: A bad parameter (named in the message); raised before any paid call.
    """
    p = checked_parameters(locals())
    route, images = p["route"], p["images"]
    chosen = (
        GEMINI_DEFAULT_MODEL if route == "gemini" and p["model"] == DEFAULT_MODEL else p["model"]
    )
    for i, ref in enumerate(images):
        load_image(ref, f"images[{i}]")  # type, size, scheme and folder, before paying
    run = await start_run(p)
    async with (await run.gateway.connect()).client() as client:
        await check_image_urls(client, {f"images[{i}]": r for i, r in enumerate(images)})
    await check_models_once(
        run, [ModelNeed("model", chosen, route, input=("text", "image"), output=("text",))]
    )
    reply = await describe_task(run, images, p["question"], chosen, route, stream=p["stream"])
    used = usage_summary((await run.gateway.connect()).store, run)
    shown = "\n".join(f"- {_shown(ref)}" for ref in images)
    await acreate_markdown_artifact(
        f"# Image description\n\n**Question:** {p['question']}\n\n"
        f"**Model:** `{chosen}` on the {route} route\n\n**Images:**\n{shown}\n\n"
        f"## Answer\n\n{reply.answer}\n\n" + "\n".join(markdown_lines(used)),
        key="describe-images",
        description=f"Answer of {chosen} about {len(images)} image(s)",
    )
    return DescribeResult(
        answer=reply.answer,
        model=chosen,
        route=route,
        images=len(images),
        usage=reply.usage,
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
    )
