"""``anyint-flows``: run the product's flows, the emulator and the callback receiver.

Commands:
    demo       music video + image + video against the embedded emulator (no key, no internet)
    run        any flow, against ANYINT_BASE_URL/ANYINT_API_KEY or ``--emulator``
    emulator   start the local gateway emulator
    callbacks  start the callback receiver
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

__all__ = ["FLOWS", "app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
err = Console(stderr=True)

#: CLI flow name → "module:function".
FLOWS = {
    "music-video": "flows.music_video:music_video",
    "describe-images": "flows.describe_images:describe_images",
    "generate-image": "flows.generate_image:generate_image",
    "generate-video": "flows.generate_video:generate_video",
    "content-brief": "flows.content_brief:content_brief",
}

_state = {"debug": False}


def _load_flow(name: str) -> Callable[..., Awaitable[Any]]:
    import importlib

    if name not in FLOWS:
        raise typer.BadParameter(f"unknown flow {name!r}; choose one of {', '.join(FLOWS)}")
    module, _, attr = FLOWS[name].partition(":")
    flow: Callable[..., Awaitable[Any]] = getattr(importlib.import_module(module), attr)
    return flow


@contextmanager
def _embedded_emulator(store: str, timing: str) -> Iterator[None]:
    """Run flows against an in-process emulator and a local store."""
    from blocks import AnyIntCredentials, AssetStore
    from emulator.app import create_app
    from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport
    from tasks import Gateway, use_gateway

    gateway = Gateway(
        credentials=AnyIntCredentials(api_key="sk-emulator-demo", base_url=IN_PROCESS_BASE_URL),
        store=AssetStore(base_url=store),
        transport=EmulatorTransport(create_app(timing=timing)),
    )
    with use_gateway(gateway):
        yield


def _show(result: Any) -> None:
    from tasks import AssetRecord

    data = result.model_dump() if hasattr(result, "model_dump") else result
    assets = _find_assets(result)
    if assets:
        table = Table(title="Stored assets")
        for column in ("kind", "key in the store", "bytes", "sha256"):
            table.add_column(column, overflow="fold")
        for record in assets:
            assert isinstance(record, AssetRecord)
            table.add_row(record.kind, record.key, str(record.bytes), record.sha256[:12])
        console.print(table)
    manifest = data.get("manifest_key") if isinstance(data, dict) else None
    if manifest:
        console.print(f"manifest: [bold]{manifest}[/bold]")
    if not assets:
        console.print_json(json.dumps(data, default=str))


def _find_assets(value: Any) -> list[Any]:
    from tasks import AssetRecord

    if isinstance(value, AssetRecord):
        return [value]
    if isinstance(value, BaseModel):
        value = {k: getattr(value, k) for k in type(value).model_fields}
    if isinstance(value, dict):
        return [a for v in value.values() for a in _find_assets(v)]
    if isinstance(value, list | tuple):
        return [a for v in value for a in _find_assets(v)]
    return []


def _run(coro_factory: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return asyncio.run(coro_factory())  # type: ignore[arg-type]
    except Exception as exc:
        if _state["debug"]:
            raise
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}".splitlines()[0])
        raise typer.Exit(1) from None


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _state["debug"] = debug


@app.command()
def demo(
    store: Annotated[str, typer.Option(help="Asset store: folder or fsspec URL.")] = "./output",
    timing: Annotated[str, typer.Option(help="Emulator pace: fast or realistic.")] = "fast",
) -> None:
    """Run music-video, generate-image and generate-video on the embedded emulator."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

    async def everything() -> list[Any]:
        results = []
        for name, params in (
            ("music-video", {"poll_interval": 0.5}),
            ("generate-image", {"route": "dashscope"}),
            ("generate-video", {"duration": 3}),
        ):
            console.rule(f"[bold]{name}")
            results.append(await _load_flow(name)(**params))
            _show(results[-1])
        return results

    with _embedded_emulator(store, timing):
        _run(everything)
    console.print(
        f"\nAll assets are under [bold]{Path(store).resolve()}[/bold] "
        "(one manifest.json per flow run in runs/)."
    )


@app.command()
def run(
    flow: Annotated[str, typer.Argument(help=f"One of: {', '.join(FLOWS)}.")],
    params: Annotated[str, typer.Option("--params", help="Flow parameters as JSON.")] = "{}",
    emulator: Annotated[bool, typer.Option(help="Use the embedded emulator.")] = False,
    store: Annotated[str | None, typer.Option(help="Asset store (ANYINT_STORE).")] = None,
) -> None:
    """Run one flow with parameters."""
    try:
        parameters = json.loads(params)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--params is not valid JSON: {exc.msg}") from None
    if not isinstance(parameters, dict):
        raise typer.BadParameter("--params must be a JSON object")
    target = _load_flow(flow)
    if emulator:
        with _embedded_emulator(store or "./output", "fast"):
            _show(_run(lambda: target(**parameters)))
        return
    if store:
        os.environ["ANYINT_STORE"] = store
    _show(_run(lambda: target(**parameters)))


@app.command("emulator")
def emulator_command(
    host: str = "127.0.0.1",
    port: int = 8787,
    timing: Annotated[str, typer.Option(help="fast or realistic.")] = "realistic",
) -> None:
    """Start the local AnyInt gateway emulator."""
    from emulator.__main__ import main as emulator_main

    emulator_main(["--host", host, "--port", str(port), "--timing", timing])


@app.command("callbacks")
def callbacks_command(host: str = "127.0.0.1", port: int = 8788) -> None:
    """Start the callback receiver (needs ANYINT_CALLBACK_TOKEN)."""
    from callbacks.__main__ import main as callbacks_main

    callbacks_main(["--host", host, "--port", str(port)])


def main() -> None:
    """Console entry point."""
    app()
