"""Kling native routes under ``/transtreams/kling/v1`` (§10.4): create, query, wait.

Each create is a task-creating POST (never resent unless the answer proves rejection); each task is
polled on the GET route that matches its create route (§10.6). The body ``code`` must be 0 on
every call: any other code is raised as an :class:`~anyint.APIStatusError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Unpack

from .._polling import WaitOptions
from ..types.kling import (
    KlingImage2VideoFields,
    KlingImage2VideoParams,
    KlingImageFields,
    KlingImageParams,
    KlingOmniImageFields,
    KlingOmniImageParams,
    KlingOmniVideoFields,
    KlingOmniVideoParams,
    KlingTask,
    KlingTaskCreated,
    KlingText2VideoFields,
    KlingText2VideoParams,
)
from ._base import Resource, build_params, parse_response, path_id, require_id

__all__ = ["ROUTES", "Kling", "KlingRoute"]

#: A Kling task family: which create route made the task, hence which GET route polls it.
KlingRoute = Literal["text2video", "image2video", "omni-video", "image", "omni-image"]

_PREFIX = "/transtreams/kling/v1"
ROUTES: dict[str, str] = {
    "text2video": f"{_PREFIX}/videos/text2video",
    "image2video": f"{_PREFIX}/videos/image2video",
    "omni-video": f"{_PREFIX}/videos/omni-video",
    "image": f"{_PREFIX}/images/generations",
    "omni-image": f"{_PREFIX}/images/omni-image",
}
#: Kling's body code for an accepted call.
OK_CODE = 0


def _route_path(route: str) -> str:
    try:
        return ROUTES[route]
    except KeyError:
        raise ValueError(f"route must be one of {sorted(ROUTES)}, got {route!r}") from None


class Kling(Resource):
    """Kling native image and video tasks (Bearer auth).

    Every ``create_*`` method takes its request the same way and answers the same way; each
    method's own docstring says only its route and what differs:

    - Args: ``params`` is the request (its params model or a mapping, positional only); or give
      its fields as keywords (keywords override ``params``).
    - Returns: the accepted task (:class:`KlingTaskCreated`, status ``submitted``); store
      ``task_id`` before polling.
    - Raises: ``pydantic.ValidationError`` for an invalid request, before any I/O;
      :class:`~anyint.AmbiguousSubmitError` when a task may have been created (no answer, a
      5xx other than 503, or an unreadable answer), never resent;
      :class:`~anyint.APIStatusError` for an error status, or a body ``code`` other than 0.

    Example:
        >>> task = await client.kling.create_text2video(  # doctest: +SKIP
        ...     model_name="kling-v3", prompt="a red fox in snow", mode="std", duration=5
        ... )
        >>> done = await client.kling.wait(task.task_id, route="text2video")  # doctest: +SKIP
        >>> done.video_urls  # doctest: +SKIP
    """

    async def _create(self, route: KlingRoute, body: dict[str, Any]) -> KlingTaskCreated:
        return await self._submit(KlingTaskCreated, _route_path(route), body, ok_code=OK_CODE)

    async def get_task(self, task_id: str, *, route: KlingRoute = "text2video") -> KlingTask:
        """Query a task on the GET route matching the route that created it.

        Args:
            task_id: Id from the create answer.
            route: The create route of the task.

        Returns:
            The task's current snapshot.

        Raises:
            ValueError: ``task_id`` is empty or would change the path, or ``route`` is unknown.
        """
        path = f"{_route_path(route)}/{path_id('task_id', task_id)}"
        response = await self._client.request("GET", path, ok_code=OK_CODE)
        return parse_response(KlingTask, response)

    # -- creates: each one the shared contract of the class docstring ---------------------------

    async def create_text2video(
        self,
        params: KlingText2VideoParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[KlingText2VideoFields],
    ) -> KlingTaskCreated:
        """Create a text-to-video task (``POST /videos/text2video``)."""
        body = build_params(KlingText2VideoParams, params, fields).to_body()
        return await self._create("text2video", body)

    async def create_image2video(
        self,
        params: KlingImage2VideoParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[KlingImage2VideoFields],
    ) -> KlingTaskCreated:
        """Create an image-to-video task (``POST /videos/image2video``); ``image`` is required."""
        body = build_params(KlingImage2VideoParams, params, fields).to_body()
        return await self._create("image2video", body)

    async def create_omni_video(
        self,
        params: KlingOmniVideoParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[KlingOmniVideoFields],
    ) -> KlingTaskCreated:
        """Create an Omni video task (``POST /videos/omni-video``, model ``kling-v3-omni``)."""
        body = build_params(KlingOmniVideoParams, params, fields).to_body()
        return await self._create("omni-video", body)

    async def create_image(
        self,
        params: KlingImageParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[KlingImageFields],
    ) -> KlingTaskCreated:
        """Create an image task (``POST /images/generations``, model ``kling-v2-1``)."""
        body = build_params(KlingImageParams, params, fields).to_body()
        return await self._create("image", body)

    async def create_omni_image(
        self,
        params: KlingOmniImageParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[KlingOmniImageFields],
    ) -> KlingTaskCreated:
        """Create an Omni image task (``POST /images/omni-image``).

        Only the common Kling fields are checked, and only they can be keywords; the route's own
        fields are undocumented (§17 item 17): pass them in a ``params`` mapping, unchecked.
        """
        body = build_params(KlingOmniImageParams, params, fields).to_body()
        return await self._create("omni-image", body)

    # -- queries: one per create route (§10.6) ---------------------------------------------------

    async def get_text2video(self, task_id: str) -> KlingTask:
        """Query a text-to-video task (``GET /videos/text2video/{task_id}``)."""
        return await self.get_task(task_id, route="text2video")

    async def get_image2video(self, task_id: str) -> KlingTask:
        """Query an image-to-video task (``GET /videos/image2video/{task_id}``)."""
        return await self.get_task(task_id, route="image2video")

    async def get_omni_video(self, task_id: str) -> KlingTask:
        """Query an Omni video task (``GET /videos/omni-video/{task_id}``)."""
        return await self.get_task(task_id, route="omni-video")

    async def get_image(self, task_id: str) -> KlingTask:
        """Query an image task (``GET /images/generations/{task_id}``); see ``.image_urls``."""
        return await self.get_task(task_id, route="image")

    async def get_omni_image(self, task_id: str) -> KlingTask:
        """Query an Omni image task (``GET /images/omni-image/{task_id}``)."""
        return await self.get_task(task_id, route="omni-image")

    # -- waiting -----------------------------------------------------------------------------------

    async def wait(
        self,
        task_id: str,
        *,
        route: KlingRoute = "text2video",
        **options: Unpack[WaitOptions[KlingTask]],
    ) -> KlingTask:
        """Poll a task on its matching route until ``succeed``, or raise when it ``failed``.

        Args:
            task_id: The Kling task id.
            route: The create route of the task (``text2video``, ``image2video``, ...).
            **options: ``schedule``, ``on_change`` and ``wake``, as for
                :func:`anyint.wait_for_task`.

        Returns:
            The ``succeed`` snapshot; ``.video_urls`` / ``.image_urls`` hold the results.

        Raises:
            ValueError: ``task_id`` is empty or would change the path, or ``route`` is unknown.
            TaskFailedError: The task ``failed`` (message from ``task_status_msg``).
            TaskTimeoutError: The schedule's deadline passed first.
        """
        require_id("task_id", task_id)
        _route_path(route)
        return await self._wait(lambda: self.get_task(task_id, route=route), task_id, options)
