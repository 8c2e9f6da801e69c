"""Flow ``assistant``: a conversation in which the model calls tools until it can answer.

Routes: ``gemini`` (Gemini function calling, contract §9.5) or ``anthropic`` (Anthropic tool
use, §8). Each model turn is a chat task run (``turn N: ...``); each tool call it asks for is its
own ``tool <name>`` task run with its own logs. The loop stops when the model answers in text, or
after ``max_steps`` model turns: when the last allowed turn still asks for tools, they are not
run and the flow ends saying so (``stop_reason="max_steps"``).

Tools are Python callables named by import path (``"package.module:function"``), declared to the
model from their signatures and Google-style docstrings (:mod:`tasks.tools`), or the toolkit's
media flows as built-ins (:mod:`flows._assistant_tools`: ``builtin:generate_image``,
``builtin:generate_video``, ``builtin:music_video``), which run as subflows and store their media
with their own manifests, so one prompt can plan and make an image, a song and a video. Every
path is imported and declared before any paid call. A tool that raises, or that the model calls
with arguments that do not fit, does not end the loop: the error goes back to the model as the
tool's result, and into the logs.

Needs: an ``AnyIntCredentials`` block (``credentials_block``) or ``ANYINT_API_KEY`` /
``ANYINT_BASE_URL``, and an ``AssetStore`` block (``store_block``) or ``ANYINT_STORE``. Local
image paths are read only inside ``ANYINT_INPUT_DIR``. Writes the transcript to
``runs/<flow_run_id>/assistant/transcript.json`` and lists it, with the built-in tools' media, in
``runs/<flow_run_id>/manifest.json``; publishes a summary artifact (``assistant``) and, with
``stream``, the partial text of each turn (``assistant-stream``).

A retry or resume of the flow run asks the model again (chat turns are not journalled), but a
built-in tool called with the same arguments hands back the media it stored before.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from prefect import get_run_logger
from pydantic import BaseModel, Field

from flows._assistant_tools import BUILTINS
from flows._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from flows._params import (
    BlockName,
    DeadlineSeconds,
    IdempotencyKey,
    PollInterval,
    PriceTable,
    checked_flow,
    checked_parameters,
    model_field,
    text_field,
)
from tasks import AssetRecord, RunConfig
from tasks.assets import record_assets
from tasks.conversation import (
    ModelTurn,
    ToolCall,
    ToolOutcome,
    first_turn,
    model_turn,
    results_turn,
)
from tasks.images import check_image_urls, load_image
from tasks.tools import ToolContext, ToolDeclaration, call_tool, resolve_tool, result_for_model
from tasks.usage import UsageSummary, adopt_usage

from ._assistant_transcript import store_transcript, summary_markdown

__all__ = ["DEFAULT_MODELS", "DEFAULT_TOOLS", "AssistantResult", "ToolCallRecord"]

Route = Literal["gemini", "anthropic"]
DEFAULT_MODELS: dict[str, str] = {"gemini": "gemini-2.0-flash", "anthropic": "claude-sonnet-4-6"}
#: The built-in media tools, offered when ``tools`` is left as is.
DEFAULT_TOOLS: list[str] = list(BUILTINS)
PROMPT_MAX = 20_000
MAX_TOOLS = 32
MAX_STEPS = 50
MAX_IMAGES = 20
DEFAULT_PROMPT = (
    "Plan a poster for a summer jazz festival, then make it: call generate_image with "
    'prompt="an art deco poster for a summer jazz festival at dusk, saxophone silhouette".'
)

Prompt = Annotated[str, text_field(PROMPT_MAX, "What to ask or ask for; name tools to use.")]
Tools = Annotated[
    list[str],
    Field(
        max_length=MAX_TOOLS,
        description=(
            "Tools the model may call: import paths 'package.module:function' (signature and "
            "docstring become the declaration) or built-ins: "
            f"{', '.join(BUILTINS)}. Empty: no tools."
        ),
    ),
]
RouteField = Annotated[
    Route, Field(description="gemini (function calling) or anthropic (tool use).")
]
Model = Annotated[
    str | None,
    model_field(f"gemini: {DEFAULT_MODELS['gemini']}, anthropic: {DEFAULT_MODELS['anthropic']}"),
]
MaxSteps = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_STEPS,
        description="Most model turns; tools asked for on the last one are not run.",
    ),
]
Images = Annotated[
    list[str],
    Field(
        max_length=MAX_IMAGES,
        description=(
            "Images for the model to see (as in describe-images): https URLs, "
            "data:image/...;base64 URLs, or paths inside ANYINT_INPUT_DIR."
        ),
    ),
]
Stream = Annotated[
    bool, Field(description="Stream each turn's text into the 'assistant-stream' artifact.")
]


class ToolCallRecord(BaseModel):
    """One tool call of the conversation.

    Attributes:
        step: The model turn that asked for it (1-based).
        name: Tool name.
        path: Import path called (None for a name the model made up).
        arguments: What the model passed.
        ok: False when the tool raised or could not be called.
        result: What went back to the model.
        error: The error, when not ok.
    """

    step: int
    name: str
    path: str | None
    arguments: dict[str, Any]
    ok: bool
    result: dict[str, Any]
    error: str | None = None


class AssistantResult(UsageSummary):
    """What ``assistant`` returns.

    Attributes:
        answer: The model's final text (or why the loop stopped).
        route: Route used.
        model: Model used.
        steps: Model turns taken.
        stop_reason: ``answered`` or ``max_steps``.
        tool_calls: Every tool call, in order.
        assets: The transcript and the built-in tools' media, as in the manifest.
        transcript_key: Store key of the transcript.
        manifest_key: This run's manifest.
    """

    answer: str
    route: Route
    model: str
    steps: int
    stop_reason: Literal["answered", "max_steps"]
    tool_calls: list[ToolCallRecord]
    assets: list[AssetRecord]
    transcript_key: str
    manifest_key: str


def declared_tools(paths: list[str]) -> list[ToolDeclaration]:
    """Import and declare every tool, before any paid call.

    Raises:
        ValueError: Naming ``tools[i]``: a path that does not resolve or cannot be declared, or
            a second tool with the same name.
    """
    declarations: list[ToolDeclaration] = []
    for i, path in enumerate(paths):
        declaration = resolve_tool(path, f"tools[{i}]", BUILTINS)
        clash = next((d for d in declarations if d.name == declaration.name), None)
        if clash is not None:
            raise ValueError(
                f"parameter 'tools[{i}]': {path!r} is also named {declaration.name!r}, like "
                f"{clash.path!r}; a model calls tools by name, so names must differ"
            )
        declarations.append(declaration)
    return declarations


class _Loop:
    """The conversation's state: history, calls, assets, and how it ended."""

    def __init__(self, run: RunConfig, p: dict[str, Any], model: str, tools: list[ToolDeclaration]):
        self.run, self.p, self.model, self.tools = run, p, model, tools
        self.history: list[dict[str, Any]] = []
        self.calls: list[ToolCallRecord] = []
        self.assets: list[AssetRecord] = []
        self.usage: list[dict[str, Any] | None] = []
        self.answer = ""
        self.steps = 0
        self.stop_reason: Literal["answered", "max_steps"] = "answered"

    async def converse(self) -> None:
        """Model turn, tool calls, results back; until a text answer or the step cap."""
        route, cap = self.p["route"], self.p["max_steps"]
        for step in range(1, cap + 1):
            self.steps = step
            turn = await model_turn(
                self.run,
                route,
                self.model,
                self.history,
                self.tools,
                step=step,
                stream=self.p["stream"],
            )
            self.usage.append(turn.usage)
            if not turn.calls:
                self.answer = turn.text
                if turn.message:
                    self.history.append(turn.message)
                return
            self.history.append(turn.message)
            if step == cap:
                self._capped(turn)
                return
            done = await asyncio.gather(*(self._call(c, step) for c in turn.calls))
            self.calls += [record for _, record in done]  # in call order, not finishing order
            self.history.append(results_turn(route, [outcome for outcome, _ in done]))

    def _capped(self, turn: ModelTurn) -> None:
        names = ", ".join(c.name for c in turn.calls)
        self.stop_reason = "max_steps"
        self.answer = (
            f"Stopped after max_steps={self.p['max_steps']} model turns: the last one still "
            f"asked for {names}, which was not run. Raise max_steps to let the model finish."
        )
        get_run_logger().warning(self.answer)

    async def _call(self, call: ToolCall, step: int) -> tuple[ToolOutcome, ToolCallRecord]:
        """One tool call as its own task run; an error goes back to the model as the result."""
        logger = get_run_logger()
        declaration = next((d for d in self.tools if d.name == call.name), None)
        if declaration is None:
            known = ", ".join(d.name for d in self.tools) or "none"
            return self._failed(call, step, None, f"no tool named {call.name!r} (tools: {known})")
        context = ToolContext(
            credentials_block=self.p["credentials_block"],
            store_block=self.p["store_block"],
            intent=self.run.intent,
            deadline_seconds=max(1.0, self.run.deadline_at - time.time()),
            poll_interval=self.p["poll_interval"],
            step=step,
        )
        try:
            result = await call_tool(declaration.path, declaration.name, call.arguments, context)
        # The tool's own error (its task run failed): the model's to handle, not the flow's.
        except Exception as exc:
            return self._failed(call, step, declaration.path, f"{type(exc).__name__}: {exc}")
        response = result_for_model(result)
        if declaration.path in BUILTINS.values():
            await self._adopt_assets(response)
        record = ToolCallRecord(
            step=step,
            name=call.name,
            path=declaration.path,
            arguments=call.arguments,
            ok=True,
            result=response,
        )
        logger.info("step %d: %s answered", step, call.name)
        return ToolOutcome(call=call, response=response), record

    def _failed(
        self, call: ToolCall, step: int, path: str | None, error: str
    ) -> tuple[ToolOutcome, ToolCallRecord]:
        get_run_logger().warning(
            "step %d: tool %s failed, the error goes back to the model: %s", step, call.name, error
        )
        response = {"error": error}
        record = ToolCallRecord(
            step=step,
            name=call.name,
            path=path,
            arguments=call.arguments,
            ok=False,
            result=response,
            error=error,
        )
        return ToolOutcome(call=call, response=response, error=error), record

    async def _adopt_assets(self, response: dict[str, Any]) -> None:
        """A built-in's media, listed in this run's manifest too (read from the subflow's)."""
        key = response.get("manifest_key")
        store = (await self.run.gateway.connect()).store
        if not isinstance(key, str) or not await asyncio.to_thread(store.exists, key):
            return
        manifest = await asyncio.to_thread(store.read_json, key)
        records = [AssetRecord.model_validate(a) for a in manifest.get("assets", [])]
        await asyncio.to_thread(adopt_usage, store, self.run, key)  # what the subflow paid
        await asyncio.to_thread(record_assets, store, self.run, records)
        self.assets.extend(records)


