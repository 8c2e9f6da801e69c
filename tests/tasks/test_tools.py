"""Tools by import path: declarations from signatures and docstrings, and ``call_tool`` runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterTaskRunId,
)
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogHandler

from flows._assistant_tools import BUILTINS
from tasks.tools import (
    MAX_RESULT_CHARS,
    ToolArgumentsError,
    ToolContext,
    call_tool,
    docstring_parts,
    resolve_tool,
    result_for_model,
)
from tests.reliability._support import until
from tests.tasks import sample_tools

TOOLS = "tests.tasks.sample_tools"


def test_declaration_from_signature_and_docstring() -> None:
    weather = resolve_tool(f"{TOOLS}:get_weather", "tools[0]")
    assert (weather.name, weather.path) == ("get_weather", f"{TOOLS}:get_weather")
    assert weather.description == "Get the weather forecast for a city."  # summary only
    assert weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. London."},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "Temperature unit.",
            },
            "days": {"type": "integer", "default": 1, "description": "How many days to forecast."},
        },
        "required": ["city"],
    }
    assert weather.gemini() == {
        "name": "get_weather",
        "description": weather.description,
        "parameters": weather.parameters,
    }
    assert weather.anthropic()["input_schema"] == weather.parameters


def test_nested_models_are_inlined_and_the_context_is_not_declared() -> None:
    where = resolve_tool(f"{TOOLS}:where_am_i", "tools[0]").parameters
    assert set(where["properties"]) == {"place"}  # `context: ToolContext | None` is filled in
    place = where["properties"]["place"]
    assert "$ref" not in str(where) and "$defs" not in where and "title" not in str(where)
    assert place["type"] == "object" and place["required"] == ["city"]
    assert place["properties"]["country"] == {"type": "string", "nullable": True, "default": None}
    # An Annotated Field description is kept when the docstring has no Args entry.
    words = resolve_tool(f"{TOOLS}:count_words", "tools[1]")
    assert words.parameters["properties"]["text"]["description"] == "The text to count."


def test_builtins_declare_only_what_a_model_chooses() -> None:
    image = resolve_tool("builtin:generate_image", "tools[0]", BUILTINS)
    assert image.name == "generate_image" and image.path == BUILTINS["builtin:generate_image"]
    assert set(image.parameters["properties"]) == {"prompt", "route", "size"}
    assert image.parameters["required"] == ["prompt"]
    song = resolve_tool("builtin:music_video", "tools[0]", BUILTINS)
    assert "credentials_block" not in song.parameters["properties"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("get_weather", "not an import path"),
        ("tests.tasks.no_such_module:f", "does not resolve"),
        (f"{TOOLS}:no_such_function", "does not resolve"),
        (f"{TOOLS}:NOT_CALLABLE", "is a int, not a function"),
        (f"{TOOLS}:star_args", r"\*values cannot be declared"),
        (f"{TOOLS}:untyped", "'value' has no type annotation"),
        (f"{TOOLS}:anything", "'value' has no JSON type"),
        (f"{TOOLS}:opaque", "annotation cannot be declared"),
        ("builtin:make_coffee", "unknown built-in tool"),
    ],
)
def test_a_path_that_cannot_be_a_tool_names_the_field(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^parameter 'tools\[3\]': .*{message}"):
        resolve_tool(path, "tools[3]", BUILTINS)


def test_docstring_parts() -> None:
    summary, args = docstring_parts(
        """Do a thing
        in two lines.

        Args:
            first (int): The first
                value.
            **extra: More.

        Raises:
            ValueError: Not an argument.
        """
    )
    assert summary == "Do a thing in two lines."
    assert args == {"first": "The first value.", "extra": "More."}


def test_results_for_the_model_are_objects_and_bounded() -> None:
    assert result_for_model(3) == {"result": 3}
    assert result_for_model({"a": [1]}) == {"a": [1]}
    big = result_for_model("x" * (MAX_RESULT_CHARS * 2))
    assert big["truncated"] is True and len(big["result"]) == MAX_RESULT_CHARS


async def _task_runs(flow_state: Any) -> dict[str, tuple[str, str]]:
    """Task run name → (its state, its log text), of the flow run behind ``flow_state``."""
    # Task runs (as events) and logs reach the API in batches: send them all now.
    await APILogHandler.aflush()
    await EventsWorker.drain_all()  # type: ignore[misc]
    flow_run_id = flow_state.state_details.flow_run_id
    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
        out = {}
        for run in runs:
            logs = await client.read_logs(LogFilter(task_run_id=LogFilterTaskRunId(any_=[run.id])))
            out[run.name] = (run.state_name or "", "\n".join(log.message for log in logs))
    return out


async def _recorded_runs(
    flow_state: Any, ready: Callable[[dict[str, tuple[str, str]]], bool]
) -> dict[str, tuple[str, str]]:
    """:func:`_task_runs` once the server has recorded what ``ready`` looks for: it records a
    task run's name and final state from its events, after the run (a bounded read-until)."""

    async def read() -> dict[str, tuple[str, str]] | None:
        runs = await _task_runs(flow_state)
        return runs if ready(runs) else None

    return await until(read, within=60, every=0.2, what="the task runs as the server records them")


