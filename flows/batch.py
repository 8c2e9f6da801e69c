"""Flow ``batch``: many prompts → one image each, in parallel, resumable.

The prompts come as a list (``prompts``) or a JSONL/CSV file in the asset store
(``prompts_file``, see :mod:`flows._batch_input`). Each item is one ``batch-item`` task that
makes its image with the ``generate-image`` machinery on the chosen ``route`` (sync routes and
the Kling task routes alike), so every item is journaled like a ``generate-image`` run: a retry
or ``--resume`` of a batch pays only for the items it had not stored yet.

At most ``max_parallel`` items run at once, on Prefect's thread pool or, with ``dask_address``,
on the workers of an existing Dask cluster (:mod:`flows._dask`); the gateway-wide caps are the
Prefect concurrency limits the gateway steps take themselves. Everything the items need is
checked before the first paid call: the list or file (naming the line), each item's fields
against the route and the model, and the Dask scheduler.

Needs: an ``AnyIntCredentials`` block (``credentials_block``) or ``ANYINT_API_KEY`` /
``ANYINT_BASE_URL``, and an ``AssetStore`` block (``store_block``) or ``ANYINT_STORE``. Writes
the images under ``assets/<family>/...`` and the run's manifest under
``runs/<flow_run_id>/manifest.json``; publishes a summary and the asset artifacts.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.futures import wait as wait_futures
from pydantic import BaseModel, Field

from blocks.ids import markdown_code
from tasks import AssetRecord, RunConfig
from tasks.usage import UsageSummary

from ._batch_input import MAX_ITEMS, PROMPT_MAX, BatchItem, items_from_file, items_from_list
from ._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from ._dask import DaskAddress, check_dask_address, fan_out_runner, ran_on, settle_manifest
from ._image_routes import DEFAULT_MODELS, FAMILIES, ImageOptions
from ._params import (
    BlockName,
    DeadlineSeconds,
    IdempotencyKey,
    PollInterval,
    PriceTable,
    checked_flow,
    checked_parameters,
)
from .generate_image import Model, NegativePrompt, RouteField, Size
from .generate_image import _checked_options as checked_options
from .generate_image import _make as make_images

__all__ = ["BatchItemResult", "BatchResult", "batch"]

#: What a run with no prompts makes (``anyint-flows run batch --emulator --params '{}'``).
SAMPLE_PROMPTS = (
    "A lighthouse on a cliff at dusk, watercolour.",
    "A fox asleep in fresh snow, ink drawing.",
)

Prompts = Annotated[
    list[Annotated[str, Field(max_length=PROMPT_MAX)]] | None,
    Field(
        max_length=MAX_ITEMS,
        description="The prompts, one image each. Empty: those of prompts_file, else two samples.",
    ),
]
PromptsFile = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=500,
        pattern=r"^[^\x00-\x1f\x7f]+\.(jsonl|csv)$",
        description=(
            'Store key of a .jsonl file (one {"prompt": ...} object a line) or a .csv file (a '
            "prompt column); optional per-item fields: id, size, negative_prompt, seed."
        ),
    ),
]
MaxParallel = Annotated[
    int, Field(ge=1, le=64, description="Most items made at once (the fan-out's width).")
]


class ItemJob(BaseModel):
    """One item as its task receives it: checked, with its parameters and its intent.

    Attributes:
        index: Position in the batch.
        where: Where it came from (``prompts_file: x.jsonl line 3``), for messages.
        item: The item.
        parameters: ``generate-image`` parameters of this item.
        model: Model id.
        copy_number: 1, or n for the n-th identical request of the batch (its own intent, so
            identical prompts still make one image each).
    """

    index: int
    where: str
    item: BatchItem
    parameters: dict[str, Any]
    model: str
    copy_number: int = 1

    def options(self) -> ImageOptions:
        """The item's options, checked against its route and model (nothing paid)."""
        try:
            return checked_options(self.parameters, self.model)
        except ValueError as exc:
            raise ValueError(f"{self.where}: {exc}") from None

    def run_of(self, run: RunConfig) -> RunConfig:
        """``run``, with the intent of this copy of the request."""
        if self.copy_number == 1:
            return run
        return run.model_copy(update={"intent": f"{run.intent}/copy-{self.copy_number}"})


