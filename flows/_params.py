"""The flows' one parameter mechanism: the flow signature is the schema (Prefect renders it in
the UI and in a deployment's parameter schema), :func:`checked_parameters` checks a run's values
against it, naming the field, and the ``Annotated`` types here are the parameters flows share.
Cross-field rules are plain functions of each flow."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ParamSpec, TypeVar, get_type_hints

from prefect import Flow, flow
from prefect.context import FlowRunContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from anyint.types import check_texts

__all__ = [
    "MAX_DEADLINE_SECONDS",
    "BlockName",
    "DeadlineSeconds",
    "Defer",
    "IdempotencyKey",
    "PollInterval",
    "PriceTable",
    "checked_flow",
    "checked_parameters",
    "model_field",
    "named_error",
    "text_field",
    "validate_parameters",
]

P = ParamSpec("P")
R = TypeVar("R")

#: A week: longer than any documented generation, short enough to be a real deadline.
MAX_DEADLINE_SECONDS = 7 * 24 * 3600.0

BlockName = Annotated[
    str | None, Field(description="Name of a saved block; empty uses the environment.")
]
IdempotencyKey = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description=(
            "Runs with the same key share their gateway tasks and stored assets (nothing is "
            "paid twice). Empty: this flow run is its own intent; retrying it resumes it."
        ),
    ),
]
DeadlineSeconds = Annotated[
    float,
    Field(
        gt=0,
        le=MAX_DEADLINE_SECONDS,
        allow_inf_nan=False,
        description="Time budget for all the waiting of this run, in seconds (retries included).",
    ),
]
PollInterval = Annotated[
    float,
    Field(
        gt=0,
        le=600,
        allow_inf_nan=False,
        description="First poll interval in seconds; later waits are 10 % of the time waited.",
    ),
]

Defer = Annotated[
    bool,
    Field(
        description=(
            "Deployment runs: when every running step waits on the gateway, suspend the run "
            "(its worker slot is free meanwhile) and resume it on a callback or the next poll. "
            "Off: wait in the run's process (always so for local runs)."
        )
    ),
]
PriceTable = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=500,
        description=(
            "Store key of a JSON price table (see tasks.usage) that turns the usage the gateway "
            "reports into an estimated cost. Empty: usage only, no cost."
        ),
    ),
]


def model_field(defaults: str) -> Any:
    """The ``Field`` of an optional model id, whose default depends on the route.

    Args:
        defaults: Each route's default model, as the description lists them.
    """
    return Field(
        max_length=200, description=f"Model id; empty picks the route's default ({defaults})."
    )


def text_field(max_length: int, description: str) -> Any:
    """The ``Field`` of a required text parameter: not empty, at most ``max_length`` characters.

    Like every text parameter, it may not hold control characters other than tab, newline and
    CRLF line breaks (checked for all of them by :func:`validate_parameters`).

    Used as ``Annotated[str, text_field(2000, "What the image shows.")]``.
    """
    return Field(min_length=1, max_length=max_length, description=description)


def named_error(exc: ValidationError, rename: dict[str, str] | None = None) -> ValueError:
    """One ``ValueError`` that names the flow parameter behind each validation error.

    A message that names its parameter already (a rule raised ``parameter 'size': ...``) is
    kept as it is, and one no parameter can be found for is left unprefixed: never a doubled
    ``parameter 'body': parameter 'size'``, nor a parameter the flow does not have.

    Args:
        exc: The validation error of a parameters model or a request body.
        rename: Wire or field name → flow parameter name (e.g. ``{"prompt": "lyrics"}``).
    """
    rename = rename or {}
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        name = loc[0] if loc else _named_in(message, rename)
        if name is None or message.startswith("parameter '"):
            parts.append(message)
        else:
            parts.append(f"parameter {rename.get(name, name)!r}: {message}")
    return ValueError("; ".join(parts))


def _named_in(message: str, rename: dict[str, str]) -> str | None:
    """The field a model-level rule message is about (the request models start with it)."""
    first = message.split(" ", 1)[0]
    return first if first in rename or first in ("prompt", "style", "title", "model") else None


def checked_flow(name: str, description: str) -> Callable[[Callable[P, R]], Flow[P, R]]:
    """``@flow`` for a flow whose first statement is ``checked_parameters(locals())``.

    Prefect's own parameter validation is off: it would reject a bad value with its own
    ``ParameterTypeError`` before the body runs, while these flows promise a ``ValueError``
    naming the parameter. Deployments still get the same schema, which Prefect builds from the
    signature (and the docstring's ``Args``) either way.

    Its state hooks release the run's concurrency slots when it fails, crashes or completes,
    and abandon its in-flight gateway tasks when it is cancelled (:mod:`tasks.cancel`).

    Args:
        name: Flow name (deployments and the UI know the flow by it).
        description: One line shown in the UI.
    """
    from tasks.cancel import on_cancelled, on_ended

    # The state hooks free the run's concurrency slots and, on cancellation, mark its gateway
    # tasks abandoned (see tasks.cancel); a suspended run is in none of these states.
    return flow(
        name=name,
        description=description,
        validate_parameters=False,
        on_failure=[on_ended],
        on_crashed=[on_ended],
        on_completion=[on_ended],
        on_cancellation=[on_cancelled],
    )


def checked_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """Validate a flow's parameters against its own signature; errors name the parameter.

    Flows using this are declared with :func:`checked_flow`.

    Args:
        values: ``locals()`` at the top of the flow function (its parameters).

    Returns:
        The parameters coerced to their annotated types (``"V5"`` becomes ``SunoModel.V5``).
    """
    context = FlowRunContext.get()
    if context is None or context.flow is None:
        raise RuntimeError("checked_parameters() must be called inside a flow run")
    fields = _parameters_model(context.flow.fn).model_fields
    return validate_parameters(context.flow.fn, {k: v for k, v in values.items() if k in fields})


def validate_parameters(fn: Callable[..., Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``values`` against the signature of flow function ``fn``, before or in a run.

    The one check behind :func:`checked_parameters`; ``anyint-flows run`` calls it before a
    flow run exists, so a bad ``--params`` creates no run.

    Args:
        fn: The flow's function (``flow.fn``).
        values: Parameter values by name; a name the signature lacks is an error.

    Returns:
        The parameters coerced to their annotated types, defaults filled in.

    Raises:
        ValueError: Naming each bad parameter and its rule.
    """
    try:
        checked = _parameters_model(fn).model_validate(dict(values))
    except ValidationError as exc:
        raise named_error(exc) from None
    return {name: getattr(checked, name) for name in type(checked).model_fields}


class _Parameters(BaseModel):
    """What every flow's parameters model shares: no unknown names, no control characters."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # Every text parameter, titles, prompts, styles and lyrics alike (and each text of a
        # list), is checked before any run or paid call, with the rule of the request models.
        return check_texts(value)


@functools.cache
def _parameters_model(fn: Callable[..., Any]) -> type[BaseModel]:
    hints = get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {
        name: (hints.get(name, Any), param.default)
        for name, param in inspect.signature(fn).parameters.items()
    }
    return create_model(f"{fn.__name__}_parameters", __base__=_Parameters, **fields)
