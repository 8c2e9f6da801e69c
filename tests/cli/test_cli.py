"""The anyint-flows CLI: runs flows on the embedded emulator, fails with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from anyint_cli import FLOWS, app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _harness(prefect_harness: None) -> None:
    """The CLI's flows report to the session's Prefect server."""


def test_run_generate_image_on_the_embedded_emulator(tmp_path: Path) -> None:
    store = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "run",
            "generate-image",
            "--emulator",
            "--store",
            str(store),
            "--params",
            '{"route": "dashscope"}',
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Stored assets" in result.output and "manifest:" in result.output
    assert list(store.glob("assets/dashscope/*/image-1.png"))
    assert list(store.glob("runs/*/manifest.json"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no-such-flow"], "unknown flow"),
        (["run", "generate-image", "--params", "{not json"], "not valid JSON"),
        (["run", "generate-image", "--params", "[1]"], "JSON object"),
        (
            ["run", "generate-image", "--emulator", "--params", '{"model": "no-such-model"}'],
            "no-such-model",
        ),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, [*args, "--store", str(tmp_path)] if "--emulator" in args else args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_every_flow_is_importable() -> None:
    from anyint_cli import _load_flow

    for name in FLOWS:
        assert callable(_load_flow(name))
