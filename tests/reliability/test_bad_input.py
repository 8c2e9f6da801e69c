"""Bad input across the client, the store, image inputs, tasks, flows and the CLI.

Every row gets exactly one clear error that names the offending field, and the emulator's call
log shows no gateway call at all (rows that need the model catalogue may read it: that call is
free, and it is the only one).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import flow
from pydantic import ValidationError
from typer.testing import CliRunner

from anyint import AnyIntClient
from blocks import AssetStore
from emulator.app import create_app
from emulator.server import ThreadedEmulatorServer
from flows import start_run
from tasks import submit
from tasks.images import MAX_INLINE_BYTES, load_image
from tests._media import data_url, png_bytes
from tests.conftest import CANARY_KEY, EmulatedGateway

from ._support import calls

CATALOGUE = {"GET /openai/v1/models", "GET /anthropic/v1/models"}
HUGE_IMAGE = data_url(png_bytes() + b"\0" * MAX_INLINE_BYTES)
CB = "https://callbacks.invalid/anyint"
UNREACHABLE_FRAME = "https://unreachable.invalid/frame.png"
FRAME = data_url(png_bytes())


@dataclass(frozen=True)
class Bad:
    """One bad input.

    Attributes:
        id: Row id.
        run: Does the bad thing (gets the client, the store and the input folder).
        field: Regex that must appear in the error: the field it names.
        catalogue: The row may read the model catalogue (and nothing else).
        xfail: Why the product still gets this row wrong (a known defect).
    """

    id: str
    run: Callable[[AnyIntClient, AssetStore, Path], Awaitable[Any] | Any]
    field: str
    catalogue: bool = False
    xfail: str | None = None


def _suno_song(**fields: Any) -> dict[str, Any]:
    return {
        "custom_mode": False,
        "instrumental": False,
        "model": "V5",
        "prompt": "a song",
        "call_back_url": CB,
        **fields,
    }


@flow(name="reliability-bad-submit")
async def _submit_flow(route: str, body: dict[str, Any]) -> Any:
    run = await start_run({"route": route, "body": body})
    return await submit(run, route, body)


def _flow(name: str, **params: Any) -> Callable[[AnyIntClient, AssetStore, Path], Awaitable[Any]]:
    async def run(client: AnyIntClient, store: AssetStore, folder: Path) -> Any:
        import importlib

        module = importlib.import_module(f"flows.{name}")
        return await getattr(module, name)(**params)

    return run


CLIENT: list[Bad] = [
    Bad("suno-model-enum", lambda c, s, f: c.suno.generate(**_suno_song(model="V9")), "model"),
    Bad(
        "suno-custom-needs-style",
        lambda c, s, f: c.suno.generate(**_suno_song(custom_mode=True)),
        "style",
    ),
    Bad(
        "suno-simple-prompt-limit",
        lambda c, s, f: c.suno.generate(**_suno_song(prompt="x" * 501)),
        "prompt",
    ),
    Bad(
        "suno-custom-mode-type",
        lambda c, s, f: c.suno.generate(**_suno_song(custom_mode="yes")),
        "custom_?[mM]ode",
    ),
    Bad(
        "suno-callback-not-http",
        lambda c, s, f: c.suno.generate(**_suno_song(call_back_url="ftp://hooks/x")),
        "call_?[bB]ack_?[uU]rl",
    ),
    Bad(
        "suno-style-weight-limit",
        lambda c, s, f: c.suno.generate(**_suno_song(style_weight=1.5)),
        "style_?[wW]eight",
    ),
    Bad(
        "suno-lyrics-empty",
        lambda c, s, f: c.suno.generate_lyrics(prompt="", call_back_url=CB),
        "prompt",
    ),
    Bad(
        "suno-wav-missing-audio-id",
        lambda c, s, f: c.suno.wav_generate(task_id="t1", call_back_url=CB),
        "audio_?[iI]d",
    ),
    Bad(
        "suno-mp4-author-limit",
        lambda c, s, f: c.suno.mp4_generate(
            task_id="t", audio_id="a", author="x" * 51, call_back_url=CB
        ),
        "author",
    ),
    Bad("dashscope-task-id-path", lambda c, s, f: c.dashscope.get_task("../etc"), "task_id"),
    Bad(
        "gemini-model-path",
        lambda c, s, f: c.gemini.generate_content("a/b", contents=[{"parts": [{"text": "x"}]}]),
        "model",
    ),
    Bad(
        "kling-prompt-limit",
        lambda c, s, f: c.kling.create_text2video(model_name="kling-v3", prompt="x" * 2501),
        "prompt",
    ),
    Bad(
        "kling-aspect-enum",
        lambda c, s, f: c.kling.create_text2video(
            model_name="kling-v3", prompt="x", aspect_ratio="2:1"
        ),
        "aspect_ratio",
    ),
    Bad(
        "kling-image-not-http",
        lambda c, s, f: c.kling.create_image2video(
            model_name="kling-v3", prompt="x", image="ftp://host/frame.png"
        ),
        "image",
    ),
    Bad(
        "videos-aspect-format",
        lambda c, s, f: c.videos.create(model="kling-3.0", prompt="x", aspect_ratio="wide"),
        "aspect_ratio",
    ),
    Bad(
        "anthropic-max-tokens-type",
        lambda c, s, f: c.anthropic.create(
            model="claude-sonnet-4-6",
            max_tokens="many",
            messages=[{"role": "user", "content": "x"}],
        ),
        "max_tokens",
    ),
    Bad("base-url-scheme", lambda c, s, f: AnyIntClient("k", "ftp://gateway.example"), "base_url"),
    # Control characters in text (tab, newline and CRLF pass): refused, naming the field.
    Bad(
        "kling-prompt-nul",
        lambda c, s, f: c.kling.create_text2video(model_name="kling-v3", prompt="a fox\x00"),
        r"prompt: .*has a control character, U\+0000 \(NUL\), at position 6 of 6",
    ),
    Bad(
        "suno-title-escape",
        lambda c, s, f: c.suno.generate(
            **_suno_song(custom_mode=True, style="pop", title="\x1b[2JHi", prompt="la la")
        ),
        r"title: .*U\+001B \(ESC\), at position 1",
    ),
    Bad(
        "dashscope-nested-prompt-cr",
        lambda c, s, f: c.dashscope.create_video_task(
            model="wan2.6-t2v", input={"prompt": "a kite\rover the sea"}
        ),
        r"input\.prompt: .*has a carriage return without a newline, U\+000D \(CR\)",
    ),
    Bad(
        "anthropic-content-del",
        lambda c, s, f: c.anthropic.create(
            model="claude-sonnet-4-6",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi\x7f"}],
        ),
        r"content: .*has a control character, U\+007F \(DEL\)",
    ),
]

STORE: list[Bad] = [
    Bad(
        "store-dotdot", lambda c, s, f: s.put_bytes("../escape.txt", b"x", "text/plain"), r"'\.\.'"
    ),
    Bad("store-inner-dotdot", lambda c, s, f: s.read_json("runs/../../etc/x.json"), r"'\.\.'"),
    Bad(
        "store-absolute", lambda c, s, f: s.put_bytes("/etc/passwd", b"x", "text/plain"), "relative"
    ),
    Bad("store-scheme", lambda c, s, f: s.open("s3://other-bucket/key"), "scheme"),
    Bad("store-list-dotdot", lambda c, s, f: s.list(".."), r"'\.\.'"),
]

IMAGES: list[Bad] = [
    Bad("image-ftp", lambda c, s, f: load_image("ftp://host/x.png", "images[0]"), r"images\[0\]"),
    Bad("image-file-url", lambda c, s, f: load_image("file:///etc/passwd", "image"), "image"),
    Bad("image-outside-folder", lambda c, s, f: load_image("../x.png", "image"), "image.*outside"),
    Bad("image-absolute-path", lambda c, s, f: load_image("/etc/hosts", "image"), "image.*outside"),
    Bad("image-huge-inline", lambda c, s, f: load_image(HUGE_IMAGE, "image"), "image.*at most"),
    Bad("image-not-base64", lambda c, s, f: load_image("data:image/png,raw", "image"), "image"),
    Bad(
        "image-not-an-image",
        lambda c, s, f: load_image(data_url(b"hello, world", "image/png"), "image"),
        "image.*not a PNG",
    ),
    Bad("image-url-no-host", lambda c, s, f: load_image("https://", "image"), "image"),
]

TASKS: list[Bad] = [
    Bad("submit-unknown-route", lambda c, s, f: _submit_flow("suno.nope", {}), "route"),
    Bad(
        "submit-missing-prompt",
        lambda c, s, f: _submit_flow(
            "suno.generate", {"customMode": False, "instrumental": False, "model": "V5"}
        ),
        "prompt",
    ),
    Bad(
        "submit-extra-field",
        lambda c, s, f: _submit_flow(
            "dashscope.video-synthesis",
            {"model": "wan2.6-t2v", "input": {"prompt": "x"}, "colour": "red"},
        ),
        "colour",
    ),
    Bad(
        "submit-kling-image-count",
        lambda c, s, f: _submit_flow(
            "kling.image", {"model_name": "kling-v2-1", "prompt": "x", "n": 10}
        ),
        "n",
    ),
]

#: Flow rows that need nothing else, by flow: (row id, what the error must name, the parameters).
_FLOW_PARAMETERS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "music_video": [
        ("music-model-enum", "'model'", {"model": "V9"}),
        ("music-track-limit", "'track'", {"track": 2}),
        ("music-style-limit", "'style'", {"style": "x" * 1001}),
        ("music-stems-enum", "'stems'", {"stems": "all"}),
        ("music-instrumental-type", "'instrumental'", {"instrumental": "maybe"}),
        ("music-title-without-lyrics", "'title'", {"lyrics": False, "title": "Hi"}),
        ("music-title-nul", "'title'.*U\\+0000", {"title": "Hi\x00"}),
        ("music-style-escape", "'style'.*U\\+001B", {"style": "\x1b[31mpop"}),
        ("music-prompt-lone-cr", "'prompt'.*carriage return", {"prompt": "sea\rsong"}),
    ],
    "describe_images": [
        ("describe-no-images", "'images'", {"images": []}),
        ("describe-route-enum", "'route'", {"route": "openai"}),
        ("describe-image-ftp", r"images\[0\]", {"images": ["ftp://host/x.png"]}),
        ("describe-image-outside", r"images\[0\].*outside", {"images": ["../../etc/passwd"]}),
        ("describe-image-huge-file", r"images\[0\]", {"images": ["huge.png"]}),
        ("describe-question-limit", "'question'", {"question": "x" * 4001}),
        ("describe-question-form-feed", "'question'.*U\\+000C", {"question": "what\x0c?"}),
    ],
    "generate_image": [
        ("image-route-enum", "'route'", {"route": "midjourney"}),
        ("image-size-format", "'size'", {"size": "huge"}),
        ("image-size-not-offered", "'size'", {"route": "dashscope", "size": "512*512"}),
        ("image-stream-on-dashscope", "'stream'", {"route": "dashscope", "stream": True}),
        ("image-blank-prompt", "'prompt'", {"prompt": " "}),
        ("image-prompt-nul", "'prompt'.*U\\+0000.*position 4 of", {"prompt": "cat\x00"}),
        ("image-n-on-gemini", "'n'", {"n": 2}),
        ("image-seed-on-kling", "'seed'", {"route": "kling", "seed": 1}),
        ("image-references-on-kling", "'images'", {"route": "kling", "images": [FRAME, FRAME]}),
    ],
    "generate_video": [
        ("video-duration-limit", "'duration'", {"duration": 0}),
        ("video-duration-type", "'duration'", {"duration": "five"}),
        # Gone with the run model (one deadline per run; a new run is new work): refused by name.
        ("video-max-wait-gone", "max_wait_minutes", {"max_wait_minutes": 5}),
        ("video-force-new-gone", "force_new", {"force_new": True}),
        ("video-image-file-url", "'?image", {"image": "file:///etc/passwd"}),
        ("video-image-unreachable", "'?image", {"route": "kling", "image": UNREACHABLE_FRAME}),
        ("video-omni-model", "'model'", {"route": "kling-omni", "model": "kling-v3"}),
        ("video-mode-on-dashscope", "'mode'", {"mode": "pro"}),
        ("video-omni-duration", "'duration'", {"route": "kling-omni", "duration": 1}),
    ],
    "content_brief": [
        ("content-brief-unknown", "no_such_parameter", {"no_such_parameter": 1}),
        ("content-brief-bel", "'brief'.*U\\+0007", {"brief": "calm sea\x07"}),
        ("content-brief-style-nul", "'song_style'.*U\\+0000", {"song_style": "\x00"}),
    ],
}

FLOWS: list[Bad] = [
    *(
        Bad(row_id, _flow(name, **parameters), field)
        for name, rows in _FLOW_PARAMETERS.items()
        for row_id, field, parameters in rows
    ),
    *(
        Bad(
            f"{name.replace('_', '-')}-deadline-{label}",
            _flow(name, deadline_seconds=value),
            "'deadline_seconds'",
        )
        for name in ("music_video", "generate_video", "content_brief")
        for label, value in (
            ("infinity", float("inf")),
            ("1e308", 1e308),
            ("negative", -1),
            ("zero", 0),
            ("nan", float("nan")),
        )
    ),
    *(
        Bad(
            f"{name.replace('_', '-')}-key-{label}",
            _flow(name, idempotency_key=key),
            "'idempotency_key'",
        )
        for name, label, key in (
            ("music_video", "nul", "run\x00one"),
            ("generate_video", "newline", "run\none"),
            ("generate_image", "escape", "\x1b[31mred"),
            ("music_video", "del", "run\x7f"),
            ("generate_video", "empty", ""),
        )
    ),
    Bad(
        "describe-image-huge-inline",
        _flow("describe_images", images=[HUGE_IMAGE]),
        r"images\[0\]",
        xfail=(
            "Prefect refuses flow-run parameters over 512 KB before the flow body runs: the "
            "error is the API's 422 carrying the whole image, not one naming images[0] (the "
            "parameter's description now says to pass larger images as a path or URL)"
        ),
    ),
    # These two may read the model catalogue before they are refused (and nothing else).
    Bad(
        "describe-unknown-model",
        _flow("describe_images", model="no-such-model"),
        "'model'",
        catalogue=True,
    ),
    Bad(
        "describe-image-unreachable",
        _flow("describe_images", images=["https://unreachable.invalid/x.png"]),
        r"images\[0\]",
        catalogue=True,
    ),
]

ROWS = CLIENT + STORE + IMAGES + TASKS + FLOWS


def _check_one_error(exc: BaseException, field: str) -> None:
    if isinstance(exc, ValidationError):
        assert exc.error_count() == 1, str(exc)
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        assert re.search(field, f"{where}: {exc.errors()[0]['msg']}"), str(exc)
        return
    assert isinstance(exc, ValueError | TypeError), repr(exc)
    assert re.search(field, str(exc)), str(exc)


def _row(bad: Bad) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=bad.xfail)] if bad.xfail else []
    return pytest.param(bad, id=bad.id, marks=marks)


@pytest.mark.parametrize("bad", [_row(b) for b in ROWS])
async def test_bad_input(
    bad: Bad,
    gateway: EmulatedGateway,
    control: httpx.AsyncClient,
    input_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(input_dir)
    (input_dir.parent / "x.png").write_bytes(png_bytes())  # exists, but outside the folder
    (input_dir / "huge.png").write_bytes(png_bytes() + b"\0" * MAX_INLINE_BYTES)
    async with (await gateway.config.connect()).client() as client:
        with pytest.raises(Exception) as info:
            result = bad.run(client, gateway.store, input_dir)
            if isinstance(result, Awaitable):
                await result
    _check_one_error(info.value, bad.field)
    made = {f"{c['method']} {c['path']}" for c in await calls(control)}
    assert made <= (CATALOGUE if bad.catalogue else set()), made
    assert gateway.store.list("assets") == [] and gateway.store.list("submits") == []


# -- the CLI --------------------------------------------------------------------------------------

CLI: list[tuple[str, list[str], str]] = [
    ("cli-unknown-flow", ["run", "no-such-flow"], "unknown flow"),
    ("cli-params-not-json", ["run", "generate-image", "--params", "{not json"], "not valid JSON"),
    ("cli-params-not-object", ["run", "generate-image", "--params", "[1]"], "JSON object"),
    ("cli-unknown-parameter", ["run", "generate-image", "--params", '{"nope": 1}'], "nope"),
    ("cli-music-model", ["run", "music-video", "--params", '{"model": "V9"}'], "'model'"),
    ("cli-video-duration", ["run", "generate-video", "--params", '{"duration": 99}'], "'duration'"),
    *(
        (
            f"cli-deadline-{label}",
            ["run", "music-video", "--params", f'{{"deadline_seconds": {value}}}'],
            "'deadline_seconds'",
        )
        for label, value in (("infinity", "Infinity"), ("nan", "NaN"), ("1e308", "1e308"))
    ),
    (
        "cli-key-control",
        ["run", "generate-video", "--params", '{"idempotency_key": "a\\u0000b"}'],
        "'idempotency_key'",
    ),
    (
        "cli-video-max-wait-gone",
        ["run", "generate-video", "--params", '{"max_wait_minutes": 5}'],
        "max_wait_minutes",
    ),
    (
        "cli-video-force-new",
        ["run", "generate-video", "--params", '{"force_new": true}'],
        "force_new",
    ),
    ("cli-image-size-type", ["run", "generate-image", "--params", '{"size": 5}'], "'size'"),
    (
        "cli-prompt-nul",
        ["run", "generate-image", "--params", '{"prompt": "a\\u0000cat"}'],
        r"'prompt'.*U\+0000",
    ),
    (
        "cli-describe-outside",
        ["run", "describe-images", "--params", '{"images": ["../secret.png"]}'],
        r"images\[0\]",
    ),
]


@pytest.fixture(scope="module")
def cli_gateway() -> Iterator[tuple[str, httpx.Client]]:
    """An emulator on a socket for the CLI's flows (configured through ``ANYINT_*``)."""
    with ThreadedEmulatorServer(create_app()) as server:
        with httpx.Client(base_url=server.base_url) as control:
            yield server.base_url, control


@pytest.mark.parametrize(("args", "message"), [pytest.param(a, m, id=i) for i, a, m in CLI])
def test_cli_bad_input(
    args: list[str],
    message: str,
    cli_gateway: tuple[str, httpx.Client],
    input_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from anyint_cli import app

    base_url, control = cli_gateway
    control.post("/_emulator/reset")
    monkeypatch.setenv("ANYINT_API_KEY", CANARY_KEY)
    monkeypatch.setenv("ANYINT_BASE_URL", base_url)
    result = CliRunner().invoke(app, [*args, "--store", str(input_dir / "store")])
    assert result.exit_code != 0
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output
    # One error (typer's box, or the CLI's "error:" line), not a dump.
    assert len(re.findall(r"^error:|─ Error ─", result.output, re.M)) == 1, result.output
    assert len(result.output.splitlines()) <= 8, result.output
    made = {f"{c['method']} {c['path']}" for c in control.get("/_emulator/calls").json()["calls"]}
    assert made <= CATALOGUE, made


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) + len(CLI) >= 40
