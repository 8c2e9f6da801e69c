"""The request a family backend serves: where it came from and which gateway state answers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .backend import Backend, CallRecord, Task

__all__ = ["Call"]


@dataclass(frozen=True)
class Call:
    """One gateway call as a family backend sees it, without the web framework.

    Attributes:
        backend: The gateway state that serves the call.
        base_url: The emulator's base URL as the caller reached it (asset URLs are built on it).
        method: HTTP method (fault matching of created tasks).
        path: Request path (fault matching of created tasks, media seeds).
        record: The call-log entry of this call (None off the gateway routes).
    """

    backend: Backend
    base_url: str
    method: str
    path: str
    record: CallRecord | None = None

    def reported(self, usage: dict[str, Any]) -> dict[str, Any]:
        """Note in the call log the usage this call's answer reports; returns it."""
        if self.record is not None:
            self.record.usage = dict(usage)
        return usage

    def created(self, task: Task) -> Task:
        """Note in the call log that this call created ``task``; returns it."""
        if self.record is not None:
            self.record.created_task_id = task.id
        return task
