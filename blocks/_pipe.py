"""Hash and write a download on one worker thread while the event loop reads the next bytes.

A download into the store does three things per byte: read it from the socket (the event loop,
holding the GIL to parse HTTP), hash it (sha256, for the manifest) and write it (a local file,
or an S3 part upload). Done in a row on the loop thread, hashing alone costs about a fifth of
the time. :class:`PipeWriter` moves hashing and writing to one worker thread: hashlib releases the
GIL on buffers over 2047 bytes and file writes and s3fs uploads release it too, so they run on
the other core while the loop reads on.

Bounds: chunks travel in batches of about ``batch_bytes``; at most ``depth`` batches are queued
or being written at once (an :class:`asyncio.Semaphore` the worker releases per batch), so the
memory held is at most ``(depth + 1) * batch_bytes`` plus one chunk, whatever the two sides'
speeds. The worker writes into the handle it was given and never closes it; the
:class:`~blocks.AssetStore` writer around it closes it, renames the partial file on success and
removes it on failure, only once the worker has stopped.

Errors: a write that raises in the worker is re-raised, the same exception object, by the next
:meth:`PipeWriter.write` or by :meth:`PipeWriter.written_sha256`; the worker drops what is still
queued. Leaving the ``async with`` block always stops and joins the worker first (no thread
outlives it, and none writes into a handle being closed).
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
from types import TracebackType
from typing import IO, Any

__all__ = ["PipeWriter"]

#: Bytes per hand-over to the worker: large enough that the hand-over's cost (a queue put and
#: a loop wake-up, some microseconds) is nothing next to hashing and writing the batch.
BATCH_BYTES = 1 << 20
#: Batches queued or being written at most.
DEPTH = 4
_STOP = None


class PipeWriter:
    """An async sink for :func:`anyint.download` that hashes and writes on one worker thread.

    Implements :class:`anyint._download.HashingSink`: the download leaves hashing to it.

    Example:
        ```python
        with store.writer(key) as handle:
            async with PipeWriter(handle) as sink:
                result = await download(client, url, sink)
        ```

    Args:
        handle: A binary file opened for writing (local, S3, memory); written, never closed.
        batch_bytes: Bytes collected before a batch goes to the worker.
        depth: Batches queued or being written at most (the memory bound).
    """

    def __init__(
        self, handle: IO[bytes], *, batch_bytes: int = BATCH_BYTES, depth: int = DEPTH
    ) -> None:
        if batch_bytes <= 0 or depth <= 0:
            raise ValueError("PipeWriter needs batch_bytes > 0 and depth > 0")
        self._handle = handle
        self._batch_bytes = batch_bytes
        self._batch: list[bytes] = []
        self._batched = 0
        self._queue: queue.SimpleQueue[list[bytes] | None] = queue.SimpleQueue()
        self._slots = asyncio.Semaphore(depth)
        self._done = asyncio.Event()
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None
        self._abort = False  # set by the loop on failure: the worker drops what is queued
        self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._work, name="anyint-store-writer", daemon=True)

    # -- the event loop's side ----------------------------------------------------------------

    async def __aenter__(self) -> PipeWriter:
        self._loop = asyncio.get_running_loop()
        self._thread.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            # Left without written_sha256 (not through download()): still write every byte,
            # and raise a failed write rather than let a short file pass as complete.
            await self.written_sha256()
            return
        self._abort = True
        await self._stop()

    async def write(self, data: bytes) -> None:
        """Queue ``data``; wait only when ``depth`` batches are already in flight.

        Raises:
            BaseException: What a write in the worker raised (the same exception object).
        """
        self._raise_failure()
        if self._stopped:
            raise RuntimeError("PipeWriter.write after the pipe was finished")
        self._batch.append(data)
        self._batched += len(data)
        if self._batched >= self._batch_bytes:
            await self._send()

    async def written_sha256(self) -> str:
        """Send what is left, wait until the worker has written everything; the sha256 (hex).

        Raises:
            BaseException: What a write in the worker raised.
        """
        if self._batch and not self._stopped:
            await self._send()
        await self._stop()
        self._raise_failure()
        return self._digest.hexdigest()

    async def _send(self) -> None:
        batch, self._batch, self._batched = self._batch, [], 0
        await self._slots.acquire()
        self._raise_failure()
        self._queue.put(batch)

    async def _stop(self) -> None:
        """Tell the worker to end and wait for it; idempotent."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)  # never blocks: the queue is unbounded, the slots bound it
        if self._thread.ident is None:  # never started (no __aenter__)
            return
        try:
            await self._done.wait()
        except BaseException:
            # Cancelled while the worker finishes a write: it must not outlive the pipe, nor
            # write into a handle the caller is about to close. Blocks for at most one write.
            self._abort = True
            self._thread.join()
            raise
        self._thread.join()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    # -- the worker's side --------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while (batch := self._queue.get()) is not _STOP:
                if self._error is None and not self._abort:
                    try:
                        for chunk in batch:
                            self._digest.update(chunk)  # releases the GIL on large buffers
                            self._handle.write(chunk)
                    except BaseException as exc:  # handed to the loop, raised there
                        self._error = exc
                self._call_loop(self._slots.release)
        finally:
            self._call_loop(self._done.set)

    def _call_loop(self, callback: Any) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass
