"""The callback receiver: a small FastAPI app the gateway POSTs task callbacks to.

``POST /callbacks/{token}/{family}`` (family: ``suno``, ``dashscope``, ``kling``, ``videos``)
stores each callback once in the inbox (:mod:`blocks.inbox`: any task id is a safe key) and, when
a Prefect API is configured, emits an ``anyint.callback.<phase>`` event for automations.

The secret token in the path is the only authentication the gateway offers (music callbacks are
not signed, contract §11.7). A wrong or missing token gets the same 404 as a path that does not
exist, so a scanner learns nothing; the token is never logged (:class:`TokenMaskFilter` masks it
in uvicorn's access log) and never echoed in a response.

Statuses: 200 stored or duplicate; 400 malformed JSON, or a task id not a string of at most 4 KiB;
404 wrong token or unknown family; 405 another method; 413 body over ``max_body``; 422 valid JSON
of no known shape; 503 the store failed (the gateway retries 5xx, so the callback is not lost).
``GET /healthz`` names the store (no credentials); a task id its submit journal lacks is stored
and warned about once (:mod:`callbacks.store_match`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import uuid
from collections.abc import Coroutine, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from anyint.config import settings
from anyint.secrets import remember, scrub, scrub_record
from anyint.types.suno_callbacks import parse_callback
from blocks.ids import id_label
from blocks.inbox import (
    CALLBACK_TOKEN_ENV,
    FAMILIES,
    TERMINAL_PHASES,
    check_phase,
    check_task_id,
    check_token,
    inbox_key,
    write_record,
)
from blocks.inbox_watch import notify
from blocks.store import AssetStore
from tasks.defer import DEFERRED_RUN_ROLE, deferred_owner

from .store_match import JournalIndex, public_store_url

__all__ = [
    "DEFAULT_MAX_BODY",
    "CallbackInfo",
    "TokenMaskFilter",
    "build_event",
    "create_callback_app",
    "identify_callback",
    "install_token_filter",
    "mask_callback_tokens",
]

logger = logging.getLogger("callbacks")

#: Default cap on a callback body. Real callbacks carry URLs, not media: a few KiB.
DEFAULT_MAX_BODY = 1 << 20
# Deeper JSON is no callback; the cap also keeps json.dumps (recursive) from overflowing later.
_MAX_DEPTH = 64
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_SUCCESS = frozenset({"succeed", "succeeded", "success", "successful", "completed", "complete"})
_FAILURE = frozenset({"failed", "fail", "failure", "error", "canceled", "cancelled", "expired"})
_TOKEN_SEGMENT = re.compile(r"(/callbacks/)[^/\s?#\"']+")
_EVENT_NAMESPACE = uuid.UUID("5b0e3c39-43a4-4f0e-9d55-2f2b6a1f9a10")
#: Task ids already warned about as unknown; past this many the set starts afresh (memory bound).
_MAX_WARNED = 10_000


class CallbackInfo(NamedTuple):
    """What a callback body says: which task, and which phase of it."""

    task_id: object
    phase: str


class _Reject(Exception):
    """An answer other than 200, with a message safe to return (never the token)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


# -- body → (task id, phase) -----------------------------------------------------------------------


def identify_callback(family: str, body: Any) -> CallbackInfo:
    """Find the task id and phase of a callback body.

    Suno bodies go through :func:`~anyint.types.suno_callbacks.parse_callback` (both wrappers,
    every task type); the phase is its ``callbackType`` (``text``, ``first``, ``complete``,
    ``error``). Other families send a task object: the id is ``task_id``/``taskId`` (top level,
    under ``output`` as DashScope does, or under ``data`` as Kling's wrapper does), else ``id``;
    the status is ``task_status``/``taskStatus``/``status`` (or an event ``type`` such as
    ``video.completed``). A successful terminal status becomes ``complete``, a failed one
    ``error``, anything else the status lower-cased (``running``, ``in_progress``...).

    Args:
        family: ``suno``, ``dashscope``, ``kling`` or ``videos``.
        body: The decoded JSON body.

    Returns:
        The task id as found (validate it with :func:`~blocks.inbox.check_task_id`) and the
        phase (validate with :func:`~blocks.inbox.check_phase`).

    Raises:
        ValueError: Not a callback of a known shape (not an object, no task id, no status).
    """
    if family == "suno":
        callback = parse_callback(body)
        return CallbackInfo(callback.task_id, callback.callback_type)
    if not isinstance(body, Mapping):
        raise ValueError(f"a {family} callback must be a JSON object")
    nested = [body[k] for k in ("output", "data") if isinstance(body.get(k), Mapping)]
    containers: list[Mapping[str, Any]] = [body, *nested]
    task_id = _first_in(containers, "task_id", "taskId")
    holder = next((c for c in containers if _first(c, "task_id", "taskId") is not None), None)
    if task_id is None:
        # Nested `id` first: in an event envelope the top-level `id` is the event's, not the task's.
        holder = next((c for c in (*nested, body) if c.get("id") is not None), None)
        task_id = holder.get("id") if holder is not None else None
    if task_id is None:
        raise ValueError(f"not a {family} callback: no task_id, taskId or id")
    ordered = [holder, *(c for c in containers if c is not holder)] if holder else containers
    status = _first_in(ordered, "task_status", "taskStatus", "status")
    if status is None and isinstance(body.get("type"), str):
        status = body["type"].rsplit(".", 1)[-1]  # OpenAI-style event: "video.completed"
    if not isinstance(status, str) or not status.strip():
        raise ValueError(f"not a {family} callback: no task_status or status")
    value = status.strip().lower()
    phase = "complete" if value in _SUCCESS else "error" if value in _FAILURE else value
    return CallbackInfo(task_id, phase)


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    return next((mapping[k] for k in keys if mapping.get(k) is not None), None)


