"""What every flow does the same way: start its run (gateway, intent, deadline), check models
before paying, publish artifacts of what was stored."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import (
    acreate_image_artifact,
    acreate_markdown_artifact,
    acreate_table_artifact,
)
from prefect.context import FlowRunContext

from anyint.records import canonical_json
from anyint.types.models import Modality, RouteFamily
from blocks.store import AssetStore, BrowserLink
from tasks import AssetRecord, GatewayConfig, RunConfig
from tasks.assets import record_assets, run_prefix
from tasks.usage import UsageSummary, load_price_table, markdown_lines
from tasks.usage import summary as usage_summary

from ._defer import resumed_window

__all__ = [
    "OPERATIONAL_PARAMETERS",
    "ModelNeed",
    "check_models",
    "check_models_once",
    "manifest_key",
    "publish_assets",
    "start_run",
]

#: Parameters that say how a run executes, not what it makes: they may differ between runs that
#: share an ``idempotency_key``.
OPERATIONAL_PARAMETERS = frozenset(
    {
        "idempotency_key",
        "deadline_seconds",
        "poll_interval",
        "credentials_block",
        "store_block",
        "task_runner",
        "price_table",  # how usage is priced, not what is made
        "dask_address",  # where fan-out tasks run
        "max_parallel",
        "stream",  # how an answer travels, not what is asked for
        "defer",  # whether waits hold the worker, not what is made
    }
)

#: Largest image put inline (as a ``data:`` URL) when its store is one a browser cannot reach
#: (local folder, memory). Base64 adds a third and the URL goes into both the markdown and the
#: image artifact, so one image costs at most ~700 KB of artifact data, which Prefect keeps in
#: its database and sends to every page that renders it: enough for a preview, not a burden.
INLINE_IMAGE_LIMIT = 256 * 1024


@dataclass(frozen=True)
class ModelNeed:
    """A model a flow is about to use, and what it must do there.

    Attributes:
        parameter: Flow parameter that chose the model (named in the error).
        model: Model id.
        family: Route family the call uses.
        input: Modalities sent.
        output: Modalities needed back.
    """

    parameter: str
    model: str
    family: RouteFamily
    input: tuple[Modality, ...] = ("text",)
    output: tuple[Modality, ...] = ("text",)


async def check_models_once(run: RunConfig, needs: Sequence[ModelNeed]) -> None:
    """:func:`check_models`, skipped by a run resumed from its suspension: the execution that
    suspended checked the same parameters, and a deferred run resumes once per wait it sleeps
    through (each time in a new process, where the task run and the call cost about a second).
    """
    if not run.resumed:
        await check_models(run, needs)


@task(name="check-models", task_run_name="check models")
async def check_models(run: RunConfig, needs: Sequence[ModelNeed]) -> None:
    """Fail before any paid call when a model is unknown or lacks a modality on its route.

    Raises:
        ValueError: Naming the parameter, the model and what is missing.
    """
    connection = await run.gateway.connect()
    async with connection.client() as client:
        catalogue = await client.models.list()
    for need in needs:
        try:
            catalogue.check(need.model, need.family, input=need.input, output=need.output)
        except ValueError as exc:
            raise ValueError(f"parameter {need.parameter!r}: {exc}") from None


async def start_run(parameters: Mapping[str, Any]) -> RunConfig:
    """The :class:`~tasks.RunConfig` of the current flow run, built once at its start.

    Resolves the gateway and store (``credentials_block``/``store_block``, else the environment),
    and the intent: the flow run itself, or ``key:<idempotency_key>`` when one is given, in
    which case the key must name the same flow and parameters as the run that used it first.

    Args:
        parameters: The flow's checked parameters (``deadline_seconds`` and ``poll_interval``
            set the waiting budget of this execution and its first poll interval).

    Raises:
        ValueError: A block that is not saved, no API key, or a key reused with other
            parameters (naming ``idempotency_key``).
    """
    context = FlowRunContext.get()
    if context is None or context.flow is None or context.flow_run is None:
        raise RuntimeError("start_run() must be called inside a flow run")
    gateway = await GatewayConfig.resolve(
        parameters.get("credentials_block"), parameters.get("store_block")
    )
    # Checked first: a table that does not parse fails the run before anything is paid.
    prices = await load_price_table((await gateway.connect()).store, parameters.get("price_table"))
    key = parameters.get("idempotency_key")
    flow_run_id = str(context.flow_run.id)
    if key:
        await _claim_key(gateway, key, context.flow.name, flow_run_id, parameters)
    now = time.time()
    poll_interval = float(parameters.get("poll_interval") or 5.0)
    started_at, deadline_at = now, now + float(parameters.get("deadline_seconds") or 1800.0)
    defer = bool(parameters.get("defer"))
    window = await resumed_window(gateway, flow_run_id) if defer else None
    if window is not None:
        started_at, deadline_at = window  # resumed from suspension: what is left of the deadline
    return RunConfig(
        gateway=gateway,
        intent=f"key:{key}" if key else f"run:{flow_run_id}",
        idempotency_key=key,
        flow_name=context.flow.name,
        flow_run_id=flow_run_id,
        run_count=max(context.flow_run.run_count, 1),
        started_at=started_at,
        deadline_at=deadline_at,
        initial_interval=poll_interval,
        defer=defer,
        prices=prices,
        resumed=window is not None,
    )


async def _claim_key(
    gateway: GatewayConfig, key: str, flow: str, flow_run_id: str, parameters: Mapping[str, Any]
) -> None:
    """Bind ``key`` to this flow and these parameters on first use; refuse it with others."""
    what = {k: v for k, v in parameters.items() if k not in OPERATIONAL_PARAMETERS}
    record = {
        "flow": flow,
        "parameters_sha256": hashlib.sha256(canonical_json(what).encode()).hexdigest(),
        "first_flow_run_id": flow_run_id,
    }
    store = (await gateway.connect()).store
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    path = f"intents/{name}.json"
    if store.create_json(path, record):
        return
    first = store.read_json(path)
    if (first.get("flow"), first.get("parameters_sha256")) != (flow, record["parameters_sha256"]):
        raise ValueError(
            f"parameter 'idempotency_key': {key!r} names an earlier {first.get('flow')} run "
            f"(flow run {first.get('first_flow_run_id')}) with other parameters; a key names "
            "one intent: use a new key, or the same flow and parameters"
        )


def manifest_key(run: RunConfig) -> str:
    """Store key of the run's ``manifest.json``, which lists every asset the run stored."""
    return f"{run_prefix(run.flow_run_id)}/manifest.json"


