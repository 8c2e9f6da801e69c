"""Partial text of an open stream, visible in the Prefect UI while it streams.

:func:`live_markdown` publishes the text so far as a markdown artifact under one key: each
publish is a new version of that key (Prefect keeps every version; the UI shows the newest), at
most one every :data:`PUBLISH_EVERY_SECONDS`, and the last one when the stream closes. Progress
(characters so far) goes to the run logger every :data:`LOG_EVERY_SECONDS`.

Publishing runs beside the stream (an asyncio task), so a slow Prefect API never slows the
reading of the stream, and a failed publish is logged, never raised: the artifact is a view of
the paid reply, not part of it.

A stream that fails part-way has already been paid for (the gateway bills the tokens it sent), so
:data:`STREAM_RETRY_OPTIONS` retries a streaming task only when nothing had arrived yet;
:func:`mark_mid_stream` is how a task tells the retry condition so.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.context import FlowRunContext, TaskRunContext

from ._policy import RETRY_OPTIONS, retry_if_retryable

__all__ = [
    "LOG_EVERY_SECONDS",
    "PUBLISH_EVERY_SECONDS",
    "STREAM_RETRY_OPTIONS",
    "LiveText",
    "live_markdown",
    "mark_mid_stream",
    "retry_unless_mid_stream",
]

#: Least time between two publishes of the partial text (the last one on close excepted).
PUBLISH_EVERY_SECONDS = 0.5
#: Least time between two progress lines in the run log.
LOG_EVERY_SECONDS = 2.0
#: Prefect's rule for artifact keys (``prefect.artifacts``).
_KEY = re.compile(r"[a-z0-9-]+")
#: An error message shown in the artifact is cut to this many characters.
_ERROR_CHARS = 300
_MID_STREAM = "mid-stream"

_log = logging.getLogger("tasks.streaming")


class LiveText:
    """The text of a stream so far; :func:`live_markdown` yields one.

    Attributes:
        key: The artifact key it is published under.
        title: Heading of the artifact.
    """

    def __init__(self, key: str, title: str, *, active: bool) -> None:
        self.key = key
        self.title = title
        self._parts: list[str] = []
        self._chars = 0
        self._active = active
        self._changed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._inflight: asyncio.Future[None] | None = None
        self._logged_at = float("-inf")  # the first text is logged at once
        self._logger: Any = get_run_logger() if active else _log

    @property
    def text(self) -> str:
        """All the text appended so far."""
        return "".join(self._parts)

    def append(self, text: str) -> None:
        """Add partial text; it is published with the next version of the artifact."""
        if not text:
            return
        self._parts.append(text)
        self._chars += len(text)
        self._changed.set()

    def _markdown(self, footer: str | None) -> str:
        body = f"# {self.title}\n\n{self.text}\n"
        return body if footer is None else f"{body}\n{footer}\n"

    async def _publish(self, markdown: str, description: str) -> None:
        try:
            await acreate_markdown_artifact(markdown, key=self.key, description=description)
        except Exception as exc:  # the UI view failed; the stream and its reply go on
            self._logger.warning("could not publish artifact %r: %s", self.key, exc)

    async def _run(self) -> None:
        """Publish whenever text arrived, then wait out the rest of the interval."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            started = time.monotonic()
            footer = f"*(streaming: {self._chars} characters so far)*"
            # Shielded: closing stops the pump, never a publish half-way through its request.
            self._inflight = asyncio.ensure_future(
                self._publish(self._markdown(footer), f"{self.title} (streaming)")
            )
            await asyncio.shield(self._inflight)
            if started - self._logged_at >= LOG_EVERY_SECONDS:
                self._logged_at = started
                self._logger.info("%s: %d characters so far", self.title, self._chars)
            await asyncio.sleep(max(0.0, started + PUBLISH_EVERY_SECONDS - time.monotonic()))

    def _start(self) -> None:
        if self._active:
            self._pump = asyncio.ensure_future(self._run())

    async def _stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with suppress(asyncio.CancelledError):
                await self._pump
        if self._inflight is not None and not self._inflight.done():
            await self._inflight  # the final version must come after every partial one

    async def _close(self, error: BaseException | None) -> None:
        """Stop publishing partial text and publish the final (or incomplete) version."""
        if not self._active:
            return
        await self._stop()
        if error is None:
            await self._publish(self._markdown(None), self.title)
            self._logger.info("%s: stream closed, %d characters", self.title, self._chars)
            return
        message = " ".join(str(error).split())[:_ERROR_CHARS]
        footer = f"*(incomplete: {type(error).__name__}: {message})*"
        await self._publish(self._markdown(footer), f"{self.title} (incomplete)")
        self._logger.warning(
            "%s: stream failed after %d characters: %s", self.title, self._chars, message
        )


@asynccontextmanager
async def live_markdown(key: str, title: str) -> AsyncIterator[LiveText]:
    """Publish the partial text of a stream as the markdown artifact ``key`` while it is open.

    On a normal exit the artifact holds the final text; when the block raises, it keeps the
    partial text marked ``*(incomplete: <error type>: <message>)*`` and the exception propagates
    unchanged. Outside a flow or task run nothing is published (the text is still collected).

    Args:
        key: Artifact key: lowercase letters, digits and dashes (Prefect's rule).
        title: Heading of the artifact.

    Yields:
        The :class:`LiveText` to ``append`` partial text to.

    Raises:
        ValueError: ``key`` is not a valid artifact key.
    """
    if not _KEY.fullmatch(key):
        raise ValueError(
            f"key: an artifact key takes lowercase letters, digits and dashes only; got {key!r}"
        )
    active = FlowRunContext.get() is not None or TaskRunContext.get() is not None
    live = LiveText(key, title, active=active)
    live._start()
    try:
        yield live
    except BaseException as exc:
        try:
            await live._close(exc)
        except BaseException:  # cancelled again while closing: the first error is the one
            _log.debug("closing %r after %r was interrupted", key, exc)
        raise
    await live._close(None)


def mark_mid_stream(exc: BaseException, chars: int) -> None:
    """Note on ``exc`` that it ended a stream after ``chars`` characters had arrived.

    The exception keeps its type and message; the note tells the reader (and
    :func:`retry_unless_mid_stream`) that the gateway has billed part of a reply.
    """
    exc.add_note(f"{_MID_STREAM}: the stream failed after {chars} characters; not retried")


def retry_unless_mid_stream(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` of streaming tasks: as :func:`~tasks._policy.retry_if_retryable`,
    but never after :func:`mark_mid_stream` (a second stream would bill the reply again)."""
    exc = getattr(state, "data", None)
    notes = getattr(exc, "__notes__", None) or []
    if any(str(n).startswith(_MID_STREAM) for n in notes):
        return False
    return retry_if_retryable(task, task_run, state)


#: ``@task(**STREAM_RETRY_OPTIONS)``: the gateway retry policy, minus mid-stream failures.
STREAM_RETRY_OPTIONS: dict[str, Any] = {
    **RETRY_OPTIONS,
    "retry_condition_fn": retry_unless_mid_stream,
}
