"""The AnyInt exception tree.

Every error raised by this library derives from :class:`AnyIntError` and carries ``retryable``:
whether trying the same call again later can succeed. Prefect tasks retry only on that flag.

Task-creating requests ("creates": every POST that starts a paid gateway task, sent with
``creates_task=True``) follow one rule, because the gateway has no idempotency key (§13.3) and a
second send may create and bill a second task: **an answer that does not prove the task was not
created is doubt, and doubt is never re-sent** by the client, by the Prefect tasks or by any other
layer; only a caller who has looked for the task may resubmit on purpose.

- Proof of rejection, raised as :class:`APIStatusError`: every 4xx and 503 (§2.3 and §13.2 tell
  clients to retry 503 with backoff). The retryable ones (408, 429, Suno's 405/430/455, 503) are
  retried with backoff as for any request; the others (400, 401, 403, ...) are raised at once. A
  Suno or Kling body ``code`` in a 2xx answer counts as that status.
- Doubt, raised as :class:`AmbiguousSubmitError` (``retryable`` is False): every other 5xx (500,
  502, 504, ...: undocumented for creates, so the task may exist), any other non-2xx answer, a
  connection dropped or a read timing out after the request was sent, a body cut short, and a
  2xx body that is not the documented JSON (not JSON, or JSON without the task id the family
  documents). The error keeps the gateway's status and message and the request digest; the key
  and callback URLs are masked from its text, and it pickles without the request.

Non-create requests (GETs, sync POSTs such as messages or generateContent) retry 5xx as usual.

::

    AnyIntError
    ├── APIError                       a request to the gateway went wrong
    │   ├── APIConnectionError         no response (retryable; ``sent`` says if it may have arrived)
    │   │   └── APITimeoutError
    │   ├── AmbiguousSubmitError       a create may have made a task: no answer, 5xx other than 503,
    │   │                              or an unreadable 2xx; never resent by any layer
    │   ├── APIResponseValidationError a body we cannot read (for a create: AmbiguousSubmitError)
    │   ├── DownloadError              an asset download was refused or cut short
    │   └── APIStatusError             the gateway answered with an error status or body ``code``
    │       ├── BadRequestError              400
    │       ├── AuthenticationError          401
    │       ├── PermissionDeniedError        403
    │       ├── NotFoundError                404
    │       ├── FrequencyLimitError          405 (Suno body code: frequency limit, retryable)
    │       ├── RequestTimeoutError          408 (retryable)
    │       ├── ConflictError                409 (e.g. Suno WAV already exists; not retryable)
    │       ├── PayloadTooLargeError         413
    │       ├── UnprocessableEntityError     422
    │       ├── RateLimitError               429 (retryable)
    │       ├── SunoRateLimitError           430 (retryable)
    │       ├── MaintenanceError             455 (retryable)
    │       └── InternalServerError          5xx (retryable; on a create only 503, the others
    │           │                            raise AmbiguousSubmitError)
    │           └── ServiceUnavailableError  503
    └── TaskError                      a gateway task did not produce its result
        ├── TaskFailedError            the task reached a failed terminal state
        └── TaskTimeoutError           our deadline passed before a terminal state (not retryable:
                                       waiting again is the caller's decision)

Programmer mistakes (bad arguments) raise ``ValueError`` or pydantic's ``ValidationError`` before
any request is sent; they never surface as API errors.
"""

from __future__ import annotations

from typing import Any

import httpx

from .secrets import scrub, scrub_value

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousSubmitError",
    "AnyIntError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DownloadError",
    "FrequencyLimitError",
    "InternalServerError",
    "MaintenanceError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ServiceUnavailableError",
    "SunoRateLimitError",
    "TaskError",
    "TaskFailedError",
    "TaskTimeoutError",
    "UnprocessableEntityError",
    "make_status_error",
    "proves_rejection",
]


