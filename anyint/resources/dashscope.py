"""DashScope: sync image generation, video-synthesis tasks and task queries (§10.1-10.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from .._polling import WaitOptions
from ..types.dashscope import (
    DashScopeImageFields,
    DashScopeImageParams,
    DashScopeImageResponse,
    DashScopeTask,
    DashScopeTaskCreated,
    DashScopeVideoFields,
    DashScopeVideoParams,
)
from ._base import Resource, build_params, parse_response, path_id, require_id

__all__ = ["DashScope"]

IMAGE_PATH = "/dashscope/v1/services/aigc/multimodal-generation/generation"
# Note the `video-generation/` segment: `aigc/video-synthesis` alone is not the route (§10.2).
VIDEO_PATH = "/dashscope/v1/services/aigc/video-generation/video-synthesis"
TASK_PATH = "/dashscope/v1/tasks/{task_id}"

# Upstream DashScope runs video synthesis only asynchronously and requires this header; whether
# AnyInt needs it is undocumented (§17 item 9), so it is always sent.
ASYNC_HEADERS = {"X-DashScope-Async": "enable"}


class DashScope(Resource):
    """DashScope routes under ``/dashscope/v1`` (Bearer auth).

    :meth:`generate_image` and :meth:`create_video_task` take their request the same way:
    ``params`` (the params model or a mapping, positional only), or its fields as keywords
    (keywords override ``params``); an invalid request raises ``pydantic.ValidationError``
    before any I/O. :meth:`create_video_task` is a create: never resent in doubt (see
    :class:`~anyint.AmbiguousSubmitError`).

    Example:
        >>> task = await client.dashscope.create_video_task(  # doctest: +SKIP
        ...     model="wan2.6-t2v", input={"prompt": "a cat surfing"}
        ... )
        >>> done = await client.dashscope.wait(task.task_id)  # doctest: +SKIP
        >>> done.video_url  # doctest: +SKIP
    """

    async def generate_image(
        self,
        params: DashScopeImageParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[DashScopeImageFields],
    ) -> DashScopeImageResponse:
        """Generate images synchronously (one request, one response; not a task).

        Returns:
            The result; ``.image_urls`` lists the (expiring) image URLs.

        Raises:
            APIStatusError: The gateway refused it (DashScope ``{code, message}`` bodies included).
        """
        body = build_params(DashScopeImageParams, params, fields).to_body()
        response = await self._client.request("POST", IMAGE_PATH, json=body)
        return parse_response(DashScopeImageResponse, response)

    async def create_video_task(
        self,
        params: DashScopeVideoParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[DashScopeVideoFields],
    ) -> DashScopeTaskCreated:
        """Create a video-synthesis task (prompt, image or audio to video): a create.

        Returns:
            The created task; store ``task_id`` before polling.
        """
        body = build_params(DashScopeVideoParams, params, fields).to_body()
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
        path = TASK_PATH.format(task_id=path_id("task_id", task_id))
        response = await self._client.request("GET", path)
        return parse_response(DashScopeTask, response)

    async def wait(
        self,
        task_id: str,
        **options: Unpack[WaitOptions[DashScopeTask]],
    ) -> DashScopeTask:
        """Poll a task until it SUCCEEDED, or raise when it FAILED, was CANCELED or is UNKNOWN.

        Args:
            task_id: The task id.
            **options: ``schedule``, ``on_change`` and ``wake``, as for
                :func:`anyint.wait_for_task` (upstream suggests about 15 s between polls).

        Returns:
            The SUCCEEDED snapshot; ``.video_url`` is the result.

        Raises:
            ValueError: ``task_id`` is empty or would change the path.
            TaskFailedError: FAILED (with ``output.code``/``message``), CANCELED or UNKNOWN.
            TaskTimeoutError: The schedule's deadline passed first.
        """
        require_id("task_id", task_id)
        return await self._wait(lambda: self.get_task(task_id), task_id, options)