#: The tool task runs the bad-arguments test expects to fail.
FAILED = ("tool get_weather", "tool explode")


async def test_each_call_is_its_own_task_run_with_its_logs(prefect_harness: None) -> None:
    sample_tools.CALLS.clear()

    @flow
    async def calls() -> list[Any]:
        sync = await call_tool(f"{TOOLS}:get_weather", "get_weather", {"city": "Oslo", "days": "2"})
        run_async = await call_tool(f"{TOOLS}:count_words", "count_words", {"text": "one two"})
        context = ToolContext(intent="run:abc", step=4)
        placed = await call_tool(
            f"{TOOLS}:where_am_i", "where_am_i", {"place": {"city": "Rome"}}, context
        )
        return [sync, run_async, placed]

    state = await calls(return_state=True)
    sync, run_async, placed = await state.aresult()
    assert sync == {"city": "Oslo", "temperature": 14, "unit": "celsius"}
    assert sample_tools.CALLS[0] == ("get_weather", {"city": "Oslo", "unit": "celsius", "days": 2})
    assert run_async == 2
    assert placed == {"city": "Rome", "intent": "run:abc", "step": 4}
    expected = {"tool get_weather", "tool count_words", "tool where_am_i"}
    runs = await _recorded_runs(state, lambda runs: set(runs) == expected)
    assert set(runs) == expected
    status, logs = runs["tool get_weather"]
    assert status == "Completed"
    assert "looking up the weather in Oslo" in logs and "get_weather returned" in logs
    assert "Oslo" not in runs["tool count_words"][1]  # each call has its own logs


async def test_bad_arguments_and_a_raising_tool_fail_their_task_run(prefect_harness: None) -> None:
    sample_tools.CALLS.clear()

    @flow
    async def calls() -> list[Exception]:
        errors = []
        for path, name, arguments in [
            (f"{TOOLS}:get_weather", "get_weather", {"town": "Oslo"}),
            (f"{TOOLS}:explode", "explode", {}),
        ]:
            try:
                await call_tool(path, name, arguments)
            except Exception as exc:
                errors.append(exc)
        return errors

    state = await calls(return_state=True)
    wrong, raised = await state.aresult()
    assert isinstance(wrong, ToolArgumentsError)
    assert "city: Field required" in str(wrong) and "town: Extra inputs" in str(wrong)
    assert sample_tools.CALLS == [("explode", {"reason": "boom"})]  # get_weather never ran
    assert isinstance(raised, RuntimeError) and "explode tool broke" in str(raised)
    runs = await _recorded_runs(
        state, lambda runs: {runs.get(name, ("",))[0] for name in FAILED} == {"Failed"}
    )
    assert runs["tool get_weather"][0] == runs["tool explode"][0] == "Failed"
    assert "explode tool broke" in runs["tool explode"][1]  # the traceback is in its logs