@checked_flow(
    "assistant",
    "A tool-using conversation: the model calls your Python tools and the toolkit's media flows.",
)
async def assistant(
    prompt: Prompt = DEFAULT_PROMPT,
    tools: Tools = DEFAULT_TOOLS,
    route: RouteField = "gemini",
    model: Model = None,
    max_steps: MaxSteps = 8,
    images: Images = [],  # noqa: B006 (never mutated; Prefect needs a JSON default)
    stream: Stream = False,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
) -> AssistantResult:
    """Converse with a model that may call ``tools``, until it answers or ``max_steps`` is hit.

    Args:
        prompt: What to ask or ask for; naming a tool makes its use likely.
        tools: Import paths ('package.module:function') or built-ins ('builtin:generate_image').
        route: gemini (function calling) or anthropic (tool use).
        model: Model id; empty picks the route's default.
        max_steps: Most model turns (1-50); tools asked for on the last one are not run.
        images: Images the model sees with the prompt (URLs, data URLs, local paths).
        stream: Stream each turn's text into the 'assistant-stream' artifact.
        deadline_seconds: Time budget for the built-in tools' waiting, in seconds.
        poll_interval: First poll interval of the built-in tools, in seconds.
        idempotency_key: Runs with the same key share the built-in tools' media.
        credentials_block: Saved AnyIntCredentials block name.
        store_block: Saved AssetStore block name.
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.

    Returns:
        The answer, every tool call, the stored transcript and media.

    Raises:
        ValueError: A bad parameter (named in the message); raised before any paid call.
    """
    return await _assistant(checked_parameters(locals()))


