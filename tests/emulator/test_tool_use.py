"""The emulated models' tool choice and arguments (emulator/chat/tool_use.py)."""

from __future__ import annotations

from typing import Any

from emulator.chat.tool_use import ToolSpec, fill_args, next_named_tool, pick_tool, tool_text

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
        "ratio": {"type": "number"},
        "loud": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "caption": {"type": "string", "nullable": True},
    },
    "required": ["city"],
}
WEATHER = ToolSpec("get_weather", "Weather forecast for a city", SCHEMA)
IMAGE = ToolSpec("generate_image", "Make an image", {"properties": {"prompt": {"type": "string"}}})
SONG = ToolSpec("music_video", "Make a song", {"properties": {"prompt": {"type": "string"}}})


def test_pairs_fill_any_property_with_its_type() -> None:
    prompt = "Weather in Oslo: unit=fahrenheit days=3 ratio=0.5 loud=yes tags=a,b, caption=sunny."
    assert fill_args(prompt, SCHEMA) == {
        "city": "Oslo",  # required, no pair: the place after "in"
        "unit": "fahrenheit",
        "days": 3,
        "ratio": 0.5,
        "loud": True,
        "tags": ["a", "b"],
        "caption": "sunny",
    }


def test_a_pair_that_does_not_fit_is_left_out() -> None:
    # Not an enum value, not a number: optional ones are dropped, a required one is guessed.
    args = fill_args("city=Rome unit=kelvin days=many", SCHEMA)
    assert args == {"city": "Rome"}
    assert fill_args("no pairs for Paris here", SCHEMA) == {"city": "Paris"}


def test_named_tools_are_called_in_the_order_the_prompt_names_them() -> None:
    tools = [SONG, WEATHER, IMAGE]
    prompt = 'Use generate_image prompt="a red fox", then music_video prompt="fox song".'
    assert pick_tool(prompt, tools) is IMAGE
    assert next_named_tool(prompt, tools, ["generate_image"]) is SONG
    assert next_named_tool(prompt, tools, ["generate_image", "music_video"]) is None
    assert next_named_tool(prompt, tools, ["generate_image"], allowed=["get_weather"]) is None
    # Each tool reads its pairs from its own stretch of the prompt.
    assert fill_args(tool_text(prompt, IMAGE, tools), IMAGE.parameters) == {"prompt": "a red fox"}
    assert fill_args(tool_text(prompt, SONG, tools), SONG.parameters) == {"prompt": "fox song"}
    # One named tool: the whole prompt is its text (the question may come before the name).
    assert tool_text("In Oslo? ask get_weather", WEATHER, tools) == "In Oslo? ask get_weather"