class BatchItemResult(BaseModel):
    """What one item made.

    Attributes:
        index: Position in the batch.
        id: The item's label, when it has one.
        prompt: Its prompt.
        images: Its stored image(s).
        task_id: Gateway task id on the Kling routes (None on the sync routes).
        reused: True when stored before this execution (nothing paid now).
        ran_on: ``host:pid`` of the process that made it.
    """

    index: int
    id: str | None
    prompt: str
    images: list[AssetRecord]
    task_id: str | None
    reused: bool
    ran_on: str


class BatchResult(UsageSummary):
    """What a ``batch`` run made.

    Attributes:
        route: Route used.
        model: Model used.
        items: One result per item, in the batch's order.
        manifest_key: Store key of this run's manifest (every image above).
        reused: How many items were handed back from an earlier execution (nothing paid).
        usage_totals: What the gateway reported, per family (and ``estimated_cost`` with a
            price table).
    """

    route: str
    model: str
    items: list[BatchItemResult]
    manifest_key: str
    reused: int


@task(name="batch-item", task_run_name="batch item {job.index}", cache_policy=NO_CACHE)
async def batch_item(run: RunConfig, job: ItemJob) -> BatchItemResult:
    """Make and store one item's image (a retry or resume hands back what it stored)."""
    where = ran_on()
    get_run_logger().info("item %d of run %s on %s", job.index, run.flow_run_id, where)
    records, task_id, reused = await make_images(
        job.run_of(run), job.parameters, job.model, job.options()
    )
    return BatchItemResult(
        index=job.index,
        id=job.item.id,
        prompt=job.item.prompt,
        images=records,
        task_id=task_id,
        reused=reused,
        ran_on=where,
    )


def _outcome(future: PrefectFuture[Any]) -> BatchItemResult | str:
    """The item's result, or why it failed."""
    try:
        result: BatchItemResult = future.result()
        return result
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@flow(name="batch-fan-out")
async def fan_out(run: RunConfig, jobs: list[ItemJob], width: int) -> list[BatchItemResult | str]:
    """Run the items on this flow's task runner, at most ``width`` at once; each one's result
    or error, in order."""
    futures: list[PrefectFuture[Any]] = []
    running: list[PrefectFuture[Any]] = []
    for job in jobs:
        if len(running) >= width:
            # Wait for a free slot off the event loop (the items run elsewhere).
            done = await asyncio.to_thread(lambda: next(as_completed(running)))
            running.remove(done)
        future = batch_item.submit(run, job)
        futures.append(future)
        running.append(future)
    # Every item finishes (a failed one must not orphan the others' paid work).
    await asyncio.to_thread(lambda: wait_futures(futures))
    return [_outcome(f) for f in futures]


def _jobs(p: dict[str, Any], model: str, items: list[tuple[str, BatchItem]]) -> list[ItemJob]:
    """Each item as a job, its options checked now (before any paid call)."""
    seen: Counter[str] = Counter()
    jobs = []
    for index, (where, item) in enumerate(items):
        parameters = {
            "prompt": item.prompt,
            "route": p["route"],
            "size": item.size or p["size"],
            "negative_prompt": item.negative_prompt or p["negative_prompt"],
            "seed": item.seed,
            "n": None,
            "images": [],
            "stream": False,
        }
        request = item.model_dump_json(exclude={"id"})
        seen[request] += 1
        job = ItemJob(
            index=index,
            where=where,
            item=item,
            parameters=parameters,
            model=model,
            copy_number=seen[request],
        )
        job.options()
        jobs.append(job)
    return jobs


def _failed(run: RunConfig, jobs: list[ItemJob], outcomes: list[BatchItemResult | str]) -> None:
    """Raise, naming the failed items, when any failed."""
    failed = [(j, o) for j, o in zip(jobs, outcomes, strict=True) if isinstance(o, str)]
    if not failed:
        return
    first_job, first_error = failed[0]
    raise RuntimeError(
        f"{len(failed)} of {len(jobs)} batch items failed (items "
        f"{', '.join(str(j.index) for j, _ in failed[:20])}); first, {first_job.where}: "
        f"{first_error}. Resume with `{run.resume_command()}`: the stored items are not "
        "paid again"
    )


