"""Deterministic tool calling and structured output for the emulated chat models (§9.5, §12.2-12.3).

A declared tool is "chosen" when the latest user text names it, or uses a distinctive word of its
name or description; its required arguments are filled from the text by small heuristics (the
capitalised words after "in" become a location, a quoted phrase a query, a number a count). After
the caller sends the tool's result back, the reply reports it. Both the Anthropic and the Gemini
routes use this module; only their wire shapes differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .understanding import shorten

__all__ = ["ToolSpec", "fill_args", "pick_tool", "result_text", "schema_value"]

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_QUOTED = re.compile(r"[\"“']([^\"”']{1,200})[\"”']")
# A capitalised phrase after a preposition: "in London", "for New York", "near St. Ives".
_PLACE = re.compile(
    r"\b(?:in|at|for|near|from|to|of)\s+((?:[A-Z][\w.'-]*)(?:\s+[A-Z][\w.'-]*)*)", re.UNICODE
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z][\w'-]*)")
# Words too common to pick a tool on their own.
_STOPWORDS = frozenset(
    """about after again against also another because before being below between both could
    current does doing during each every from given have having here into itself just like more
    most other over same should some such than that their them then there these they this those
    through under until using very what when where which while will with would your""".split()
)


@dataclass(frozen=True)
class ToolSpec:
    """A declared tool, whatever the wire shape.

    Attributes:
        name: Tool (function) name.
        description: Its description, possibly empty.
        parameters: JSON-schema-like object of its arguments (Google's upper-case types too).
    """

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def keywords(self) -> set[str]:
        """Distinctive words of the name (``get_current_temperature``) and description."""
        words = {w.lower() for w in re.split(r"[_.\-\s]+|(?<=[a-z])(?=[A-Z])", self.name)}
        words |= {w.lower() for w in _WORD.findall(self.description) if len(w) >= 5}
        return {w for w in words if len(w) >= 4 and w not in _STOPWORDS}


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def pick_tool(
    prompt: str,
    tools: Sequence[ToolSpec],
    *,
    mode: str = "auto",
    allowed: Iterable[str] | None = None,
) -> ToolSpec | None:
    """The tool the prompt asks for, if any.

    Args:
        prompt: The latest user text.
        tools: Declared tools, in declaration order (ties go to the first).
        mode: ``auto`` (call only on a match), ``any`` (always call one), ``none`` (never).
        allowed: Names the call is restricted to, when given.

    Returns:
        The chosen tool, or None to answer in text.
    """
    if mode == "none" or not tools:
        return None
    names = set(allowed) if allowed is not None else None
    candidates = [t for t in tools if names is None or t.name in names]
    lowered, words = prompt.lower(), _words(prompt)
    best, best_score = None, 0
    for tool in candidates:
        spaced = tool.name.replace("_", " ").lower()
        score = 100 if tool.name.lower() in lowered or spaced in lowered else 0
        score += len(tool.keywords() & words)
        if score > best_score:
            best, best_score = tool, score
    if best is None and mode == "any" and candidates:
        return candidates[0]
    return best


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kind = next((k for k in kind if str(k).lower() != "null"), "string")
    if kind is None:
        for key in ("anyOf", "oneOf", "any_of"):
            options = schema.get(key)
            if isinstance(options, list) and options and isinstance(options[0], Mapping):
                return _type_of(options[0])
        return "object" if "properties" in schema else "string"
    return str(kind).lower()


def _string_for(name: str, schema: Mapping[str, Any], prompt: str) -> str:
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        mentioned = [str(e) for e in enum if str(e).lower() in prompt.lower()]
        return mentioned[0] if mentioned else str(enum[0])
    if quoted := _QUOTED.search(prompt):
        return quoted.group(1)
    if place := _PLACE.search(prompt):
        return place.group(1).rstrip(".")
    if capital := _CAPITALISED.search(prompt):
        return capital.group(1)
    return shorten(prompt, 200) or name


def _value_for(name: str, schema: Mapping[str, Any], prompt: str) -> Any:
    kind = _type_of(schema)
    if kind in ("integer", "number"):
        found = _NUMBER.search(prompt)
        number = float(found.group()) if found else 1
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return False
    if kind == "array":
        items = schema.get("items")
        return [_value_for(name, items if isinstance(items, Mapping) else {}, prompt)]
    if kind == "object":
        return fill_args(prompt, schema)
    return _string_for(name, schema, prompt)


def fill_args(prompt: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments for a call: every required property, filled from ``prompt``.

    Strings take an enum value the prompt mentions, else a quoted phrase, else the capitalised
    words after a preposition ("London" in "What is the temperature in London?"), else a
    capitalised word, else the prompt itself. Numbers take the first number in the prompt.
    """
    properties = parameters.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    required = parameters.get("required")
    names = [n for n in required if n in properties] if isinstance(required, list) else []
    return {
        n: _value_for(n, properties[n] if isinstance(properties[n], Mapping) else {}, prompt)
        for n in names
    }


def _summary(value: Any) -> str:
    if isinstance(value, Mapping):
        inner = value.get("result", value.get("output")) if len(value) == 1 else None
        if inner is not None:
            return _summary(inner)
        return ", ".join(f"{k} {_summary(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_summary(v) for v in value)
    return shorten(str(value), 200)


def result_text(question: str, name: str, result: Any) -> str:
    """The final reply once a tool result came back, e.g. ``...get_weather reported: temp 14.``"""
    asked = f'To answer "{shorten(question)}": ' if question.strip() else ""
    return f"{asked}{name} reported {_summary(result) or 'nothing'}."


def schema_value(schema: Mapping[str, Any], facts: Mapping[str, Any], answer: str) -> Any:
    """A value that satisfies a response schema, filled from known facts where names match.

    Args:
        schema: JSON schema (or Google's OpenAPI subset, upper-case types allowed).
        facts: Values by property name (``width``, ``color``...), used when a name matches.
        answer: Text for string properties nothing else fills.
    """
    kind = _type_of(schema)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return dict(facts) or {"answer": answer}
        out: dict[str, Any] = {}
        for key, sub in properties.items():
            sub = sub if isinstance(sub, Mapping) else {}
            known = facts.get(str(key).lower())
            if known is not None and _fits(known, _type_of(sub)):
                out[key] = known
            else:
                out[key] = schema_value(sub, facts, answer)
        return out
    if kind == "array":
        items = schema.get("items")
        return [schema_value(items if isinstance(items, Mapping) else {}, facts, answer)]
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    return answer


def _fits(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("integer", "number"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return kind not in ("object", "array", "boolean")
