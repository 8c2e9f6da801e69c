"""Helpers every route module uses."""

from __future__ import annotations

from fastapi import Request

from ..backend import Task

__all__ = ["base_url", "mark_created", "sse_error_requested"]


def base_url(request: Request) -> str:
    """The emulator's own base URL as the caller reached it (asset URLs are built on it)."""
    return str(request.base_url).rstrip("/")


def mark_created(request: Request, task: Task) -> None:
    """Record in the call log that this call created ``task``."""
    call = getattr(request.state, "call", None)
    if call is not None:
        call.created_task_id = task.id


def sse_error_requested(request: Request) -> bool:
    """Whether an ``sse_error`` fault asked this stream to fail part-way."""
    return bool(getattr(request.state, "sse_error", False))
