"""Submit a task-creating request so that it is never paid for twice.

Two layers, each enough on its own:

1. **Prefect cache.** The task's cache key is the route, the canonical request (secrets and the
   callback URL excluded), the caller's ``idempotency_key`` and the gateway/store identity, with the
   result persisted. A re-run, or a flow retry after a later failure, gets the stored result back
   without running the body.
2. **Submit journal in the asset store** (``submits/<digest>.json``), written *before* the request
   is sent (``sending``) and updated with the gateway task id once it answers (``created``). If the
   Prefect result is gone, the journal still hands back the task id. If the journal says
   ``sending`` (a crash or a dropped connection between send and answer), the step fails with
   :class:`SubmitInDoubtError` and tells the user to pass ``force_new=True`` to resubmit
   deliberately; it never resubmits by itself.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.context import TaskRunContext
from pydantic import BaseModel

from anyint import AmbiguousSubmitError, AnyIntError, APIConnectionError, APIStatusError
from anyint._utils import canonical_json, redact, storable

from . import routes
from ._gateway import current_gateway
from ._policy import RETRY_OPTIONS
from .routes import RouteSpec

__all__ = [
    "SubmitInDoubtError",
    "SubmittedTask",
    "journal_key",
    "mark_failed",
    "submit",
    "submit_digest",
]

_SNAKE_CALLBACKS = {"call_back_url", "callback_url", "callBackUrl"}


class SubmittedTask(BaseModel):
    """A gateway task this flow owns.

    Attributes:
        route: Registry name of the route (``suno.generate``).
        task_id: Gateway task id.
        digest: Digest of the request (see :func:`submit_digest`).
        reused: True when an earlier run's task was handed back instead of submitting again.
        submitted_at: When the gateway accepted it.
    """

    route: str
    task_id: str
    digest: str
    reused: bool = False
    submitted_at: datetime


class SubmitInDoubtError(AnyIntError):
    """An earlier submit of this exact request may have created a (billed) task we never heard of.

    Attributes:
        route: Route name.
        digest: Request digest, to look the task up on the gateway.
    """

    retryable = False

    def __init__(self, route_name: str, digest: str, since: str | None) -> None:
        super().__init__(
            f"{route_name}: a previous submit of this request (digest {digest[:16]}, sent "
            f"{since or 'earlier'}) got no answer, so the gateway may already have created and "
            "billed the task. Check the gateway for it first; to submit again on purpose, re-run "
            "with force_new=True."
        )
        self.route = route_name
        self.digest = digest


def submit_digest(route_name: str, body: dict[str, Any], idempotency_key: str | None) -> str:
    """The identity of a logical submit: route, canonical body (no callback URL, no secrets)
    and the caller's idempotency key."""
    text = f"{route_name}\n{canonical_json(redact(body))}\n{idempotency_key or ''}"
    return hashlib.sha256(text.encode()).hexdigest()


def _scope() -> str:
    """Gateway and store identity, so two gateways (or test emulators) never share results."""
    gateway = current_gateway()
    where = f"{gateway.credentials.base_url}|{gateway.store.root_url}"
    return hashlib.sha256(where.encode()).hexdigest()[:12]


def _cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    digest = submit_digest(
        parameters["route"], parameters["body"], parameters.get("idempotency_key")
    )
    if parameters.get("force_new"):
        return f"anyint-submit-{digest}-{uuid.uuid4().hex}"  # a deliberate new submit
    # A task that ended failed bumps the attempt in the journal, so the next run's key misses
    # the cache and submits again instead of handing back the failed task.
    return f"anyint-submit-{digest}-{_scope()}-a{_attempt(journal_key(digest))}"


def journal_key(digest: str) -> str:
    """Where the submit journal of a request digest lives in the asset store."""
    return f"submits/{digest}.json"


def _attempt(key: str) -> int:
    store = current_gateway().store
    return int(store.read_json(key).get("attempt", 0)) if store.exists(key) else 0


