"""Text refuses control characters before any request: every str field of every request model,
however nested, and every text parameter of the flows, with the field, the character and its
position named. Tab, newline and CRLF line breaks pass; so do base64 data and free-form JSON."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from anyint import AnyIntClient
from anyint.types._base import check_text
from anyint.types.anthropic import MessageCreateParams
from anyint.types.dashscope import DashScopeVideoParams
from anyint.types.gemini import GenerateContentParams
from anyint.types.kling import KlingText2VideoParams
from anyint.types.suno_requests import GenerateParams
from flows._params import validate_parameters
from flows.generate_image import generate_image
from flows.music_video import music_video
from tests._media import png_bytes

from .conftest import Recorder

MakeClient = Callable[..., AnyIntClient]
HINT = "remove it (text may hold tabs, newlines and CRLF line breaks, no other control characters)"
REFUSED = [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + [0x7F]


def _only_error(exc: ValidationError) -> tuple[str, str]:
    """The one error's location (dotted) and message."""
    assert exc.error_count() == 1, str(exc)
    error = exc.errors()[0]
    return ".".join(str(p) for p in error["loc"]), str(error["msg"]).removeprefix("Value error, ")


@pytest.mark.parametrize("code", REFUSED, ids=[f"U+{c:04X}" for c in REFUSED])
def test_every_c0_control_but_tab_and_newline_and_del_is_refused(code: int) -> None:
    with pytest.raises(ValidationError) as caught:
        KlingText2VideoParams(model_name="kling-v3", prompt=f"ab{chr(code)}c")
    where, message = _only_error(caught.value)
    assert where == "prompt"
    assert message.startswith(f"has a control character, U+{code:04X} (")
    assert message.endswith(f"), at position 3 of 4; {HINT}"), message


def test_names_the_character_and_counts_the_others() -> None:
    with pytest.raises(ValueError, match=r"U\+0000 \(NUL\), at position 1 of 4 \(and 2 more"):
        check_text("\x00a\x1b\x07")
    with pytest.raises(ValueError, match=r"U\+001B \(ESC\)"):
        check_text("\x1b[31mred")


@pytest.mark.parametrize(
    "text",
    ["tab\tand newline\n", "windows\r\nlines\r\n", "emoji 🎈, 中文, café", "C1 \x85 stays"],
    ids=["tab-newline", "crlf", "unicode", "c1"],
)
def test_ordinary_text_passes(text: str) -> None:
    assert KlingText2VideoParams(model_name="kling-v3", prompt=text).prompt == text


@pytest.mark.parametrize("text", ["lone\rcr", "ends with cr\r", "cr\r\rlf\n"])
def test_a_carriage_return_outside_crlf_is_refused(text: str) -> None:
    # A lone CR sends a terminal or log viewer back to the line start: later text hides earlier.
    with pytest.raises(ValidationError, match="carriage return without a newline, U\\+000D"):
        KlingText2VideoParams(model_name="kling-v3", prompt=text)


def test_nested_fields_are_checked_and_named() -> None:
    with pytest.raises(ValidationError) as caught:
        DashScopeVideoParams.model_validate({"model": "wan2.6-t2v", "input": {"prompt": "a\x00"}})
    assert _only_error(caught.value)[0] == "input.prompt"

    with pytest.raises(ValidationError) as caught:
        GenerateContentParams.model_validate({"contents": [{"parts": [{"text": "hi\x1b"}]}]})
    assert _only_error(caught.value)[0].endswith("parts.0.text"), str(caught.value)

    with pytest.raises(ValidationError) as caught:
        MessageCreateParams.model_validate(
            {
                "model": "claude-sonnet-4-6",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": "x"}],
                "stop_sequences": ["ok", "b\x00"],
            }
        )
    where, message = _only_error(caught.value)
    assert where == "stop_sequences" and message.startswith("item 1 has a control character")


def test_suno_title_style_and_lyrics_are_checked() -> None:
    song = {"custom_mode": True, "instrumental": False, "model": "V5"}
    song.update(style="pop", title="Hi", prompt="la la")
    for field in ("title", "style", "prompt"):
        with pytest.raises(ValidationError) as caught:
            GenerateParams.model_validate({**song, field: "bad\x00"})
        assert any(field in [str(p) for p in e["loc"]] for e in caught.value.errors()), field


def test_an_assignment_is_checked_too() -> None:
    params = KlingText2VideoParams(model_name="kling-v3", prompt="fine")
    with pytest.raises(ValidationError, match="U\\+0000"):
        params.prompt = "not\x00fine"


def test_base64_data_and_free_form_json_pass() -> None:
    image = base64.b64encode(png_bytes()).decode()
    tool_input = {"raw": "terminal output \x1b[0m", "nested": ["\x00"]}
    params = MessageCreateParams.model_validate(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 8,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": image},
                        }
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "sh", "input": tool_input}
                    ],
                },
            ],
        }
    )
    assert params.to_body()["messages"][1]["content"][0]["input"] == tool_input


async def test_nothing_is_sent(make_client: MakeClient) -> None:
    rec = Recorder(Exception("no request may be sent"))
    client = make_client(rec)
    with pytest.raises(ValidationError, match="prompt"):
        await client.kling.create_text2video(model_name="kling-v3", prompt="a fox\x00")
    assert rec.requests == []


# -- the flows' parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "field", "value"),
    [
        (generate_image.fn, "prompt", "a cat\x00"),
        (music_video.fn, "title", "Song\x1b"),
        (music_video.fn, "style", "pop\x7f"),
        (music_video.fn, "prompt", "sea\rsong"),
    ],
    ids=["image-prompt", "music-title", "music-style", "music-prompt"],
)
def test_flow_text_parameters_name_the_field(fn: Any, field: str, value: str) -> None:
    with pytest.raises(ValueError) as caught:
        validate_parameters(fn, {field: value})
    message = str(caught.value)
    assert message.startswith(f"parameter {field!r}: has a ") and HINT in message, message


def test_flow_text_with_crlf_and_tabs_passes() -> None:
    checked = validate_parameters(music_video.fn, {"prompt": "verse\r\n\tchorus\n"})
    assert checked["prompt"] == "verse\r\n\tchorus\n"