def _summary(p: dict[str, Any], model: str, results: list[BatchItemResult]) -> str:
    where = f"the Dask cluster at `{p['dask_address']}`" if p["dask_address"] else "threads"
    lines = [
        "# Batch",
        "",
        f"{len(results)} prompts → one image each on the {p['route']} route "
        f"({markdown_code(model)}), at most {p['max_parallel']} at once, on {where}.",
        "",
        "| # | id | prompt | image | task | reused | ran on |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        images = ", ".join(f"[{a.kind}]({a.uri})" for a in r.images)
        lines.append(
            f"| {r.index} | {markdown_code(r.id or '-', table=True)} | "
            f"{markdown_code(r.prompt[:80], table=True)} | {images} | "
            f"{markdown_code(r.task_id or '-', table=True)} | {'yes' if r.reused else 'no'} | "
            f"{markdown_code(r.ran_on, table=True)} |"
        )
    return "\n".join(lines)


async def _items(run: RunConfig, p: dict[str, Any]) -> list[tuple[str, BatchItem]]:
    """The items of the list, or of the file in the run's store."""
    if not p["prompts_file"]:
        return items_from_list(list(SAMPLE_PROMPTS) if p["prompts"] is None else p["prompts"])
    store = (await run.gateway.connect()).store
    return await asyncio.to_thread(items_from_file, store, p["prompts_file"])


async def _published(
    run: RunConfig, p: dict[str, Any], model: str, results: list[BatchItemResult]
) -> BatchResult:
    """Settle the manifest, publish the summary and the stored images; the flow's result."""
    records = [a for r in results for a in r.images]
    await settle_manifest(run, records)
    await acreate_markdown_artifact(
        _summary(p, model, results), key="batch-summary", description="Batch: what was made"
    )
    title = f"Batch: {len(results)} prompts"
    used = await publish_assets(run, records, key="batch", title=title)
    return BatchResult(
        usage_totals=used.usage_totals,
        estimated_cost=used.estimated_cost,
        route=p["route"],
        model=model,
        items=results,
        manifest_key=manifest_key(run),
        reused=sum(r.reused for r in results),
    )


@checked_flow("batch", "Many prompts (a list, or a JSONL/CSV file in the store) → one image each.")
async def batch(
    prompts: Prompts = None,
    prompts_file: PromptsFile = None,
    route: RouteField = "gemini",
    model: Model = None,
    size: Size = None,
    negative_prompt: NegativePrompt = None,
    max_parallel: MaxParallel = 4,
    dask_address: DaskAddress = None,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
) -> BatchResult:
    """Make one image per prompt, at most ``max_parallel`` at once, and store them.

    Args:
        prompts: The prompts; empty: those of prompts_file, else two sample prompts.
        prompts_file: Store key of a .jsonl or .csv file of prompts (and per-item id, size,
            negative_prompt, seed).
        route: gemini, dashscope, kling or kling-omni (as generate-image).
        model: Model id; empty picks the route's default.
        size: Size of every item (as generate-image); an item's own size replaces it.
        negative_prompt: What to avoid (not gemini); an item's own replaces it.
        max_parallel: Most items made at once.
        dask_address: Address of a running Dask scheduler (tcp://host:8786): the items run on
            its workers. Empty: they run on threads here.
        deadline_seconds: Time budget for all the waiting (Kling routes), in seconds.
        poll_interval: First poll interval of a Kling task, in seconds.
        idempotency_key: Runs with the same key share their images (paid once).
        credentials_block: Saved AnyIntCredentials block name.
        store_block: Saved AssetStore block name (prompts_file is read from it).
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals get an estimated cost.

    Returns:
        Each item's stored image(s) and this run's manifest key.

    Raises:
        ValueError: A bad parameter, file line or item (named); raised before any paid call.
        RuntimeError: Some items failed (named); the others are stored, and a resume pays
            only for the missing ones.
    """
    p = checked_parameters(locals())
    if p["prompts"] is not None and p["prompts_file"]:
        raise ValueError(
            "parameters 'prompts' and 'prompts_file': give the prompts one way, not both"
        )
    model_id = p["model"] or DEFAULT_MODELS[p["route"]]
    if p["dask_address"]:
        await check_dask_address(p["dask_address"])
    run = await start_run(p)
    jobs = _jobs(p, model_id, await _items(run, p))
    await check_models_once(
        run, [ModelNeed("model", model_id, FAMILIES[p["route"]], output=("image",))]
    )
    runner = fan_out_runner(p["dask_address"], local_dask=False, width=p["max_parallel"])
    outcomes = await fan_out.with_options(task_runner=runner)(run, jobs, p["max_parallel"])
    _failed(run, jobs, outcomes)
    results = [o for o in outcomes if isinstance(o, BatchItemResult)]
    return await _published(run, p, model_id, results)