def mark_failed(submitted: SubmittedTask, status: str | None) -> None:
    """Record that ``submitted`` ended failed, so a re-run submits afresh rather than reusing it.

    Only the journal entry of that very task is changed (a newer submit is left alone).
    """
    store = current_gateway().store
    key = journal_key(submitted.digest)
    if not store.exists(key):
        return
    record = store.read_json(key)
    if record.get("task_id") == submitted.task_id and record.get("state") == "created":
        store.put_json(
            key,
            {
                **record,
                "state": "failed",
                "failed_status": status,
                "attempt": int(record.get("attempt", 0)) + 1,
            },
        )


def _with_callback(spec: RouteSpec, body: dict[str, Any]) -> dict[str, Any]:
    from callbacks.inbox import PLACEHOLDER_CALLBACK_URL, callback_url

    if spec.callback_field is None or _SNAKE_CALLBACKS & body.keys():
        return body
    url = callback_url(spec.family)
    if url == PLACEHOLDER_CALLBACK_URL and spec.callback_field != "callBackUrl":
        return body  # optional there: leave it out rather than point at a placeholder
    return {**body, spec.callback_field: url}


def _now() -> str:
    return datetime.now(UTC).isoformat()


@task(
    name="submit",
    task_run_name="submit {route}",
    cache_key_fn=_cache_key,
    persist_result=True,
    **RETRY_OPTIONS,
)
async def submit(
    route: str,
    body: dict[str, Any],
    idempotency_key: str | None = None,
    force_new: bool = False,
) -> SubmittedTask:
    """Create a gateway task, or hand back the one an earlier run created for the same request.

    Args:
        route: Registry name, e.g. ``suno.generate`` (see :data:`tasks.routes.ROUTES`).
        body: Request body (the callback URL is filled in from ``ANYINT_CALLBACK_URL``).
        idempotency_key: Your own key: the same request with another key is a new task.
        force_new: Submit even if an earlier submit of this request is recorded or in doubt.

    Returns:
        The gateway task id and how it was obtained.

    Raises:
        pydantic.ValidationError: The body breaks a documented rule (nothing recorded or sent).
        SubmitInDoubtError: An earlier submit may have created the task; see its message.
        APIStatusError: The gateway refused the request.
    """
    spec = routes.route(route)
    full_body = _with_callback(spec, body)
    params = spec.params.model_validate(full_body)  # every rule checked before anything else
    gateway = current_gateway()
    store = gateway.store
    digest = submit_digest(route, body, idempotency_key)
    key = journal_key(digest)
    logger = get_run_logger()
    attempt = 0
    if not force_new and store.exists(key):
        record = store.read_json(key)
        attempt = int(record.get("attempt", 0))
        if record.get("state") == "failed":
            logger.info(
                "task %s ended %s; submitting again",
                record.get("task_id"),
                record.get("failed_status"),
            )
        elif record.get("state") == "created":
            logger.info("reusing gateway task %s from an earlier run", record["task_id"])
            return SubmittedTask(
                route=route,
                task_id=record["task_id"],
                digest=digest,
                reused=True,
                submitted_at=record["created_at"],
            )
        else:
            raise SubmitInDoubtError(route, digest, record.get("sent_at"))
    journal = {
        "route": route,
        "digest": digest,
        "path": spec.path,
        "request": storable(body),
        "state": "sending",
        "attempt": attempt,
        "sent_at": _now(),
    }
    store.put_json(key, journal)
    try:
        async with gateway.client() as client:
            task_id = await spec.create(client, params)
    except AmbiguousSubmitError as exc:
        store.put_json(key, {**journal, "error": str(exc)})
        raise SubmitInDoubtError(route, digest, journal["sent_at"]) from exc
    except (APIStatusError, APIConnectionError) as exc:
        if isinstance(exc, APIStatusError) or not exc.sent:
            store.remove(key)  # the gateway refused it, or it never left: nothing was created
        raise
    created = {**journal, "state": "created", "task_id": task_id, "created_at": _now()}
    store.put_json(key, created)
    logger.info("submitted %s: gateway task %s", route, task_id)
    return SubmittedTask(
        route=route, task_id=task_id, digest=digest, submitted_at=created["created_at"]
    )
