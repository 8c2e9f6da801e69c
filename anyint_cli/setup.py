"""``anyint-flows setup``: ready a Prefect server for the deployments, as often as you like.

Each step compares what the server at ``PREFECT_API_URL`` holds with what the deployments of
``deployments/prefect.yaml`` need, then creates, updates or keeps it, and says which. A second run
changes nothing that is already right and never makes a duplicate; ``--dry-run`` prints the same
plan and writes nothing.

The blocks come from the environment, resolved as the flows resolve them:

* ``AnyIntCredentials``: the key from ``ANYINT_API_KEY`` (never printed) and the gateway from
  ``ANYINT_BASE_URL`` when set. With ``ANYINT_API_KEY`` unset, setup does not fail: an existing
  block keeps its key, a new one is saved without a key (flow runs then read ``ANYINT_API_KEY``
  where the worker runs, the block's documented fallback), and one line says so.
* ``AssetStore``: ``ANYINT_STORE`` (default ``./output``) as an absolute URL, so a worker in any
  folder writes to the same place. With ``ANYINT_STORE`` unset an existing block is kept.

:data:`STEPS` is the extension point: a later feature that needs concurrency limits or
automations adds a step (an async function of :class:`Setup` returning its :class:`Change` list).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeVar

import typer

from ._output import console, err
from ._state import options

if TYPE_CHECKING:
    from prefect.blocks.core import Block
    from prefect.client.orchestration import PrefectClient

__all__ = ["DEFAULT_BLOCK_NAME", "DEFAULT_POOL", "STEPS", "Change", "Setup", "SetupError", "setup"]

#: The names ``deployments/prefect.yaml`` uses.
DEFAULT_POOL = "anyint-process"
DEFAULT_BLOCK_NAME = "anyint"

Action = Literal["create", "update", "keep"]
_DONE: dict[Action, str] = {"create": "created", "update": "updated", "keep": "unchanged"}


class SetupError(Exception):
    """Setup cannot go on; the message says what to do. Printed as one line."""


@dataclass(frozen=True)
class Change:
    """What one step did (or, in a dry run, would do) to one object on the server.

    Attributes:
        action: ``create``, ``update`` or ``keep``.
        what: The object, e.g. ``work pool 'anyint-process'``.
        detail: What it holds now, never a secret.
    """

    action: Action
    what: str
    detail: str = ""

    def line(self, dry_run: bool) -> str:
        """One line of the report: ``created        work pool 'anyint-process' (process)``."""
        if dry_run and self.action != "keep":
            verb = f"would {self.action}"
        else:
            verb = _DONE[self.action]
        return f"{verb:<14} {self.what}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Setup:
    """What every step works with.

    Attributes:
        client: Client of the Prefect server being readied.
        pool: Name of the process work pool.
        block_name: Name of the credentials and store blocks.
        dry_run: Plan only: a step must not write when it is set.
    """

    client: PrefectClient
    pool: str
    block_name: str
    dry_run: bool


Step = Callable[[Setup], Awaitable[list[Change]]]


async def register_block_types(ctx: Setup) -> list[Change]:
    """``prefect block register -m blocks``: every block class of :mod:`blocks`, type and schema."""
    import blocks

    return [await _register(ctx, cls) for cls in _block_classes(blocks)]


def _block_classes(module: Any) -> list[type[Block]]:
    """The block classes a module defines, found as ``prefect block register -m`` finds them."""
    from prefect.blocks.core import Block

    return [cls for _, cls in inspect.getmembers(module) if Block.is_block_class(cls)]


async def _register(ctx: Setup, cls: type[Block]) -> Change:
    from prefect.exceptions import ObjectNotFound

    action: Action = "keep"
    try:
        await ctx.client.read_block_type_by_slug(cls.get_block_type_slug())
    except ObjectNotFound:
        action = "create"
    if action == "keep":
        try:
            await ctx.client.read_block_schema_by_checksum(
                checksum=cls._calculate_schema_checksum(), version=cls.get_block_schema_version()
            )
        except ObjectNotFound:  # a known type without this schema: the class has changed
            action = "update"
    if not ctx.dry_run:
        # Idempotent, and also refreshes the type's description and example when they changed.
        await cls.aregister_type_and_schema(client=ctx.client)
    return Change(action, f"block type {cls.get_block_type_name()!r}")


B = TypeVar("B", bound="Block")


#: Given the block saved now (None: none yet), the fields to set and a line about them.
Fill = Callable[[Any], tuple[dict[str, Any], str]]


async def _save_block(ctx: Setup, kind: type[B], fill: Fill) -> Change:
    """Save ``kind`` as ``ctx.block_name``: what is saved already, with ``fill``'s fields set."""
    try:
        existing: B | None = await kind.aload(ctx.block_name, client=ctx.client)
    except ValueError:  # not saved yet (or its type is not registered yet)
        existing = None
    update, detail = fill(existing)
    wanted = (existing or kind()).model_copy(update=update)
    if existing is None:
        action: Action = "create"
    else:
        action = "keep" if wanted.model_dump() == existing.model_dump() else "update"
    if action != "keep" and not ctx.dry_run:
        await wanted.asave(ctx.block_name, overwrite=True, client=ctx.client)
    return Change(action, f"{kind.__name__} block {ctx.block_name!r}", detail)


