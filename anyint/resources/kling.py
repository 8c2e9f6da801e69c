"""Kling native routes under ``/transtreams/kling/v1`` (§10.4): create, query, wait.

Each create is a task-creating POST (never resent unless the answer proves rejection); each task is
polled on the GET route that matches its create route (§10.6). The body ``code`` must be 0 on
every call: any other code is raised as an :class:`~anyint.APIStatusError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from .._polling import PollSchedule, wait_for_task
from ..types._base import RequestModel
from ..types.kling import (
    KlingImage2VideoParams,
    KlingImageParams,
    KlingOmniImageParams,
    KlingOmniVideoParams,
    KlingTask,
    KlingTaskCreated,
    KlingText2VideoParams,
)
from ._base import Resource, build_params, parse_response, require_id

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

P = TypeVar("P", bound=RequestModel)


def _route_path(route: str) -> str:
    try:
        return ROUTES[route]
    except KeyError:
        raise ValueError(f"route must be one of {sorted(ROUTES)}, got {route!r}") from None


class Kling(Resource):
    """Kling native image and video tasks (Bearer auth).

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
        require_id("task_id", task_id)
        path = f"{_route_path(route)}/{task_id}"
        response = await self._client.request("GET", path, ok_code=OK_CODE)
        return parse_response(KlingTask, response)

    # -- Std/Pro video -----------------------------------------------------------------------------

    async def create_text2video(
        self, params: KlingText2VideoParams | None = None, **kwargs: Any
    ) -> KlingTaskCreated:
        """Create a text-to-video task (``POST /videos/text2video``).

        Args:
            params: The request; or give its fields as keywords (keywords override ``params``).
            **kwargs: Fields of :class:`KlingText2VideoParams`.

        Returns:
            The accepted task (status ``submitted``); store ``task_id``.

        Raises:
            pydantic.ValidationError: Invalid request, before any I/O.
            AmbiguousSubmitError: A task may have been created (no answer, a 5xx other
                than 503, or an unreadable answer); not resent.
            APIStatusError: An error status, or a body ``code`` other than 0.
        """
        body = build_params(KlingText2VideoParams, params, kwargs).to_body()
        return await self._create("text2video", body)

    async def create_image2video(
        self, params: KlingImage2VideoParams | None = None, **kwargs: Any
    ) -> KlingTaskCreated:
        """Create an image-to-video task (``POST /videos/image2video``); ``image`` is required.

        Args:
            params: The request; or give its fields as keywords (keywords override ``params``).
            **kwargs: Fields of :class:`KlingImage2VideoParams`.

        Returns:
            The accepted task; store ``task_id``.

        Raises:
            pydantic.ValidationError: Invalid request, before any I/O.
            AmbiguousSubmitError: A task may have been created (no answer, a 5xx other
                than 503, or an unreadable answer); not resent.
            APIStatusError: An error status, or a body ``code`` other than 0.
        """
        body = build_params(KlingImage2VideoParams, params, kwargs).to_body()
        return await self._create("image2video", body)

    async def get_text2video(self, task_id: str) -> KlingTask:
        """Query a text-to-video task (``GET /videos/text2video/{task_id}``)."""
        return await self.get_task(task_id, route="text2video")

    async def get_image2video(self, task_id: str) -> KlingTask:
        """Query an image-to-video task (``GET /videos/image2video/{task_id}``)."""
        return await self.get_task(task_id, route="image2video")

    # -- Omni video, images ------------------------------------------------------------------------

    async def create_omni_video(
        self, params: KlingOmniVideoParams | None = None, **kwargs: Any
    ) -> KlingTaskCreated:
        """Create an Omni video task (``POST /videos/omni-video``, model ``kling-v3-omni``).

        Args:
            params: The request; or give its fields as keywords (keywords override ``params``).
            **kwargs: Fields of :class:`KlingOmniVideoParams`.

        Returns:
            The accepted task; store ``task_id``.

        Raises:
            pydantic.ValidationError: Invalid request, before any I/O.
            AmbiguousSubmitError: A task may have been created (no answer, a 5xx other
                than 503, or an unreadable answer); not resent.
            APIStatusError: An error status, or a body ``code`` other than 0.
        """
        body = build_params(KlingOmniVideoParams, params, kwargs).to_body()
        return await self._create("omni-video", body)

    async def get_omni_video(self, task_id: str) -> KlingTask:
        """Query an Omni video task (``GET /videos/omni-video/{task_id}``)."""
        return await self.get_task(task_id, route="omni-video")

    async def create_image(
        self, params: KlingImageParams | None = None, **kwargs: Any
    ) -> KlingTaskCreated:
        """Create an image task (``POST /images/generations``, model ``kling-v2-1``).

        Args:
            params: The request; or give its fields as keywords (keywords override ``params``).
            **kwargs: Fields of :class:`KlingImageParams`.

        Returns:
            The accepted task; store ``task_id``.

        Raises:
            pydantic.ValidationError: Invalid request, before any I/O.
            AmbiguousSubmitError: A task may have been created (no answer, a 5xx other
                than 503, or an unreadable answer); not resent.
            APIStatusError: An error status, or a body ``code`` other than 0.
        """
        body = build_params(KlingImageParams, params, kwargs).to_body()
        return await self._create("image", body)

    async def get_image(self, task_id: str) -> KlingTask:
        """Query an image task (``GET /images/generations/{task_id}``); see ``.image_urls``."""
        return await self.get_task(task_id, route="image")

    async def create_omni_image(
        self, params: KlingOmniImageParams | None = None, **kwargs: Any
    ) -> KlingTaskCreated:
        """Create an Omni image task (``POST /images/omni-image``).

        Only the common Kling fields are checked; the route's own fields are undocumented
        (§17 item 17) and passed through.

        Args:
            params: The request; or give its fields as keywords (keywords override ``params``).
            **kwargs: Fields of :class:`KlingOmniImageParams`.

        Returns:
            The accepted task; store ``task_id``.

        Raises:
            pydantic.ValidationError: Invalid common field, before any I/O.
            AmbiguousSubmitError: A task may have been created (no answer, a 5xx other
                than 503, or an unreadable answer); not resent.
            APIStatusError: An error status, or a body ``code`` other than 0.
        """
        body = build_params(KlingOmniImageParams, params, kwargs).to_body()
        return await self._create("omni-image", body)

    async def get_omni_image(self, task_id: str) -> KlingTask:
        """Query an Omni image task (``GET /images/omni-image/{task_id}``)."""
        return await self.get_task(task_id, route="omni-image")

    # -- waiting -----------------------------------------------------------------------------------

    async def wait(
        self,
        task_id: str,
        *,
        route: KlingRoute = "text2video",
        schedule: PollSchedule | None = None,
        on_change: Callable[[KlingTask], Awaitable[None] | None] | None = None,
        wake: asyncio.Event | None = None,
    ) -> KlingTask:
        """Poll a task on its matching route until ``succeed``, or raise when it ``failed``.

        Args:
            task_id: The Kling task id.
            route: The create route of the task (``text2video``, ``image2video``, ...).
            schedule: Poll intervals and deadline.
            on_change: Called with each snapshot whose status changed.
            wake: Set it to poll at once instead of sleeping.

        Returns:
            The ``succeed`` snapshot; ``.video_urls`` / ``.image_urls`` hold the results.

        Raises:
            ValueError: ``task_id`` is empty or would change the path, or ``route`` is unknown.
            TaskFailedError: The task ``failed`` (message from ``task_status_msg``).
            TaskTimeoutError: The schedule's deadline passed first.
        """
        require_id("task_id", task_id)
        _route_path(route)
        return await wait_for_task(
            lambda: self.get_task(task_id, route=route),
            task_id=task_id,
            schedule=schedule,
            on_change=on_change,
            wake=wake,
        )
