"""Errors of the Prefect layer, each saying what happened and the one command that resolves it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anyint import AmbiguousSubmitError, TaskError, TaskFailedError, TaskTimeoutError

if TYPE_CHECKING:
    from .journal import JournalEntry

__all__ = ["RunDeadlineError", "SubmitInDoubtError", "TaskLostError", "TaskOutputMissingError"]


class SubmitInDoubtError(AmbiguousSubmitError):
    """A submit of this step may have created a (billed) task that we have no id for.

    The client raises :class:`~anyint.AmbiguousSubmitError` for one request; this is the same
    doubt as recorded in the submit journal, where it stays until the user resolves it, so no
    retry, re-run or resume sends the request again.

    Attributes:
        route: Route name.
        digest: The step's journal digest (what ``anyint-flows tasks`` shows).
    """

    retryable = False

    def __init__(self, route: str, digest: str, since: str, why: str | None) -> None:
        cause = f" ({why})" if why else ""
        message = (
            f"{route}: the submit of this step sent at {since} may have created a gateway task"
            f"{cause}, so it is not sent again. Look for the task on the gateway, then either "
            f"`anyint-flows tasks adopt {digest} TASK_ID` (the next run or resume waits on it) "
            f"or `anyint-flows tasks forget {digest}` (the next run or resume submits afresh)."
        )
        super().__init__(
            method="POST", path=route, request_digest=digest, cause=why or "unknown outcome"
        )
        # The same doubt, told as the journal sees it: with the commands that resolve it.
        self.args = (message,)
        self.message = message
        self.route = route
        self.digest = digest

    @classmethod
    def of(cls, entry: JournalEntry) -> SubmitInDoubtError:
        """The error for a journal entry in doubt."""
        since = entry.sent_at.isoformat(timespec="seconds") if entry.sent_at else "earlier"
        return cls(entry.route, entry.digest, since, entry.error)


class TaskLostError(TaskError):
    """The gateway no longer knows a recorded task, and its outputs are not in the store.

    Attributes:
        digest: The step's journal digest.
    """

    retryable = False

    def __init__(self, *, task_id: str, route: str, digest: str) -> None:
        super().__init__(
            f"{route}: the gateway no longer knows task {task_id}, and its outputs are not in "
            "the store, so this step cannot finish from what was paid for. To submit it "
            f"afresh (paid again): `anyint-flows tasks forget {digest}`, then resume or re-run.",
            task_id=task_id,
            status="not_found",
        )
        self.digest = digest


class TaskOutputMissingError(TaskFailedError):
    """The task reported success without the output its route documents (nothing to store)."""

    def __init__(self, *, task_id: str, status: str | None, route: str, missing: str) -> None:
        super().__init__(
            task_id=task_id,
            status=status,
            error_message=f"{route} reported success without {missing}",
        )


class RunDeadlineError(TaskTimeoutError):
    """The flow run's waiting budget is spent while a task still runs on the gateway.

    Attributes:
        route: Route name.
        resume: The command that waits again on the same task ids, without paying.
    """

    def __init__(
        self, timeout: TaskTimeoutError, *, route: str, budget: float, resume: str
    ) -> None:
        TaskError.__init__(
            self,
            f"{route} task {timeout.task_id} still {timeout.status} after waiting "
            f"{timeout.waited:.1f}s: the run's deadline of {budget:g}s is spent. The task is "
            f"still running on the gateway; to wait for it again without paying: {resume}",
            task_id=timeout.task_id,
            status=timeout.status,
        )
        self.waited = timeout.waited
        self.route = route
        self.resume = resume
