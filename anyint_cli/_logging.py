"""What Prefect prints while the CLI runs a flow: its progress and error lines, the engine's
tracebacks only with ``--debug``, and no warning about unsent events at exit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ENGINE_LOGGERS", "prefect_console"]

#: The loggers of Prefect's flow and task engines: they log a failure's traceback before the
#: CLI's own one-line error.
ENGINE_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")

#: How long the exit waits for Prefect's event and log workers to send what they still hold.
_FLUSH_SECONDS = 10.0


class _WithoutEngineTracebacks(logging.Formatter):
    """Formats an engine record as its message alone; any other record as ``inner`` does.

    The record itself is left as it was, so the API handler still sends the traceback to the
    Prefect server (the UI shows it) and ``--debug`` users lose nothing there.
    """

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        if not record.name.startswith(ENGINE_LOGGERS):
            return self.inner.format(record)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text = saved


@contextmanager
def prefect_console(debug: bool) -> Iterator[None]:
    """Prefect's console log for one CLI command, and its workers flushed at the end.

    Args:
        debug: Keep the engine's tracebacks on the console (``--debug``).
    """
    from prefect.logging.handlers import PrefectConsoleHandler

    consoles = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    saved = [h.formatter for h in consoles]
    if not debug:
        for handler in consoles:
            handler.setFormatter(_WithoutEngineTracebacks(handler.formatter))
    try:
        yield
    finally:
        _flush_workers()
        for handler, formatter in zip(consoles, saved, strict=True):
            handler.setFormatter(formatter)


def _flush_workers() -> None:
    """Wait (bounded) until Prefect's event workers have sent everything queued.

    At interpreter exit Prefect stops them and warns ``Still processing items`` for what is
    left; after a run the flow's last state events are typically still queued.
    """
    from prefect.events.worker import EventsWorker

    # One registry holds every running queue service: only the event workers the run started
    # are waited on (asking for an instance would start a new one), and not the batched API
    # log worker, whose queue never reports empty (it flushes at exit without warning).
    with EventsWorker._instance_cache_lock:
        services = list(EventsWorker._instances.values())  # type: ignore[misc]
    workers = [s for s in services if isinstance(s, EventsWorker)]
    waiters = [threading.Thread(target=w.wait_until_empty, daemon=True) for w in workers]
    for waiter in waiters:
        waiter.start()
    deadline = time.monotonic() + _FLUSH_SECONDS
    for waiter in waiters:
        # A worker that died never empties its queue: give up rather than hang the CLI.
        waiter.join(max(deadline - time.monotonic(), 0.0))
