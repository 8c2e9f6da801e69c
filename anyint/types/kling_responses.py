"""Kling native answers (§10.4): the ``{code, message, request_id, data}`` envelope of every
create and query, and the task snapshot whose ``data.task_status`` moves
``submitted → processing → succeed | failed``. Import them from :mod:`anyint.types.kling`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from ._base import ResponseModel, StatusMixin, TaskAnswer, TaskRecord

__all__ = [
    "KlingImage",
    "KlingTask",
    "KlingTaskCreated",
    "KlingTaskData",
    "KlingTaskInfo",
    "KlingTaskResult",
    "KlingTaskStatus",
    "KlingVideo",
]


class KlingTaskStatus(StrEnum):
    """Kling task states: ``submitted → processing → succeed | failed``."""

    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """Whether the task will never change state again."""
        return self in (KlingTaskStatus.SUCCEED, KlingTaskStatus.FAILED)


class KlingVideo(ResponseModel):
    """One result video; ``duration`` is a string of seconds such as ``"5.041"``."""

    id: str | None = None
    url: str | None = None
    duration: str | float | None = None


class KlingImage(ResponseModel):
    """One result image."""

    index: int | None = None
    url: str | None = None


class KlingTaskResult(ResponseModel):
    """``data.task_result``: videos for video tasks, images for image tasks."""

    videos: list[KlingVideo] = Field(default_factory=list)
    images: list[KlingImage] = Field(default_factory=list)


class KlingTaskInfo(ResponseModel):
    """``data.task_info``: echoes ``external_task_id``."""

    external_task_id: str | None = None


class KlingTaskData(TaskRecord):
    """The ``data`` object of a create or query answer.

    Attributes:
        task_id: Kling task id (a numeric string).
        task_status: Raw status string; see :class:`KlingTaskStatus`.
        task_status_msg: Why a task failed.
        created_at: Milliseconds since the epoch.
        updated_at: Milliseconds since the epoch.
        task_result: Result assets once ``succeed``.
    """

    task_status_msg: str | None = None
    task_info: KlingTaskInfo | None = None
    created_at: int | None = None
    updated_at: int | None = None
    task_result: KlingTaskResult | None = None


class _KlingEnvelope(TaskAnswer):
    code: int | str | None = None
    message: str | None = None
    request_id: str | None = None
    data: KlingTaskData

    @property
    def _record(self) -> KlingTaskData:
        return self.data


class KlingTaskCreated(_KlingEnvelope):
    """Answer to a Kling create (``code`` 0): store ``task_id`` before polling.

    Attributes:
        code: 0 when the call was accepted (any other code was raised as an error).
        message: ``SUCCEED`` when accepted.
        request_id: Kling request id.
        data: ``task_id``, ``task_status`` (``submitted``) and ``task_info``.
    """


class KlingTask(_KlingEnvelope, StatusMixin[KlingTaskStatus]):
    """Answer to a Kling query; a :class:`~anyint.TaskSnapshot`.

    ``status`` stays the raw string so a state added later still parses; ``status_enum`` gives
    the :class:`KlingTaskStatus` when it is a known one. An unknown status is not terminal.
    """

    status_type: ClassVar[type[StrEnum]] = KlingTaskStatus
    success: ClassVar[StrEnum] = KlingTaskStatus.SUCCEED

    @property
    def error_code(self) -> str | None:
        """Kling reports no per-task error code; always None."""
        return None

    @property
    def error_message(self) -> str | None:
        """``task_status_msg`` of a failed task (empty strings read as None)."""
        return self.data.task_status_msg or None

    @property
    def video_urls(self) -> list[str]:
        """Result video URLs (time-limited; copy them out promptly)."""
        result = self.data.task_result
        return [v.url for v in result.videos if v.url] if result else []

    @property
    def image_urls(self) -> list[str]:
        """Result image URLs of an image task."""
        result = self.data.task_result
        return [i.url for i in result.images if i.url] if result else []