def _is_image(record: AssetRecord) -> bool:
    return record.content_type.startswith("image/")


def _name(record: AssetRecord) -> str:
    return record.key.rsplit("/", 1)[-1]


def _link(record: AssetRecord, link: BrowserLink | None) -> str:
    """The asset's table cell: a link the browser can follow, else its name as text."""
    if link is None or link.url.startswith("data:"):  # a page cannot open a data: URL as a link
        return f"`{_name(record)}`"
    return f"[{_name(record)}]({link.url})"


def _image_lines(
    store: AssetStore, records: list[AssetRecord], links: Mapping[str, BrowserLink | None]
) -> list[str]:
    """Markdown showing each image, or saying where to find one that cannot be shown."""
    lines: list[str] = []
    for record in filter(_is_image, records):
        link = links[record.key]
        if link is not None:
            lines += [f"![{_name(record)}]({link.url})", ""]
            continue
        lines += [
            f"`{record.key}` is not shown: {record.bytes} bytes is above the "
            f"{INLINE_IMAGE_LIMIT // 1024} KiB inline limit and a browser cannot load this "
            f"store. Open `{store.url(record.key)}` where the flow ran.",
            "",
        ]
    expiring = [link.expires_at for link in links.values() if link and link.expires_at]
    if expiring:
        lines.append(
            f"Links are presigned: they expire at {min(expiring):%Y-%m-%d %H:%M} UTC, "
            f"{store.link_expiry_seconds / 3600:g} hours after publishing "
            "(`link_expiry_seconds` on the `AssetStore` block sets this)."
        )
    return lines


def _browser_links(store: AssetStore, records: list[AssetRecord]) -> dict[str, BrowserLink | None]:
    """Each record's browser URL by key; only images are inlined (a video never is)."""
    return {
        r.key: store.browser_url(
            r.key,
            inline_limit=INLINE_IMAGE_LIMIT if _is_image(r) else 0,
            content_type=r.content_type,
        )
        for r in records
    }


async def publish_assets(
    run: RunConfig,
    records: Iterable[AssetRecord],
    *,
    key: str,
    title: str,
    summary: str = "",
) -> UsageSummary:
    """Publish a table and a markdown artifact of stored assets, and image artifacts for images.

    The markdown shows the run's usage totals (and, with a price table, the estimated cost),
    which the manifest gets too; the flow's result carries the same :class:`UsageSummary`.

    Every link and image is a URL a browser loads (see :meth:`AssetStore.browser_url`):
    presigned for S3, inline for a small image in a local or memory store; an image that is
    neither is named with its store URL as text, never as a broken ``file://`` image.

    Args:
        run: The flow run's configuration (its store makes the URLs).
        records: Stored assets.
        key: Artifact key (lowercase letters, digits and dashes).
        title: Heading of the markdown artifact.
        summary: Extra markdown placed under the heading.

    Returns:
        The run's usage totals and estimated cost, as the manifest now has them.
    """
    records = list(records)
    store = (await run.gateway.connect()).store
    record_assets(store, run, [])  # rebuilt: the totals include calls made since the last asset
    used = usage_summary(store, run)
    links = _browser_links(store, records)
    rows: list[dict[str, Any]] = [
        {
            "kind": r.kind,
            "file": _name(r),
            "bytes": r.bytes,
            "sha256": r.sha256[:16],
            "task": r.task_id or "-",
            "uri": r.uri,
        }
        for r in records
    ]
    await acreate_table_artifact(rows, key=f"{key}-assets", description=f"{title}: stored assets")
    lines = [
        f"# {title}",
        "",
        summary,
        "",
        "| kind | asset | bytes | sha256 |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r.kind} | {_link(r, links[r.key])} | {r.bytes} | `{r.sha256[:16]}` |" for r in records
    ]
    lines += ["", *_image_lines(store, records, links), "", *markdown_lines(used)]
    await acreate_markdown_artifact("\n".join(lines), key=key, description=title)
    for record in filter(_is_image, records):
        if (link := links[record.key]) is not None:
            expiry = (
                f" (link expires {link.expires_at:%Y-%m-%d %H:%M} UTC)" if link.expires_at else ""
            )
            description = f"{record.kind}: {record.key}{expiry}"
            await acreate_image_artifact(link.url, description=description)
    get_run_logger().info("%s: %d asset(s) stored", title, len(records))
    return used
