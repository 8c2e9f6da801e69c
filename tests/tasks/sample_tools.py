"""Tools for the tool tests, importable by path (``tests.tasks.sample_tools:get_weather``).

Each call is appended to :data:`CALLS`, so a test sees what ran, with which arguments.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from prefect import get_run_logger
from pydantic import BaseModel, Field

from tasks.tools import ToolContext

#: ``(tool, arguments)`` of every call, in order.
CALLS: list[tuple[str, dict[str, Any]]] = []
NOT_CALLABLE = 3


class Place(BaseModel):
    """A place on the map."""

    city: str
    country: str | None = None


def get_weather(
    city: str, unit: Literal["celsius", "fahrenheit"] = "celsius", days: int = 1
) -> dict[str, Any]:
    """Get the weather forecast for a city.

    Longer text that the declaration leaves out.

    Args:
        city: City name, e.g. London.
        unit: Temperature unit.
        days: How many days
            to forecast.

    Returns:
        The forecast.
    """
    CALLS.append(("get_weather", {"city": city, "unit": unit, "days": days}))
    get_run_logger().info("looking up the weather in %s", city)
    return {"city": city, "temperature": 14 if unit == "celsius" else 57, "unit": unit}


async def count_words(text: Annotated[str, Field(description="The text to count.")]) -> int:
    """Count the words of a text."""
    CALLS.append(("count_words", {"text": text}))
    return len(text.split())


def explode(reason: str = "boom") -> str:
    """Always fails (a tool with a bug)."""
    CALLS.append(("explode", {"reason": reason}))
    raise RuntimeError(f"the explode tool broke: {reason}")


def where_am_i(place: Place, context: ToolContext | None = None) -> dict[str, Any]:
    """Echo a place and the run context a tool receives.

    Args:
        place: Where.
        context: Filled in by the toolkit.
    """
    assert context is not None
    CALLS.append(("where_am_i", {"place": place.model_dump()}))
    return {"city": place.city, "intent": context.intent, "step": context.step}


def star_args(*values: int) -> int:
    """Cannot be declared: a model passes named arguments only."""
    return sum(values)


def untyped(value):  # type: ignore[no-untyped-def]
    """Cannot be declared: no annotation."""
    return value


def anything(value: Any) -> Any:
    """Cannot be declared: Any has no JSON type."""
    return value


class Opaque:
    """A class pydantic cannot make a schema of."""


def opaque(value: Opaque) -> str:
    """Cannot be declared: an unsupported annotation."""
    return str(value)