async def save_credentials(ctx: Setup) -> list[Change]:
    """The ``AnyIntCredentials`` block: key and gateway from ``ANYINT_API_KEY``/``_BASE_URL``."""
    from anyint.config import settings
    from blocks import AnyIntCredentials

    env = settings()
    update: dict[str, Any] = {"base_url": env.base_url} if env.base_url else {}
    if env.api_key is not None:
        update["api_key"] = env.api_key
        detail = "key from ANYINT_API_KEY"
    else:
        detail = "ANYINT_API_KEY is not set: a saved key is kept, else runs read it on the worker"
    if env.base_url:
        detail += f", gateway {env.base_url}"
    return [await _save_block(ctx, AnyIntCredentials, lambda _saved: (update, detail))]


async def save_store(ctx: Setup) -> list[Change]:
    """The ``AssetStore`` block: ``ANYINT_STORE`` (default ``./output``) as an absolute URL."""
    from anyint.config import settings
    from blocks import AssetStore

    configured = settings().store

    def fill(saved: AssetStore | None) -> tuple[dict[str, Any], str]:
        if saved is not None and not configured:
            return {}, f"{saved.root_url}, kept: ANYINT_STORE is not set"
        url = AssetStore(base_url=configured).root_url
        return {"base_url": url}, f"{url}, from {'ANYINT_STORE' if configured else 'the default'}"

    return [await _save_block(ctx, AssetStore, fill)]


def engine_command() -> str:
    """The command the pool's runs start with: Prefect's engine on this Python.

    Without a command, Prefect 3.8's process worker starts a workspace supervisor that runs the
    pull steps and then starts the engine: two interpreters, each importing Prefect (about 2.5 s
    on 2 cores), for every run and for every resume of a deferred run. With it, the engine runs
    the pull steps itself in one process. The path is this machine's, as the deployments'
    working directory already is (``prefect deploy`` records it).
    """
    from prefect.utilities.processutils import command_to_string

    return command_to_string([sys.executable, "-m", "prefect.engine"])


async def create_work_pool(ctx: Setup) -> list[Change]:
    """The process work pool the deployments name.

    Raises:
        SetupError: A pool of that name exists with another type.
    """
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    what = f"work pool {ctx.pool!r}"
    try:
        pool = await ctx.client.read_work_pool(ctx.pool)
    except ObjectNotFound:
        if not ctx.dry_run:
            template = ProcessWorker.get_default_base_job_template()
            template["variables"]["properties"]["command"]["default"] = engine_command()
            await ctx.client.create_work_pool(
                WorkPoolCreate(name=ctx.pool, type="process", base_job_template=template)
            )
        return [Change("create", what, "process")]
    if pool.type != "process":
        raise SetupError(
            f"{what} exists with type {pool.type!r}, the deployments need a process pool: "
            "choose another name with --pool"
        )
    return [Change("keep", what, "process")]


async def resume_automation(ctx: Setup) -> list[Change]:
    """The automation that resumes deferred runs (:mod:`anyint_cli.setup_automations`)."""
    from .setup_automations import setup_automations  # imported late: it builds on this module

    return await setup_automations(ctx)


async def concurrency_limits(ctx: Setup) -> list[Change]:
    """The ``anyint-*`` concurrency and rate limits (:mod:`anyint_cli.setup_limits`)."""
    from .setup_limits import create_limits  # imported late: it builds on this module

    return await create_limits(ctx)


#: What setup does, in order. Later features add their steps here (concurrency limits, automations).
STEPS: list[Step] = [
    register_block_types,
    save_credentials,
    save_store,
    create_work_pool,
    resume_automation,
    concurrency_limits,
]


async def run_steps(pool: str, block_name: str, dry_run: bool) -> list[Change]:
    """Run every step of :data:`STEPS` against the server at ``PREFECT_API_URL``, printing each
    change as it happens.

    Raises:
        SetupError: ``PREFECT_API_URL`` is unset, no server answers there, or a step cannot go on.
    """
    from prefect import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        # Without it Prefect would start a temporary server of its own and ready that one.
        raise SetupError(
            "PREFECT_API_URL is not set: start `prefect server start`, then "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    console.print(f"Prefect server: {url}" + (" (dry run: nothing is changed)" if dry_run else ""))
    changes: list[Change] = []
    async with get_client() as client:
        if await client.api_healthcheck() is not None:
            raise SetupError(f"no Prefect server answers at {url}: is `prefect server start` up?")
        ctx = Setup(client=client, pool=pool, block_name=block_name, dry_run=dry_run)
        for step in STEPS:
            for change in await step(ctx):
                console.print(change.line(dry_run), highlight=False, soft_wrap=True)
                changes.append(change)
    return changes


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    raise typer.Exit(2)


def setup(
    pool: Annotated[str, typer.Option(help="Process work pool to create.")] = DEFAULT_POOL,
    block_name: Annotated[
        str, typer.Option(help="Name of the AnyIntCredentials and AssetStore blocks.")
    ] = DEFAULT_BLOCK_NAME,
    dry_run: Annotated[bool, typer.Option(help="Print the plan; change nothing.")] = False,
) -> None:
    """Ready the Prefect server at PREFECT_API_URL: block types, blocks from ANYINT_*, work pool."""
    from .run import report

    async def steps() -> None:
        try:
            await run_steps(pool, block_name, dry_run)
        except SetupError as exc:
            if options["debug"]:
                raise
            _fail(str(exc))

    report(steps)
