"""``anyint-flows run`` and ``anyint-flows demo``: run flows, resume them, say how to resume."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from anyint import APIConnectionError, AuthenticationError

from ._logging import prefect_console
from ._output import console, err, show
from ._state import options

__all__ = ["FLOWS", "FlowRunFailed", "check_parameters", "demo", "load_flow", "run"]

#: CLI flow name → "module:function".
FLOWS = {
    "music-video": "flows.music_video:music_video",
    "music-remix": "flows.music_remix:music_remix",
    "describe-images": "flows.describe_images:describe_images",
    "generate-image": "flows.generate_image:generate_image",
    "generate-video": "flows.generate_video:generate_video",
    "content-brief": "flows.content_brief:content_brief",
    "batch": "flows.batch:batch",
    "karaoke": "flows.karaoke:karaoke",
    "persona": "flows.persona:persona",
    "assistant": "flows.assistant:assistant",
}


#: What Prefect raises when its temporary server does not answer within the startup timeout.
_SLOW_START = "Timed out while attempting to connect to ephemeral Prefect API server"
_SLOW_START_LINE = (
    "the temporary Prefect server did not start within {seconds:g} s (a busy machine?): run "
    "again with PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=600, or run `prefect server "
    "start` and export PREFECT_API_URL=http://127.0.0.1:4200/api"
)

#: What to do about a failure whose message names the symptom but not the fix (first match).
_FIXES: tuple[tuple[type[BaseException], str], ...] = (
    (AuthenticationError, "check ANYINT_API_KEY (or the key saved in credentials_block)"),
    (APIConnectionError, "check ANYINT_BASE_URL and that the gateway is reachable from here"),
)


class FlowRunFailed(Exception):
    """A flow run ended failed, crashed or interrupted; says how to resume it."""

    def __init__(self, flow: str, flow_run_id: str | None, cause: BaseException) -> None:
        if self.interrupted_by(cause):
            line = "interrupted: the flow run stopped where it was (state Crashed)"
        else:
            first = (str(cause) or type(cause).__name__).splitlines()[0]
            fix = next((f for kind, f in _FIXES if isinstance(cause, kind)), None)
            line = f"{type(cause).__name__}: {first}" + (f"; {fix}" if fix else "")
        super().__init__(f"{line} (flow run {flow_run_id})" if flow_run_id else line)
        self.flow, self.flow_run_id, self.cause = flow, flow_run_id, cause

    @staticmethod
    def interrupted_by(cause: BaseException) -> bool:
        """Ctrl-C reaches a flow as KeyboardInterrupt or as the cancellation of its task."""
        return isinstance(cause, KeyboardInterrupt | asyncio.CancelledError)

    @property
    def resumable(self) -> bool:
        """Bad input is fixed by changing parameters, not by resuming the same run."""
        return self.flow_run_id is not None and not isinstance(self.cause, ValueError)

    def resume_command(self) -> str:
        """The exact command that resumes this run without paying again."""
        from tasks.run import resume_command

        return resume_command(self.flow, self.flow_run_id)


def load_flow(name: str) -> Any:
    """The flow object behind a CLI flow name.

    Raises:
        typer.BadParameter: Unknown name (the message lists the known ones).
    """
    if name not in FLOWS:
        raise typer.BadParameter(f"unknown flow {name!r}; choose one of {', '.join(FLOWS)}")
    module, _, attr = FLOWS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def check_parameters(flow_name: str, parameters: Mapping[str, Any]) -> None:
    """Check a run's parameters with the flow's own parameter model, before any flow run exists.

    Raises:
        typer.BadParameter: One line: the parameter, its rule, and what the flow takes.
    """
    from flows._params import validate_parameters

    fn = load_flow(flow_name).fn
    try:
        validate_parameters(fn, parameters)
    except ValueError as exc:
        takes = ", ".join(inspect.signature(fn).parameters)
        raise typer.BadParameter(f"{exc}; fix --params ({flow_name} takes: {takes})") from None


async def _find_run(flow_name: str, ref: str) -> Any:
    """The flow run to resume: by id, or ``last`` (the newest run of that flow)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    async with get_client() as client:
        if ref == "last":
            found = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=1,
            )
            if not found:
                raise typer.BadParameter(f"--resume last: no earlier run of {flow_name}")
            return found[0]
        try:
            flow_run = await client.read_flow_run(uuid.UUID(ref))
        except ValueError:
            raise typer.BadParameter(f"--resume: {ref!r} is not a flow run id or 'last'") from None
        flow = await client.read_flow(flow_run.flow_id)
        if flow.name != flow_name:
            raise typer.BadParameter(f"--resume: flow run {ref} is a {flow.name} run")
        return flow_run


