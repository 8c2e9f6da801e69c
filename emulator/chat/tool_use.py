"""Deterministic tool calling and structured output for the emulated chat models (§9.5, §12.2-12.3).

A declared tool is "chosen" when the latest user text names it, or uses a distinctive word of its
name or description. Its arguments come from the text: ``name=value`` pairs (``size="16:9"``,
``count=3``) for any property, then small heuristics for required ones still missing (the
capitalised words after "in" become a location, a quoted phrase a query, a number a count).
When the text names several tools, each one's pairs are read from its own stretch of the text
(from its name to the next tool's), and after each result comes back the next named tool not yet
called is called, in the order the text names them; once none is left, the reply reports the
results. Both the Anthropic and the Gemini routes use this module; only their wire shapes differ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .understanding import shorten

__all__ = [
    "ToolSpec",
    "fill_args",
    "next_named_tool",
    "pick_tool",
    "result_text",
    "schema_value",
    "tool_text",
]

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_QUOTED = re.compile(r"[\"“']([^\"”']{1,200})[\"”']")
# A capitalised phrase after a preposition: "in London", "for New York", "near St. Ives".
_PLACE = re.compile(
    r"\b(?:in|at|for|near|from|to|of)\s+((?:[A-Z][\w.'-]*)(?:\s+[A-Z][\w.'-]*)*)", re.UNICODE
)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z][\w'-]*)")
# ``name=value`` pairs: a quoted value (straight or curly quotes) or a bare word up to a space
# (commas kept: ``tags=a,b`` is a list).
_PAIR = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|“([^”]*)”|([^\s;]+))")
_TRUE, _FALSE = frozenset({"true", "yes", "on", "1"}), frozenset({"false", "no", "off", "0"})
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
    """The tool the prompt asks for, if any: the first it names, else the best keyword match.

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
    named = _mentions(prompt, candidates)
    if named:  # tools named outright are called in the order the prompt names them
        return named[0][1]
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


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    """A ``name=value`` pair's text as the property's type; None when it cannot be one."""
    kind = _type_of(schema)
    enum = schema.get("enum")
    if kind in ("integer", "number"):
        if not _NUMBER.fullmatch(raw):
            return None
        return int(float(raw)) if kind == "integer" else float(raw)
    if kind == "boolean":
        lowered = raw.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    if kind in ("array", "object"):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if kind == "object":
            return value if isinstance(value, dict) else None
        if isinstance(value, list):
            return value
        items = schema.get("items")
        items = items if isinstance(items, Mapping) else {}
        coerced = [_coerce(v.strip(), items) for v in raw.split(",") if v.strip()]
        return coerced if coerced and None not in coerced else None
    if isinstance(enum, list) and enum and raw not in [str(e) for e in enum]:
        return None
    return raw


def _pairs(prompt: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties the prompt spells out as ``name=value`` (first mention wins)."""
    found: dict[str, Any] = {}
    for match in _PAIR.finditer(prompt):
        name = match.group(1)
        if name in found or not isinstance(properties.get(name), Mapping):
            continue
        *quoted, bare = match.groups()[1:]
        # A bare value ends a sentence as often as not: "days=3." means 3.
        raw = next((q for q in quoted if q is not None), None) or (bare or "").rstrip(".,!?)")
        value = _coerce(raw, properties[name])
        if value is not None:
            found[name] = value
    return found


def fill_args(prompt: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments for a call: the ``name=value`` pairs of ``prompt``, then every required property.

    A pair counts when its name is a property and its value fits the property's type
    (``count=3`` for an integer, ``style="lo-fi jazz"`` for a string, ``tags=a,b`` for an array
    of strings, an enum value for an enum). Required properties no pair gives are filled by
    heuristics: strings take an enum value the prompt mentions, else a quoted phrase, else the
    capitalised words after a preposition ("London" in "What is the temperature in London?"),
    else a capitalised word, else the prompt itself; numbers take the first number in the
    prompt. Optional properties without a pair are left out, so their defaults apply.
    """
    properties = parameters.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    args = _pairs(prompt, properties)
    required = parameters.get("required")
    names = [n for n in required if n in properties] if isinstance(required, list) else []
    for n in names:
        if n not in args:
            schema = properties[n] if isinstance(properties[n], Mapping) else {}
            args[n] = _value_for(n, schema, prompt)
    return args


def _mentions(prompt: str, tools: Sequence[ToolSpec]) -> list[tuple[int, ToolSpec]]:
    """``(position, tool)`` of each declared tool the prompt names outright, in prompt order."""
    lowered = prompt.lower()
    found = []
    for tool in tools:
        spellings = {tool.name.lower(), tool.name.replace("_", " ").lower()}
        positions = [at for s in spellings if (at := lowered.find(s)) >= 0]
        if positions:
            found.append((min(positions), tool))
    return sorted(found, key=lambda item: item[0])


def next_named_tool(
    prompt: str,
    tools: Sequence[ToolSpec],
    called: Iterable[str],
    *,
    allowed: Iterable[str] | None = None,
) -> ToolSpec | None:
    """The next tool the prompt names outright that the conversation has not called yet.

    Args:
        prompt: The user's request.
        tools: Declared tools.
        called: Names of the tools already called in the conversation.
        allowed: Names the call is restricted to, when given.
    """
    done = set(called)
    names = set(allowed) if allowed is not None else None
    for _, tool in _mentions(prompt, tools):
        if tool.name not in done and (names is None or tool.name in names):
            return tool
    return None


def tool_text(prompt: str, tool: ToolSpec, tools: Sequence[ToolSpec]) -> str:
    """The part of ``prompt`` that is about ``tool``, to read its arguments from.

    When the prompt names two or more declared tools, each one's stretch runs from its name to
    the next tool's name (the first one's from the start of the prompt); otherwise, or when the
    prompt does not name ``tool``, it is the whole prompt.
    """
    mentions = _mentions(prompt, tools)
    names = [t.name for _, t in mentions]
    if len(mentions) < 2 or tool.name not in names:
        return prompt
    i = names.index(tool.name)
    start = 0 if i == 0 else mentions[i][0]
    end = mentions[i + 1][0] if i + 1 < len(mentions) else len(prompt)
    return prompt[start:end]


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
