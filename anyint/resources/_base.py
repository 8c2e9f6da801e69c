"""Shared plumbing for resource classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from .._client import decode_json
from .._exceptions import APIResponseValidationError

if TYPE_CHECKING:
    from .._client import AnyIntClient

__all__ = ["Resource", "parse_response", "require_id"]

M = TypeVar("M", bound=BaseModel)


class Resource:
    """A route family bound to one :class:`AnyIntClient`."""

    def __init__(self, client: AnyIntClient) -> None:
        self._client = client


def parse_response(model: type[M], response: httpx.Response) -> M:
    """Validate a success body against ``model``.

    Raises:
        APIResponseValidationError: The body is not JSON or lacks documented fields.
    """
    data = decode_json(response)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise APIResponseValidationError(
            f"unexpected {model.__name__} body from {response.request.url.path}: "
            f"{exc.error_count()} validation error(s): {exc.errors()[0]['msg']}",
            request=response.request,
            body=data,
        ) from exc


def require_id(name: str, value: str) -> str:
    """Check a path or query id before any I/O.

    Raises:
        ValueError: ``value`` is empty or could change the path (``/``, ``?``, ``#``, ``..``).
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if any(c in value for c in "/?#") or value in (".", ".."):
        raise ValueError(f"{name} must not contain '/', '?', '#' or be '.'/'..', got {value!r}")
    return value