async def execute(flow_name: str, parameters: dict[str, Any], resume: str | None = None) -> Any:
    """Run (or resume) one flow and return its result.

    Raises:
        FlowRunFailed: The run did not complete (with its id, for the resume command).
    """
    from prefect.flow_engine import run_flow_async

    seen: dict[str, str] = {}

    def remember(_flow: Any, flow_run: Any, _state: Any) -> None:
        seen["id"] = str(flow_run.id)

    target = load_flow(flow_name)
    target = target.with_options(on_running=[*target.on_running_hooks, remember])
    try:
        if resume is None:
            check_parameters(flow_name, parameters)  # `run` did already; `demo` and callers not
            state = await target(**parameters, return_state=True)
        else:
            flow_run = await _find_run(flow_name, resume)
            if parameters and parameters != flow_run.parameters:
                raise typer.BadParameter(
                    "--params differ from the run's own; leave --params out to resume as it was"
                )
            state = await run_flow_async(
                target, flow_run=flow_run, parameters=flow_run.parameters, return_type="state"
            )
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        raise FlowRunFailed(flow_name, seen.get("id"), exc) from None
    if state.is_completed():
        return await state.aresult()
    cause = await state.aresult(raise_on_failure=False)
    flow_run_id = str(state.state_details.flow_run_id or seen.get("id") or "") or None
    error = cause if isinstance(cause, BaseException) else RuntimeError(state.message or "")
    raise FlowRunFailed(flow_name, flow_run_id, error)


@contextmanager
def _usage_errors() -> Iterator[None]:
    """Bad input (``typer.BadParameter``) as one line and exit status 2, like a usage error."""
    try:
        yield
    except typer.BadParameter as exc:
        if options["debug"]:
            raise
        err.print(f"[red]error:[/red] {exc.message}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def report(call: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``call``; on failure print one line (and the resume command) and exit non-zero.

    Prefect's engine logs a failure's traceback too: on the console only with ``--debug``.
    """
    with _usage_errors(), prefect_console(options["debug"]):
        return _one_line_errors(call)


def _one_line_errors(call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return asyncio.run(call())  # type: ignore[arg-type]
    except FlowRunFailed as exc:
        if options["debug"]:
            raise exc.cause from exc
        err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        if exc.resumable:
            err.print(f"resume with: {exc.resume_command()}", highlight=False)
        raise typer.Exit(130 if exc.interrupted_by(exc.cause) else 1) from None
    except (typer.BadParameter, typer.Exit):
        raise
    except Exception as exc:
        if options["debug"]:
            raise
        if _SLOW_START in str(exc):
            from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as limit

            line = _SLOW_START_LINE.format(seconds=limit.value())
        else:
            line = f"{type(exc).__name__}: {exc}".splitlines()[0]
        err.print(f"[red]error:[/red] {line}", markup=True, highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def _emulated(on: bool, store: str | None) -> Iterator[None]:
    """The embedded emulator and a local store when ``on``; else the store option alone."""
    if not on:
        if store:
            os.environ["ANYINT_STORE"] = store
        yield
        return
    from emulator.app import create_app

    from .embedded import embedded_gateway

    with embedded_gateway(create_app(timing="fast"), store or "./output"):
        yield


def run(
    flow: Annotated[str, typer.Argument(help=f"One of: {', '.join(FLOWS)}.")],
    params: Annotated[str, typer.Option("--params", help="Flow parameters as JSON.")] = "{}",
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="Resume this flow run (an id, or 'last') without paying again.",
        ),
    ] = None,
    emulator: Annotated[bool, typer.Option(help="Use the embedded emulator.")] = False,
    store: Annotated[str | None, typer.Option(help="Asset store (ANYINT_STORE).")] = None,
) -> None:
    """Run one flow with parameters, or resume an interrupted or failed run."""
    with _usage_errors():  # before anything starts: no server, no emulator, no flow run
        try:
            parameters = json.loads(params)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"--params is not valid JSON: {exc.msg}") from None
        if not isinstance(parameters, dict):
            raise typer.BadParameter("--params must be a JSON object")
        if resume is None:
            check_parameters(flow, parameters)
        else:
            load_flow(flow)
    with _emulated(emulator, store):
        show(report(lambda: execute(flow, parameters, resume)))


def demo(
    store: Annotated[str, typer.Option(help="Asset store: folder or fsspec URL.")] = "./output",
    timing: Annotated[str, typer.Option(help="Emulator pace: fast or realistic.")] = "fast",
) -> None:
    """Run music-video, generate-image and generate-video on the embedded emulator."""
    from emulator.app import create_app

    from .embedded import embedded_gateway

    async def everything() -> None:
        for name, params in (
            ("music-video", {"poll_interval": 0.5}),
            ("generate-image", {"route": "dashscope"}),
            ("generate-video", {"duration": 3}),
        ):
            console.rule(f"[bold]{name}")
            show(await execute(name, params))

    with embedded_gateway(create_app(timing=timing), store):
        report(everything)
    console.print(
        f"\nAll assets are under [bold]{Path(store).resolve()}[/bold] "
        "(one manifest.json per flow run in runs/)."
    )
