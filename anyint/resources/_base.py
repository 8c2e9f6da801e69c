"""Shared plumbing for resource classes."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from .._answers import decode_json
from .._doubt import ambiguous_answer
from .._exceptions import APIResponseValidationError
from .._polling import TaskSnapshot, WaitOptions, wait_for_task

if TYPE_CHECKING:
    from .._client import AnyIntClient

__all__ = [
    "Resource",
    "build_params",
    "notify",
    "parse_created",
    "parse_event",
    "parse_response",
    "path_id",
    "require_id",
]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
S = TypeVar("S", bound=TaskSnapshot)


class Resource:
    """A route family bound to one :class:`AnyIntClient`."""

    def __init__(self, client: AnyIntClient) -> None:
        self._client = client

    async def _submit(
        self,
        model: type[M],
        path: str,
        body: dict[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        ok_code: int | None = None,
    ) -> M:
        """POST a task-creating request and read its answer; any doubt is raised, never resent.

        Args:
            model: The documented create answer.
            path: Gateway path of the create route.
            body: JSON body.
            headers: Extra headers.
            ok_code: Body ``code`` meaning success (Suno 200, Kling 0).

        Returns:
            The parsed answer.

        Raises:
            APIStatusError: A proven rejection (4xx, 503, or such a body code).
            AmbiguousSubmitError: Anything else: no answer, another 5xx, an unreadable 2xx.
        """
        response = await self._client.request(
            "POST", path, json=body, headers=headers, creates_task=True, ok_code=ok_code
        )
        return parse_created(model, response, path=path, body=body)

    async def _wait(
        self, poll: Callable[[], Awaitable[S]], task_id: str, options: WaitOptions[S]
    ) -> S:
        """The loop behind every family's ``wait``: :func:`wait_for_task` on ``poll``."""
        return await wait_for_task(poll, task_id=task_id, **options)


async def notify(callback: Callable[[str], object] | None, text: str | None) -> None:
    """Call a streaming ``on_text`` callback with new text, awaiting it when it is async."""
    if text and callback is not None:
        result = callback(text)
        if inspect.isawaitable(result):
            await result


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


def parse_event(validate: Callable[[Any], T], data: Any, response: httpx.Response, what: str) -> T:
    """Validate one decoded stream event with ``validate`` (a model's or adapter's validator).

    Raises:
        APIResponseValidationError: The event lacks documented fields (``what`` names it).
    """
    try:
        return validate(data)
    except ValidationError as exc:
        raise APIResponseValidationError(
            f"unreadable {what}: {exc.errors()[0]['msg']}", request=response.request, body=data
        ) from exc


def parse_created(model: type[M], response: httpx.Response, *, path: str, body: Any) -> M:
    """Read the 2xx answer to a create; one that cannot be read leaves the task in doubt.

    The one place that turns "cannot read the create answer" into doubt: a body that is not
    JSON, fails ``model``, or whose ``task_id`` (when ``model`` has one) is empty may still
    belong to a created, billed task, so it must never be resent.

    Args:
        model: The documented create answer.
        response: The 2xx answer, body read.
        path: Gateway path of the create (for the request digest).
        body: JSON body of the create (for the digest, and masked from the error).

    Returns:
        The parsed answer.

    Raises:
        AmbiguousSubmitError: The answer is not the documented one (from the parse error).
    """
    try:
        created = parse_response(model, response)
        if isinstance(inspect.getattr_static(model, "task_id", None), property):
            task_id = getattr(created, "task_id", None)
            if not isinstance(task_id, str) or not task_id.strip():
                raise APIResponseValidationError(
                    f"{model.__name__} from {path} has an empty task id", request=response.request
                )
    except APIResponseValidationError as exc:
        problem = exc.message
    else:
        return created
    # Raised outside the handler, so the unmasked parse error is not chained to the doubt (an
    # exception's context travels with it where it is pickled with its chain, as Dask does).
    raise ambiguous_answer(
        response, method=response.request.method, path=path, body=body, problem=problem
    )


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


def path_id(name: str, value: str) -> str:
    """``value`` checked (see :func:`require_id`) and percent-encoded as one URL path segment.

    Ids are the gateway's data: a space, ``+``, ``=`` or ``%`` in one must reach the gateway as
    that very character, never as path syntax (a ``%2F`` sent as it is would arrive as ``/``).

    Raises:
        ValueError: As :func:`require_id`, or ``value`` is not valid Unicode text.
    """
    return quote(require_id(name, value), safe="")


def _aliased(model: type[BaseModel], fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` keyed by wire name, so Python-name and wire-name keys merge as one field."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        info = model.model_fields.get(key)
        out[info.alias if info is not None and info.alias else key] = value
    return out


def build_params(
    model: type[M], params: M | Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> M:
    """Validate a request body before any I/O.

    The body may come as a params object, a mapping, keyword fields, or a params object or
    mapping plus keyword fields (keywords win). A params object is validated again: one built
    with ``model_construct()`` or mutated after creation would otherwise skip the rules.

    Raises:
        TypeError: ``params`` is neither a ``model`` nor a mapping.
        pydantic.ValidationError: A field breaks a documented rule (nothing is sent).
    """
    if params is None:
        base: dict[str, Any] = {}
    elif isinstance(params, model):
        # warnings=False: such an instance may hold raw values; validation reports them instead.
        base = params.model_dump(by_alias=True, exclude_unset=True, warnings=False)
    elif isinstance(params, Mapping):
        base = _aliased(model, params)
    else:
        raise TypeError(
            f"params must be a {model.__name__} or a mapping, got {type(params).__name__}"
        )
    return model.model_validate({**base, **_aliased(model, fields)})