async def _assistant(p: dict[str, Any]) -> AssistantResult:
    """The assistant run of checked parameters ``p``."""
    if not p["prompt"].strip():
        raise ValueError("parameter 'prompt': must not be blank")
    declarations = declared_tools(p["tools"])
    inputs = [load_image(ref, f"images[{i}]") for i, ref in enumerate(p["images"])]
    chosen = p["model"] or DEFAULT_MODELS[p["route"]]
    run = await start_run(p)
    async with (await run.gateway.connect()).client() as client:
        await check_image_urls(client, {f"images[{i}]": r for i, r in enumerate(p["images"])})
        need = ModelNeed(
            "model", chosen, p["route"], input=("text", "image") if inputs else ("text",)
        )
        await check_models_once(run, [need])
        first = await first_turn(client, p["route"], p["prompt"], inputs)
    loop = _Loop(run, p, chosen, declarations)
    loop.history.append(first)
    await loop.converse()
    document = loop_document(loop)
    transcript = await store_transcript(run, document)
    records = [transcript, *loop.assets]
    summary = summary_markdown(document)
    used = await publish_assets(run, records, key="assistant", title="Assistant", summary=summary)
    return AssistantResult(
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
        answer=loop.answer,
        route=p["route"],
        model=chosen,
        steps=loop.steps,
        stop_reason=loop.stop_reason,
        tool_calls=loop.calls,
        assets=records,
        transcript_key=transcript.key,
        manifest_key=manifest_key(run),
    )


def loop_document(loop: _Loop) -> dict[str, Any]:
    """The conversation as the transcript stores it."""
    return {
        "flow": "assistant",
        "prompt": loop.p["prompt"],
        "route": loop.p["route"],
        "model": loop.model,
        "max_steps": loop.p["max_steps"],
        "steps": loop.steps,
        "stop_reason": loop.stop_reason,
        "answer": loop.answer,
        "tools": [d.model_dump() for d in loop.tools],
        "tool_calls": [c.model_dump(mode="json") for c in loop.calls],
        "usage": loop.usage,
        "history": loop.history,
    }
