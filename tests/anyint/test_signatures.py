"""The keyword signatures of the resource methods cannot drift from their request models.

Every method that takes a request as ``params`` also takes its fields as ``**fields:
Unpack[XFields]``; the TypedDict is written by hand next to the model (mypy needs it spelled
out), so this test holds its keys equal to the model's field names.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any, Unpack

import pytest
from pydantic import BaseModel

from anyint.resources import anthropic, dashscope, gemini, kling, models, suno, videos
from anyint.resources._base import Resource

MODULES = [anthropic, dashscope, gemini, kling, models, suno, videos]


def _methods() -> Iterator[tuple[str, Callable[..., Any]]]:
    for module in MODULES:
        for cls in vars(module).values():
            if not (isinstance(cls, type) and issubclass(cls, Resource)) or cls is Resource:
                continue
            for name, method in vars(cls).items():
                if not name.startswith("_") and inspect.isfunction(method):
                    yield f"{cls.__name__}.{name}", method


METHODS_WITH_PARAMS = sorted(
    (name, method)
    for name, method in _methods()
    if "params" in inspect.signature(method).parameters
)
CASES = [pytest.param(name, method, id=name) for name, method in METHODS_WITH_PARAMS]


def _fields_and_model(method: Callable[..., Any]) -> tuple[type, type[BaseModel]]:
    hints = typing.get_type_hints(method)
    signature = inspect.signature(method)
    (var_kw,) = [p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
    unpacked = hints[var_kw.name]
    assert typing.get_origin(unpacked) is Unpack, f"**{var_kw.name} is not Unpack[...]"
    (fields,) = typing.get_args(unpacked)
    (model,) = [
        arg
        for arg in typing.get_args(hints["params"])
        if isinstance(arg, type) and issubclass(arg, BaseModel)
    ]
    return fields, model


def test_every_family_has_methods_that_take_fields() -> None:
    owners = {name.split(".")[0] for name, _ in METHODS_WITH_PARAMS}
    assert owners == {"Anthropic", "DashScope", "Gemini", "Kling", "Suno", "Videos"}


@pytest.mark.parametrize(("name", "method"), CASES)
def test_fields_typeddict_matches_the_request_model(name: str, method: Callable[..., Any]) -> None:
    fields, model = _fields_and_model(method)
    keys = fields.__required_keys__ | fields.__optional_keys__
    assert keys == set(model.model_fields), (
        f"{name}: {fields.__name__} and {model.__name__} differ in "
        f"{sorted(keys ^ set(model.model_fields))}"
    )


@pytest.mark.parametrize(("name", "method"), CASES)
def test_params_is_positional_only(name: str, method: Callable[..., Any]) -> None:
    # A keyword ``params=`` would be read as a field of the request, so it must not exist.
    parameter = inspect.signature(method).parameters["params"]
    assert parameter.kind is parameter.POSITIONAL_ONLY, name
