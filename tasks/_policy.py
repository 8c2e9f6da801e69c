"""Task retry policy: Prefect retries a task only when the error says trying again can help."""

from __future__ import annotations

from typing import Any

from anyint import AnyIntError

__all__ = ["RETRY_DELAYS", "RETRY_OPTIONS", "retry_if_retryable"]

#: Seconds between Prefect-level retries; the client already retried transient HTTP failures.
RETRY_DELAYS = [2.0, 10.0]


def retry_if_retryable(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn``: retry only errors flagged ``retryable`` (never a bad request, an
    auth failure, a failed gateway task or an ambiguous create).

    Prefect hands over ``Failed(data=exception)``; reading ``state.data`` instead of
    ``state.result()`` keeps this safe in async tasks, where ``result()`` returns a coroutine.
    """
    exc = getattr(state, "data", None)
    return isinstance(exc, AnyIntError) and bool(exc.retryable)


#: ``@task(**RETRY_OPTIONS)``: the one retry policy every gateway task uses.
RETRY_OPTIONS: dict[str, Any] = {
    "retries": len(RETRY_DELAYS),
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": retry_if_retryable,
}
