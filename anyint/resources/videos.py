"""OpenAI-style videos under ``/openai/v1/videos`` (§10.5): create, poll, download content.

AnyInt recommends this route "for new integrations" of Kling; the gateway maps the public model
ids (``kling-3.0``, ``kling-v3-omni``) to the provider route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from .._download import DEFAULT_MAX_BYTES, BinarySink, DownloadResult, download
from .._polling import WaitOptions
from ..types.videos import VideoCreateFields, VideoCreateParams, VideoObject
from ._base import Resource, build_params, parse_response, path_id, require_id

__all__ = ["Videos"]

VIDEOS_PATH = "/openai/v1/videos"


class Videos(Resource):
    """OpenAI-style video jobs (Bearer auth): create → store id → wait → download content.

    Example:
        >>> video = await client.videos.create(model="kling-3.0", prompt="a fox")  # doctest: +SKIP
        >>> await client.videos.wait(video.id)  # doctest: +SKIP
        >>> with open("fox.mp4", "wb") as f:  # doctest: +SKIP
        ...     await client.videos.download_content(video.id, f)
    """

    async def create(
        self,
        params: VideoCreateParams | Mapping[str, Any] | None = None,
        /,
        **fields: Unpack[VideoCreateFields],
    ) -> VideoObject:
        """Create a video job: ``params`` (model or mapping) or its fields as keywords, which win.

        A create: never resent in doubt (see :class:`~anyint.AmbiguousSubmitError`). An invalid
        request raises ``pydantic.ValidationError`` before any I/O.

        Returns:
            The new job; store ``id`` before polling.
        """
        body = build_params(VideoCreateParams, params, fields).to_body()
        return await self._submit(VideoObject, VIDEOS_PATH, body)

    async def retrieve(self, video_id: str) -> VideoObject:
        """Fetch a job's current state (``GET /openai/v1/videos/{video_id}``).

        Raises:
            ValueError: ``video_id`` is empty or would change the path.
        """
        path = f"{VIDEOS_PATH}/{path_id('video_id', video_id)}"
        response = await self._client.request("GET", path)
        return parse_response(VideoObject, response)

    async def download_content(
        self, video_id: str, sink: BinarySink, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> DownloadResult:
        """Stream a completed job's MP4 into ``sink`` (``GET .../{video_id}/content``).

        The content route is on the gateway, so the key goes along in the header; redirects to
        an asset host do not carry it.

        Args:
            video_id: The job id.
            sink: Anything with ``write(bytes)`` (sync or async).
            max_bytes: Size cap.

        Returns:
            Bytes written, sha256 and content type.

        Raises:
            ValueError: ``video_id`` is empty or would change the path.
            DownloadError: Not a video, over the cap, or cut short.
            APIStatusError: The gateway refused (e.g. the job is not complete yet).
        """
        url = f"{self._client.base_url}{VIDEOS_PATH}/{path_id('video_id', video_id)}/content"
        return await download(self._client, url, sink, kind="video", max_bytes=max_bytes)

    async def wait(
        self,
        video_id: str,
        **options: Unpack[WaitOptions[VideoObject]],
    ) -> VideoObject:
        """Poll a job until ``completed``, or raise when it failed, was cancelled or expired.

        Args:
            video_id: The job id.
            **options: ``schedule``, ``on_change`` and ``wake``, as for
                :func:`anyint.wait_for_task`.

        Returns:
            The completed job; download it with :meth:`download_content`.

        Raises:
            ValueError: ``video_id`` is empty or would change the path.
            TaskFailedError: ``failed``, ``cancelled`` or ``expired`` (message from ``error``).
            TaskTimeoutError: The schedule's deadline passed first.
        """
        require_id("video_id", video_id)
        return await self._wait(lambda: self.retrieve(video_id), video_id, options)