def _first_in(containers: list[Mapping[str, Any]], *keys: str) -> Any:
    return next((v for c in containers if (v := _first(c, *keys)) is not None), None)


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode_body(data: bytes) -> Any:
    """Decode a callback body strictly (no NaN/Infinity, bounded depth).

    Raises:
        _Reject: 400 with a short reason.
    """
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _Reject(400, "body is not valid JSON") from None
    if _too_deep(value):
        raise _Reject(400, f"JSON nested deeper than {_MAX_DEPTH} levels")
    return value


# -- events ----------------------------------------------------------------------------------------


def build_event(record: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``prefect.events.emit_event`` announcing one stored callback.

    The payload carries identifiers only, never the body (it may hold private output URLs) nor
    the token. The event id is derived from (family, task, phase), so two receivers racing on
    the same callback emit the same id and Prefect's server keeps one.

    Args:
        record: An inbox record (``task_id``, ``family``, ``phase``, ``received_at``).

    Returns:
        ``event``, ``resource``, ``payload``, ``id`` and ``occurred``.
    """
    task_id, family, phase = record["task_id"], record["family"], record["phase"]
    received_at = datetime.fromisoformat(record["received_at"])
    return {
        "event": f"anyint.callback.{phase}",
        "resource": {"prefect.resource.id": f"anyint.task.{task_id}", "anyint.family": family},
        "payload": {
            "task_id": task_id,
            "family": family,
            "phase": phase,
            "terminal": phase in TERMINAL_PHASES,
            "inbox_key": inbox_key(task_id, phase),
            "received_at": record["received_at"],
        },
        "id": uuid.uuid5(_EVENT_NAMESPACE, f"{family}/{task_id}/{phase}"),
        "occurred": received_at,
    }


def with_owner(store: AssetStore, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` of :func:`build_event` naming the flow run that deferred a wait on the task
    (``deferred/<task>.json``, :mod:`tasks.defer`) as a related ``deferred-run`` resource: the
    automation ``anyint-resume-on-callback`` resumes that run. A callback no deferred run waits
    on is only stored (one log line for a terminal phase)."""
    payload = kwargs["payload"]
    owner = deferred_owner(store, payload["task_id"])
    try:
        run_id = uuid.UUID(owner) if owner is not None else None
    except ValueError:
        run_id = None  # not a flow run id: never put into a resource id
    if run_id is None:
        if payload["terminal"]:
            logger.info(
                "callback for task %s: no deferred flow run waits on it (nothing to resume)",
                id_label(payload["task_id"]),
            )
        return kwargs
    related = {
        "prefect.resource.id": f"prefect.flow-run.{run_id}",
        "prefect.resource.role": DEFERRED_RUN_ROLE,
    }
    return {**kwargs, "related": [related]}


def _emit_sync(kwargs: dict[str, Any], store: AssetStore | None = None) -> None:
    try:
        from prefect.events import emit_event

        emit_event(**(with_owner(store, kwargs) if store is not None else kwargs))
    except Exception:
        # Events are a convenience on top of the inbox (wait tasks poll it anyway): never fail
        # the callback for them.
        logger.exception("could not emit Prefect event %s", kwargs.get("event"))


def _prefect_api_configured() -> bool:
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


# -- logging ---------------------------------------------------------------------------------------


def mask_callback_tokens(text: str) -> str:
    """Replace the path segment after ``/callbacks/``, and every secret the process knows
    (receivers' tokens included, e.g. in a query string from a misconfigured sender), with
    ``***``."""
    return scrub(_TOKEN_SEGMENT.sub(r"\1***", text))


class TokenMaskFilter(logging.Filter):
    """Mask callback tokens in log records (uvicorn's access log prints every path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record, mask_callback_tokens)
        return True


def install_token_filter(*names: str) -> None:
    """Add :class:`TokenMaskFilter` to the named loggers, once each.

    By default uvicorn's loggers and httpx's (which logs every request URL at INFO, e.g. when an
    in-process emulator delivers callbacks).
    """
    for name in names or ("uvicorn.access", "uvicorn.error", "uvicorn", "httpx"):
        target = logging.getLogger(name)
        if not any(isinstance(f, TokenMaskFilter) for f in target.filters):
            target.addFilter(TokenMaskFilter())


# -- the app ---------------------------------------------------------------------------------------


class _Receiver:
    """State behind the routes: store, token, limits and in-flight background work."""

    def __init__(
        self, store: AssetStore, token: str, max_body: int, emit_events: bool, recheck: float
    ) -> None:
        self.store = store
        self.store_url = public_store_url(store)
        self._token = token.encode()
        self.max_body = max_body
        self.emit_events = emit_events
        self.journal = JournalIndex(store)
        self._recheck = recheck
        self._warned: set[str] = set()
        self._pending: set[asyncio.Task[None]] = set()  # event emissions
        self._checks: set[asyncio.Task[None]] = set()  # journal look-ups

    def token_ok(self, given: str) -> bool:
        # Bytes, not str: compare_digest refuses non-ASCII str, and a path can carry any.
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token)

    async def read_body(self, request: Request) -> bytes:
        length = request.headers.getlist("content-length")
        if length:
            if len(set(length)) != 1 or not length[0].strip().isdigit():
                raise _Reject(400, "invalid Content-Length")
            if int(length[0]) > self.max_body:
                raise _Reject(413, f"body larger than {self.max_body} bytes")
        data = bytearray()
        # Chunked uploads have no Content-Length: stop at the cap instead of reading it all.
        try:
            async for chunk in request.stream():
                data += chunk
                if len(data) > self.max_body:
                    raise _Reject(413, f"body larger than {self.max_body} bytes")
        except ClientDisconnect:
            raise _Reject(400, "client disconnected before the body was complete") from None
        return bytes(data)

    async def handle(self, request: Request, family: str) -> dict[str, Any]:
        if family not in FAMILIES:
            raise _Reject(404, "unknown callback family")
        if request.method != "POST":
            raise _Reject(405, "use POST")
        body = _decode_body(await self.read_body(request))
        try:
            task_id, phase = identify_callback(family, body)
        except (ValueError, TypeError) as exc:
            raise _Reject(422, _short(exc)) from None
        try:
            task_id = check_task_id(task_id)
        except ValueError as exc:
            raise _Reject(400, str(exc)) from None
        try:
            phase = check_phase(phase)
        except ValueError as exc:
            raise _Reject(422, f"unsupported status: {exc}") from None
        try:
            written, record = await run_in_threadpool(
                write_record, self.store, task_id, family, phase, body
            )
        except Exception:
            logger.exception("inbox write failed: %s %s task %s", family, phase, id_label(task_id))
            raise _Reject(503, "inbox unavailable; retry later") from None
        dup = "" if written else " (dup)"  # ids are data: logged quoted and cut when odd
        logger.info("callback %s task %s phase %s%s", family, id_label(task_id), phase, dup)
        if written and phase in TERMINAL_PHASES:
            notify(self.store, task_id)  # a wait in this process: woken now, not a tick later
        if written:
            # After the answer's work, not before it: the check may list the journal.
            self._background(self._warn_if_unknown(task_id), self._checks)
        if written and self.emit_events:
            self._emit(record)
        return {"ok": True, "duplicate": not written, "task_id": task_id, "phase": phase}

    def _emit(self, record: dict[str, Any]) -> None:
        try:
            kwargs = build_event(record)
        except Exception:
            logger.exception("could not build Prefect event for task %s", record.get("task_id"))
            return
        self._background(run_in_threadpool(_emit_sync, kwargs, self.store), self._pending)

    @staticmethod
    def _background(work: Coroutine[Any, Any, None], into: set[asyncio.Task[None]]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        into.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(into.discard)

    async def _warn_if_unknown(self, task_id: str) -> None:
        """Log one warning when the store's submit journal does not know ``task_id``."""
        try:
            known = await run_in_threadpool(self.journal.knows, task_id)
            if not known and self.journal.in_flight:
                # A submit may be about to record this very id (the callback raced ahead of its
                # journal write): look once more before calling the store a mismatch.
                await asyncio.sleep(self._recheck)
                known = await run_in_threadpool(self.journal.knows, task_id)
        except Exception:
            logger.exception("could not read the submit journal of %s", self.store_url)
            return
        if known or task_id in self._warned:
            return
        if len(self._warned) >= _MAX_WARNED:
            self._warned.clear()
        self._warned.add(task_id)
        logger.warning(
            "callback for task %s stored in %s, whose submit journal does not know that task: "
            "wait tasks reading another store will not see it; start the receiver with "
            "--store <the flows' store URL> (ANYINT_STORE, or the store_block's base_url)",
            id_label(task_id),
            self.store_url,
        )

    async def drain(self, wait_seconds: float = 10.0) -> None:
        """Wait for in-flight event emissions and journal checks (tests, shutdown)."""
        if pending := self._pending | self._checks:
            await asyncio.wait(pending, timeout=wait_seconds)


def _short(exc: Exception) -> str:
    # pydantic errors are long; the first line says what was wrong.
    return str(exc).splitlines()[0][:300]


def create_callback_app(
    store: AssetStore | None = None,
    *,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    emit_events: bool | None = None,
    journal_recheck: float = 5.0,
) -> FastAPI:
    """Build the receiver app.

    Args:
        store: Where the inbox lives; ``AssetStore()`` (``ANYINT_STORE`` or ``./output``) when
            omitted. Wait tasks must read the same store.
        token: Secret path segment; ``ANYINT_CALLBACK_TOKEN`` when omitted (read now, not at
            import).
        max_body: Largest accepted body in bytes (413 above it).
        emit_events: Emit ``anyint.callback.<phase>`` Prefect events. None: only when a Prefect
            API URL is configured (``PREFECT_API_URL``); without one, emitting would start an
            ephemeral server inside the receiver.
        journal_recheck: Seconds to wait before looking up an unknown task id again while a
            submit is in flight (its task id may not be recorded yet); only then is the
            "unknown task" warning logged.

    Returns:
        The FastAPI app; ``app.state.receiver.drain()`` awaits pending event emissions.

    Raises:
        ValueError: No token configured, or a malformed one (the message never repeats it).

    Example:
        ```python
        import uvicorn
        from callbacks import create_callback_app

        uvicorn.run(create_callback_app(), host="0.0.0.0", port=8788)  # or: python -m callbacks
        ```
    """
    resolved = _resolved_token(token)
    if max_body < 1:
        raise ValueError("max_body must be positive")
    if emit_events is None:
        emit_events = _prefect_api_configured()
    receiver = _Receiver(store or AssetStore(), resolved, max_body, emit_events, journal_recheck)
    # The paths carry the token: mask it wherever uvicorn may log them, however the app is run.
    install_token_filter()

    app = FastAPI(
        title="AnyInt callback receiver",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # nothing to advertise to strangers
        # A slash redirect would answer a wrong token differently from an unknown path.
        redirect_slashes=False,
    )
    app.state.receiver = receiver
    _add_routes(app, receiver)
    return app


def _resolved_token(token: str | None) -> str:
    """The receiver's token: ``token``, else ``ANYINT_CALLBACK_TOKEN``, checked and masked."""
    configured = settings().callback_token
    resolved = token if token is not None else (configured.get_secret_value() if configured else "")
    if not resolved:
        raise ValueError(
            f"no callback token configured: pass token= or set {CALLBACK_TOKEN_ENV} "
            "(a receiver without one would accept callbacks from anyone)"
        )
    check_token(resolved)
    remember(resolved)
    return resolved


def _add_routes(app: FastAPI, receiver: _Receiver) -> None:
    """``GET /healthz`` and the callback route, which answers a wrong token like no path."""

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        # The store as a credential-free URL: an operator can compare it with the flows' one.
        return {"ok": True, "store": receiver.store_url}

    @app.api_route("/callbacks/{token}/{family}", methods=_METHODS, include_in_schema=False)
    async def receive(request: Request, token: str, family: str) -> JSONResponse:
        # The token first, before anything else that could tell a stranger this path exists.
        if not receiver.token_ok(token):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        try:
            return JSONResponse(await receiver.handle(request, family))
        except _Reject as exc:
            headers = {"Allow": "POST"} if exc.status == 405 else None
            return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)
