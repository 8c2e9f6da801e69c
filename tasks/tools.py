"""Tools a model may call: Python callables named by import path, declared from their signatures.

A tool is ``"package.module:function"`` (``"package.module:Class.method"`` works too). Its
declaration (:class:`ToolDeclaration`) is what the model sees: the function's name, the summary
of its Google-style docstring, and a JSON schema of its parameters, built by pydantic from the
type hints (each parameter described by its ``Args:`` entry, or by an ``Annotated`` ``Field``
description). A parameter annotated :class:`ToolContext` is not declared: :func:`call_tool`
fills it with the run's context (how the toolkit's own flows reach the same gateway and store).

:func:`resolve_tool` checks a path before any paid call, naming the parameter. :func:`call_tool`
is one Prefect task run per call, named after the tool, with its own logs; it imports the
callable by path (so it runs wherever the task runner puts it), validates the model's arguments
against the signature, and awaits an async tool or runs a sync one in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, get_args, get_type_hints

from prefect import Flow, Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, ValidationError, create_model
from pydantic_core import to_jsonable_python

__all__ = [
    "MAX_RESULT_CHARS",
    "ToolArgumentsError",
    "ToolContext",
    "ToolDeclaration",
    "call_tool",
    "declare",
    "docstring_parts",
    "resolve_tool",
    "result_for_model",
]

#: A tool's result is cut to this many characters of JSON before it goes back to the model.
MAX_RESULT_CHARS = 20_000
#: Names both routes accept: Gemini allows dots, Anthropic does not; both cap at 64.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_PATH = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_SECTIONS = ("Args", "Arguments", "Parameters", "Params")
_OTHER_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")
_ENTRY = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
#: Schema keys both Gemini's OpenAPI subset (contract §9.5) and Anthropic's JSON schema take.
_SCHEMA_KEYS = frozenset(
    """type format description nullable enum items properties required minItems maxItems
    minimum maximum minLength maxLength pattern anyOf default""".split()
)


class ToolContext(BaseModel):
    """What a tool gets when it has a parameter annotated ``ToolContext`` (never declared).

    Attributes:
        credentials_block: The calling flow's ``credentials_block``.
        store_block: The calling flow's ``store_block``.
        intent: The calling flow run's intent (``run:<id>`` or ``key:<key>``).
        deadline_seconds: Time left in the calling flow's budget when the call started.
        poll_interval: The calling flow's first poll interval.
        step: Which model turn asked for the call (1-based).
    """

    credentials_block: str | None = None
    store_block: str | None = None
    intent: str = "local"
    deadline_seconds: float = 1800.0
    poll_interval: float = 5.0
    step: int = 1


class ToolDeclaration(BaseModel):
    """A tool as the model sees it, and the import path that is called.

    Attributes:
        path: Import path of the callable (``package.module:function``).
        name: Function name the model calls.
        description: Docstring summary.
        parameters: JSON schema (an object) of the declared parameters.
    """

    path: str
    name: str
    description: str
    parameters: dict[str, Any]

    def gemini(self) -> dict[str, Any]:
        """A Gemini ``functionDeclarations`` entry (§9.5); no ``parameters`` without any."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.parameters.get("properties"):
            out["parameters"] = self.parameters
        return out

    def anthropic(self) -> dict[str, Any]:
        """An Anthropic ``tools`` entry (§8.2)."""
        return {"name": self.name, "description": self.description, "input_schema": self.parameters}


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool's signature (sent back to the model to fix)."""


def docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary and the ``Args:`` descriptions of a Google-style docstring.

    Returns:
        ``(summary, {parameter: description})``; the summary is the first paragraph.
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip():
            break
        summary.append(line.strip())
    args: dict[str, str] = {}
    current: str | None = None
    inside, args_indent = False, 0
    for line in lines:
        stripped = line.strip()
        if not line.startswith((" ", "\t")) and stripped:
            inside = stripped.rstrip(":") in _SECTIONS and stripped.endswith(":")
            current = None
            continue
        if not inside or not stripped or _OTHER_SECTION.match(line):
            continue
        indent = len(line) - len(line.lstrip())
        entry = _ENTRY.match(stripped)
        if entry and (current is None or indent <= args_indent):
            current, args_indent = entry.group(1).lstrip("*"), indent
            args[current] = entry.group(2).strip()
        elif current is not None:
            args[current] = f"{args[current]} {stripped}".strip()
    return " ".join(summary), args


def _unwrap(obj: Any) -> Callable[..., Any]:
    """The plain function behind a Prefect flow or task (its signature is the tool's)."""
    return obj.fn if isinstance(obj, Flow | Task) else obj


def _is_context(hint: Any) -> bool:
    """``ToolContext``, also inside ``Optional`` or ``Annotated``."""
    if isinstance(hint, type):
        return issubclass(hint, ToolContext)
    return any(_is_context(arg) for arg in get_args(hint))


@functools.cache
def _arguments_model(fn: Callable[..., Any]) -> tuple[type[BaseModel], tuple[str, ...]]:
    """A pydantic model of ``fn``'s declared parameters, and the names of its context ones.

    Raises:
        ValueError: A parameter that cannot be declared (``*args``, positional-only, no
            annotation, or an annotation pydantic cannot make a schema of).
    """
    signature = inspect.signature(fn)
    try:
        hints = get_type_hints(fn, include_extras=True)
    except Exception as exc:  # a forward reference that does not resolve, say
        raise ValueError(f"its type hints cannot be read ({exc})") from None
    _, described = docstring_parts(fn.__doc__)
    fields: dict[str, Any] = {}
    context: list[str] = []
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise ValueError(f"{star}{name} cannot be declared: a model passes named arguments")
        if param.kind is param.POSITIONAL_ONLY:
            raise ValueError(f"parameter {name!r} is positional-only; a model passes names")
        if name not in hints:
            raise ValueError(f"parameter {name!r} has no type annotation; annotate it")
        if _is_context(hints[name]):
            context.append(name)
            continue
        default = ... if param.default is param.empty else param.default
        info = Field(default, description=described[name]) if name in described else default
        fields[name] = (hints[name], info)
    try:
        model = create_model(
            f"{fn.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        model.model_json_schema()
    except (PydanticUserError, TypeError) as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(
            f"a parameter's annotation cannot be declared to a model ({first})"
        ) from None
    return model, tuple(context)


def _inline(schema: Any, defs: Mapping[str, Any], seen: tuple[str, ...]) -> Any:
    """``schema`` with ``$ref`` inlined, ``Optional`` as ``nullable`` and only portable keys."""
    if isinstance(schema, list):
        return [_inline(s, defs, seen) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        if name in seen:
            raise ValueError(f"type {name} refers to itself; a model cannot be given that schema")
        return _inline(
            {**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}, defs, (*seen, name)
        )
    out = {k: _inline(v, defs, seen) for k, v in schema.items() if k in _SCHEMA_KEYS}
    if "properties" in schema:  # property names are data, not schema keys
        out["properties"] = {k: _inline(v, defs, seen) for k, v in schema["properties"].items()}
    if "const" in schema:
        out["enum"] = [schema["const"]]
    options = out.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) < len(options):
            out["nullable"] = True
        if len(kept) == 1:
            del out["anyOf"]
            out = {**kept[0], **out}
        else:
            out["anyOf"] = kept
    return out


def _check_typed(schema: Mapping[str, Any], where: str) -> None:
    """Every property needs a type a model can fill (``Any`` or a bare ``object`` has none)."""
    for name, sub in (schema.get("properties") or {}).items():
        if "type" not in sub and "anyOf" not in sub and "enum" not in sub:
            raise ValueError(
                f"parameter {name!r}{where} has no JSON type (Any?); use a concrete type "
                "such as str, int, float, bool, list[str], a TypedDict or a pydantic model"
            )
        _check_typed(sub, f" of {name!r}{where}" if where else f" (in {name!r})")
        if isinstance(sub.get("items"), Mapping):
            _check_typed(sub["items"], where)


def declare(fn: Callable[..., Any], path: str) -> ToolDeclaration:
    """The declaration of ``fn``: its name, docstring summary and parameters' JSON schema.

    Args:
        fn: The tool (a function, a Prefect flow or task).
        path: Its import path, recorded in the declaration.

    Raises:
        ValueError: The name is not one a model can call, or a parameter cannot be declared.
    """
    target = _unwrap(fn)
    name = getattr(target, "__name__", "")
    if not _NAME.match(name):
        raise ValueError(
            f"its name {name!r} is not a function name a model can call "
            "(letters, digits, '_' and '-', at most 64, not starting with a digit)"
        )
    model, _ = _arguments_model(target)
    raw = model.model_json_schema()
    schema = _inline(raw, raw.get("$defs", {}), ())
    schema.setdefault("properties", {})
    _check_typed(schema, "")
    summary, _ = docstring_parts(target.__doc__)
    return ToolDeclaration(path=path, name=name, description=summary, parameters=schema)


def _import(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def resolve_tool(
    path: str, field: str, aliases: Mapping[str, str] | None = None
) -> ToolDeclaration:
    """Import and declare the tool at ``path``, before any paid call.

    Args:
        path: ``package.module:function``, or an alias (``builtin:generate_image``).
        field: The flow parameter it came from (``tools[2]``), named in errors.
        aliases: Alias → import path.

    Raises:
        ValueError: Naming ``field``: an unknown alias, a malformed path, one that does not
            import, is not callable, or cannot be declared.
    """
    aliases = aliases or {}
    if path.startswith("builtin:"):
        if path not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise ValueError(
                f"parameter {field!r}: unknown built-in tool {path!r} (built-ins: {known})"
            )
        path = aliases[path]
    if not _PATH.match(path):
        raise ValueError(
            f"parameter {field!r}: {path!r} is not an import path; write it as "
            "'package.module:function'"
        )
    try:
        obj = _import(path)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"parameter {field!r}: {path!r} does not resolve ({exc})") from None
    except Exception as exc:  # importing a user module runs its code: any error is its own
        raise ValueError(f"parameter {field!r}: importing {path!r} failed: {exc!r}") from None
    if not callable(obj):
        raise ValueError(f"parameter {field!r}: {path!r} is a {type(obj).__name__}, not a function")
    try:
        return declare(obj, path)
    except ValueError as exc:
        raise ValueError(f"parameter {field!r}: {path!r} cannot be declared: {exc}") from None


def _shortened(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def result_for_model(value: Any) -> dict[str, Any]:
    """A tool's result as the object both routes send back: a dict, else ``{"result": value}``.

    JSON longer than :data:`MAX_RESULT_CHARS` is cut and marked, so one chatty tool cannot blow
    the model's context (or the request size limit).
    """
    data = to_jsonable_python(value, fallback=str)
    wrapped = data if isinstance(data, dict) else {"result": data}
    text = json.dumps(wrapped, ensure_ascii=False)
    if len(text) <= MAX_RESULT_CHARS:
        return wrapped
    return {"truncated": True, "result": text[:MAX_RESULT_CHARS]}


@task(name="tool", task_run_name="tool {name}", cache_policy=NO_CACHE)
async def call_tool(
    path: str, name: str, arguments: dict[str, Any], context: ToolContext | None = None
) -> Any:
    """Call the tool at ``path`` with the model's ``arguments``; its JSON-ready result.

    Never retried: a tool may have side effects, and its error is the model's to handle.

    Args:
        path: Import path (already resolved, no alias).
        name: Tool name (the task run's name).
        arguments: What the model passed.
        context: Filled into parameters annotated :class:`ToolContext`.

    Raises:
        ToolArgumentsError: The arguments do not fit the signature (names the fields).
        Exception: Whatever the tool raises.
    """
    logger = get_run_logger()
    obj = _import(path)
    target = _unwrap(obj)
    model, context_names = _arguments_model(target)
    try:
        checked = model.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        raise ToolArgumentsError(
            f"arguments of {name} do not fit its signature: {problems}"
        ) from None
    kwargs = {field: getattr(checked, field) for field in type(checked).model_fields}
    kwargs |= {n: context or ToolContext() for n in context_names}
    logger.info("calling %s(%s)", name, _shortened(arguments))
    if inspect.iscoroutinefunction(target) or isinstance(obj, Flow | Task):
        result = obj(**kwargs)
    else:
        # A sync tool must not block the flow's event loop (streams, other tasks).
        result = await asyncio.to_thread(functools.partial(obj, **kwargs))
    if inspect.isawaitable(result):
        result = await result
    jsonable = to_jsonable_python(result, fallback=str)
    logger.info("%s returned %s", name, _shortened(jsonable))
    return jsonable