class AnyIntError(Exception):
    """Base class of every error this library raises on purpose.

    Its text never carries a secret the process knows (the API key, the callback token, AWS
    credentials; see :mod:`anyint.secrets`): a gateway may echo the request in its error
    message, and errors end up in Prefect's database, in logs and in the journal. Arguments,
    attributes and notes are scrubbed as they are set, and ``str``/``repr`` once more for
    secrets learnt later.
    """

    retryable: bool = False

    def __init__(self, *args: Any) -> None:
        super().__init__(*(scrub_value(a) for a in args))

    def __setattr__(self, name: str, value: Any) -> None:
        # Dunders are Python's own (``__notes__`` is a list the interpreter appends to in place,
        # so it must stay the same object; ``add_note`` scrubs each note).
        dunder = name.startswith("__") and name.endswith("__")
        super().__setattr__(name, value if dunder else scrub_value(value))

    def add_note(self, note: str, /) -> None:
        """Add a note, scrubbed of secrets (see the class docstring)."""
        super().add_note(scrub(note))

    def __str__(self) -> str:
        return scrub(super().__str__())

    def __repr__(self) -> str:
        return scrub(super().__repr__())

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors get pickled (Prefect persists failed task results, Dask ships them between
        # processes). Rebuild without __init__, whose keyword-only arguments the default reduce
        # cannot pass, and without the request: its headers hold the API key and its body the
        # callback URL with its token.
        state = dict(self.__dict__)
        if "request" in state:
            state["request"] = None
        return (_rebuild, (type(self), self.args), state)


def _rebuild(cls: type[AnyIntError], args: tuple[Any, ...]) -> AnyIntError:
    """Unpickle an :class:`AnyIntError` (see ``AnyIntError.__reduce__``)."""
    return cls.__new__(cls, *args)


class APIError(AnyIntError):
    """A request to the gateway failed.

    Attributes:
        message: Human-readable reason, the gateway's own message where it sent one.
        request: The request that failed, when known. Its headers never hold the key in ``repr``.
        body: The decoded error body, when there was one.
    """

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, body: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body


class APIConnectionError(APIError):
    """No response arrived (connection refused, reset or dropped).

    Attributes:
        sent: True when the request may have reached the gateway before the failure.
    """

    retryable = True
    #: The message when none is given.
    default_message = "Connection error."

    def __init__(
        self,
        message: str | None = None,
        *,
        request: httpx.Request | None = None,
        sent: bool = False,
    ) -> None:
        super().__init__(self.default_message if message is None else message, request=request)
        self.sent = sent


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, write, read or pool)."""

    default_message = "Request timed out."


class AmbiguousSubmitError(APIError):
    """A task-creating request may have created a task, and nothing proves it did not.

    Raised when no answer came back after the request was sent, or when the answer was a 5xx
    other than 503, another non-2xx status, or a 2xx body without the documented task id (see
    the module docstring). The client never resends it by itself, nor may any layer above: the
    gateway has no idempotency key, so a resend could create (and bill) a second task. Look for
    the task first, or resubmit deliberately.

    Attributes:
        method: HTTP method of the request.
        path: Gateway path of the request.
        request_digest: sha256 of the canonical request body, to match a task found later.
        cause: What made the outcome doubtful (exception name, status or parse failure).
        status_code: The answer's status (a Suno/Kling body ``code`` counts as the status), or
            None when no answer arrived.
        http_status: The HTTP status of the answer, or None when no answer arrived.
        gateway_message: The gateway's message (or the start of the body when it has none),
            when it answered; callback URLs and the key are masked.
        request_id: Request id reported by the gateway, when present.
    """

    retryable = False

    def __init__(
        self,
        *,
        method: str,
        path: str,
        request_digest: str,
        cause: str,
        request: httpx.Request | None = None,
        status_code: int | None = None,
        http_status: int | None = None,
        gateway_message: str | None = None,
        request_id: str | None = None,
    ) -> None:
        if http_status is None:
            what = f"may have reached the gateway ({cause}) but no response arrived"
        else:
            what = f"got an answer that does not prove no task was created ({cause})"
        super().__init__(
            f"{method} {path} {what}; not resent to avoid paying twice (request digest "
            f"{request_digest[:16]}). Check for an existing task before resubmitting deliberately.",
            request=request,
        )
        self.method = method
        self.path = path
        self.request_digest = request_digest
        self.cause = cause
        self.status_code = status_code
        self.http_status = http_status
        self.gateway_message = gateway_message
        self.request_id = request_id


def proves_rejection(status_code: int) -> bool:
    """Whether an answer with this status to a create proves no task was created.

    Every 4xx does (the gateway refused before any work), and so does 503 (§2.3, §13.2: retry
    with backoff). Any other status, 5xx or not, leaves the create in doubt.

    Args:
        status_code: HTTP status, or a Suno/Kling body ``code`` treated as the status.

    Returns:
        True when the answer proves rejection; False when it is doubt.
    """
    return 400 <= status_code < 500 or status_code == 503


class APIResponseValidationError(APIError):
    """The gateway answered with a body that does not match the documented shape."""


class DownloadError(APIError):
    """An asset could not be downloaded whole: bad scheme, wrong type, too large or truncated.

    Attributes:
        url: The asset URL (never carries our key: keys are only ever sent in headers).
    """

    def __init__(self, message: str, *, url: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.retryable = retryable


class APIStatusError(APIError):
    """The gateway answered with an error HTTP status or an error body ``code``.

    Attributes:
        status_code: The error status: the HTTP status, or Suno's body ``code`` when that is the
            error (Suno may answer HTTP 200 with an error code in the body).
        http_status: The HTTP status of the response itself.
        error_type: ``error.type`` from the envelope, when present.
        error_code: ``error.code`` (or the provider's own code field), when present.
        request_id: Request id reported by the gateway, when present.
        retry_after: Seconds the gateway asked us to wait, when it said so.
    """

    retryable_statuses = frozenset({405, 408, 429, 430, 455})

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        http_status: int | None = None,
        request: httpx.Request | None = None,
        body: Any = None,
        error_type: str | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, request=request, body=body)
        self.status_code = status_code
        self.http_status = http_status if http_status is not None else status_code
        self.error_type = error_type
        self.error_code = error_code
        self.request_id = request_id
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.status_code in self.retryable_statuses or self.status_code >= 500


class BadRequestError(APIStatusError):
    """400: invalid body or missing fields. Fix the payload; never retried."""


class AuthenticationError(APIStatusError):
    """401: the key is missing, wrong, or sent with the wrong header style for the family."""


class PermissionDeniedError(APIStatusError):
    """403: blocked by subscription, model access or key policy (or an expired asset URL)."""


class NotFoundError(APIStatusError):
    """404: unknown path, model or task."""


class FrequencyLimitError(APIStatusError):
    """405 in a Suno body: call frequency limit exceeded. Retried with backoff."""


class RequestTimeoutError(APIStatusError):
    """408: the gateway timed out waiting for an upstream. Retried."""


class ConflictError(APIStatusError):
    """409: the resource already exists (e.g. a WAV for this track). Not retried."""


class PayloadTooLargeError(APIStatusError):
    """413: a prompt, style or title exceeds the model's limit, or the body is too large."""


class UnprocessableEntityError(APIStatusError):
    """422: the body is well-formed but semantically invalid."""


class RateLimitError(APIStatusError):
    """429: a rate limit or quota was reached. Retried after ``Retry-After`` or with backoff."""


class SunoRateLimitError(APIStatusError):
    """430 (Suno): request rate too high. Retried with backoff."""


class MaintenanceError(APIStatusError):
    """455 (Suno): system maintenance. Retried with backoff."""


class InternalServerError(APIStatusError):
    """5xx: the gateway or its upstream failed. Retried with backoff.

    Not raised for a create, except 503: any other 5xx leaves the task in doubt, so it raises
    :class:`AmbiguousSubmitError` instead and is not resent.
    """


class ServiceUnavailableError(InternalServerError):
    """503: upstream temporarily unavailable. Proves rejection even for a create: retried."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: FrequencyLimitError,
    408: RequestTimeoutError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    430: SunoRateLimitError,
    455: MaintenanceError,
    503: ServiceUnavailableError,
}


def make_status_error(message: str, *, status_code: int, **kwargs: Any) -> APIStatusError:
    """Build the :class:`APIStatusError` subclass that matches ``status_code``.

    The one factory for status errors, used for HTTP responses, Suno body codes and mid-stream
    SSE error events alike.

    Args:
        message: The gateway's message.
        status_code: HTTP status or business code of the error.
        **kwargs: Passed through to :class:`APIStatusError`.

    Returns:
        The matching error instance (not raised).
    """
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    return cls(message, status_code=status_code, **kwargs)


class TaskError(AnyIntError):
    """A gateway task did not produce its result.

    Attributes:
        task_id: The gateway task id, kept so a paid job can always be recovered.
        status: The last status seen.
    """

    def __init__(self, message: str, *, task_id: str, status: str | None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.status = status


class TaskFailedError(TaskError):
    """The task reached a failed terminal state (FAILED, UNKNOWN, GENERATE_AUDIO_FAILED, ...).

    Attributes:
        error_code: The provider's error code, when given.
        error_message: The provider's error message, when given.
    """

    def __init__(
        self,
        *,
        task_id: str,
        status: str | None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        detail = f": {error_message}" if error_message else ""
        code = f" [{error_code}]" if error_code else ""
        super().__init__(
            f"task {task_id} ended {status}{code}{detail}", task_id=task_id, status=status
        )
        self.error_code = error_code
        self.error_message = error_message


class TaskTimeoutError(TaskError):
    """Our overall deadline passed before the task reached a terminal state.

    The task may still finish on the gateway; wait again with the same ``task_id`` if you want
    to. Not retryable: a deadline is owned once, so waiting again is the caller's decision,
    never an automatic retry into a fresh window.
    """

    retryable = False

    def __init__(self, *, task_id: str, status: str | None, waited: float) -> None:
        super().__init__(
            f"task {task_id} still {status} after waiting {waited:.1f}s; "
            "wait again with the same task id rather than resubmitting",
            task_id=task_id,
            status=status,
        )
        self.waited = waited
