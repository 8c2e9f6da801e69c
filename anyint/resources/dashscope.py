"""DashScope: sync image generation, video-synthesis tasks and task queries (§10.1-10.3)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .._polling import PollSchedule, wait_for_task
from ..types._base import RequestModel
from ..types.dashscope import (
    DashScopeImageParams,
    DashScopeImageResponse,
    DashScopeTask,
    DashScopeTaskCreated,
    DashScopeVideoParams,
)
from ._base import Resource, build_params, parse_response, require_id

__all__ = ["DashScope"]

IMAGE_PATH = "/dashscope/v1/services/aigc/multimodal-generation/generation"
# Note the `video-generation/` segment: `aigc/video-synthesis` alone is not the route (§10.2).
VIDEO_PATH = "/dashscope/v1/services/aigc/video-generation/video-synthesis"
TASK_PATH = "/dashscope/v1/tasks/{task_id}"

# Upstream DashScope runs video synthesis only asynchronously and requires this header; whether
# AnyInt needs it is undocumented (§17 item 9), so it is always sent.
ASYNC_HEADERS = {"X-DashScope-Async": "enable"}

P = TypeVar("P", bound=RequestModel)


class DashScope(Resource):
    """DashScope routes under ``/dashscope/v1`` (Bearer auth).

    Example:
        >>> task = await client.dashscope.create_video_task(  # doctest: +SKIP
        ...     model="wan2.6-t2v", input={"prompt": "a cat surfing"}
        ... )
        >>> done = await client.dashscope.wait(task.task_id)  # doctest: +SKIP
        >>> done.video_url  # doctest: +SKIP
    """

    async def generate_image(
        self, params: DashScopeImageParams | None = None, **kwargs: Any
    ) -> DashScopeImageResponse:
        """Generate images synchronously (one request, one response; not a task).

        Args:
            params: The request; or give its fields as keywords (keywords override ``params``).
            **kwargs: Fields of :class:`DashScopeImageParams`.

        Returns:
            The result; ``.image_urls`` lists the (expiring) image URLs.

        Raises:
            pydantic.ValidationError: Invalid request, before any I/O.
            APIStatusError: The gateway refused it (DashScope ``{code, message}`` bodies included).
        """
        body = build_params(DashScopeImageParams, params, kwargs).to_body()
        response = await self._client.request("POST", IMAGE_PATH, json=body)
        return parse_response(DashScopeImageResponse, response)

    async def create_video_task(
        self, params: DashScopeVideoParams | None = None, **kwargs: Any
    ) -> DashScopeTaskCreated:
        """Create a video-synthesis task (prompt, image or audio to video).

        The request is never resent unless the answer proves no task was made (a 4xx or 503): a
        dropped connection, another 5xx or an unreadable answer raises
        :class:`~anyint.AmbiguousSubmitError` rather than risk a second paid task.

        Args:
            params: The request; or give its fields as keywords (keywords override ``params``).
            **kwargs: Fields of :class:`DashScopeVideoParams`.

        Returns:
            The created task; store ``task_id`` before polling.

        Raises:
            pydantic.ValidationError: Invalid request, before any I/O.
            AmbiguousSubmitError: A task may have been created (no answer, a 5xx other
                than 503, or an unreadable answer); not resent.
            APIStatusError: The gateway refused it.
        """
        body = build_params(DashScopeVideoParams, params, kwargs).to_body()
        return await self._submit(DashScopeTaskCreated, VIDEO_PATH, body, headers=ASYNC_HEADERS)

    async def get_task(self, task_id: str) -> DashScopeTask:
        """Query a task once.

        Args:
            task_id: Id returned by :meth:`create_video_task`.

        Returns:
            The task's current snapshot.

        Raises:
            ValueError: ``task_id`` is empty or would change the path.
        """
        require_id("task_id", task_id)
        response = await self._client.request("GET", TASK_PATH.format(task_id=task_id))
        return parse_response(DashScopeTask, response)

    async def wait(
        self,
        task_id: str,
        *,
        schedule: PollSchedule | None = None,
        on_change: Callable[[DashScopeTask], Awaitable[None] | None] | None = None,
        wake: asyncio.Event | None = None,
    ) -> DashScopeTask:
        """Poll a task until it SUCCEEDED, or raise when it FAILED, was CANCELED or is UNKNOWN.

        Args:
            task_id: The task id.
            schedule: Poll intervals and deadline (upstream suggests about 15 s between polls).
            on_change: Called with each snapshot whose status changed.
            wake: Set it to poll at once instead of sleeping.

        Returns:
            The SUCCEEDED snapshot; ``.video_url`` is the result.

        Raises:
            ValueError: ``task_id`` is empty or would change the path.
            TaskFailedError: FAILED (with ``output.code``/``message``), CANCELED or UNKNOWN.
            TaskTimeoutError: The schedule's deadline passed first.
        """
        require_id("task_id", task_id)
        return await wait_for_task(
            lambda: self.get_task(task_id),
            task_id=task_id,
            schedule=schedule,
            on_change=on_change,
            wake=wake,
        )
