"""All emulator state and the rules shared by every family: tasks and their state machines,
served assets with expiry, the call log, injected faults, timing profiles and callbacks.

Routes stay thin: they validate a body, ask the backend for a task or an asset, and shape the
family's JSON. ``Backend.reset()`` returns everything to a fresh start.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import hashlib
import itertools
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, ParamSpec

from .callbacks import CallbackDispatcher
from .errors import EmulatorError
from .lean import MediaReuse, check_media_mode

__all__ = [
    "FAULT_KINDS",
    "PROFILES",
    "Asset",
    "Backend",
    "CallRecord",
    "Fault",
    "Task",
    "TaskFamily",
    "Timing",
]

TaskFamily = Literal["suno", "dashscope", "kling", "videos"]
P = ParamSpec("P")
FAMILIES: tuple[TaskFamily, ...] = ("suno", "dashscope", "kling", "videos")

#: Faults that shape the task a matching create call makes, rather than the HTTP exchange.
TASK_FAULTS = frozenset(
    {
        "task_failed",
        "task_unknown",
        "task_no_output",
        "callback_drop",
        "callback_duplicate",
        "callback_delay",
        # The created task's id has unusual characters (space, ``+``, ``=``) and is over 200
        # characters long: ids are the gateway's data, and must be safe as store keys.
        "task_odd_id",
    }
)
#: Faults a test can inject with ``POST /_emulator/faults``: the HTTP exchange's, and the task's.
FAULT_KINDS = (
    frozenset(
        {
            "status",
            "drop_before",
            "drop_after",
            "delay",
            "sse_error",
            "truncate",
            "status_after",
            # A hostile gateway: an error whose message echoes the request's headers and body.
            "echo",
            # A 2xx answer whose body is not JSON (though declared as JSON).
            "not_json",
            # A download that sends its bytes slowly, one small chunk every ``seconds``.
            "trickle",
        }
    )
    | TASK_FAULTS
)


@dataclass
class Timing:
    """How a family's tasks advance: one state per ``after_seconds`` or per ``after_polls``."""

    after_seconds: float | None = 0.05
    after_polls: int | None = None

    def __post_init__(self) -> None:
        if (self.after_seconds is None) == (self.after_polls is None):
            raise EmulatorError(400, "timing needs exactly one of after_seconds or after_polls")
        if (self.after_seconds or 0) < 0 or (self.after_polls is not None and self.after_polls < 1):
            raise EmulatorError(400, "after_seconds must be >= 0 and after_polls >= 1")


#: ``fast`` keeps tests well under a second per task; ``realistic`` paces a demo.
PROFILES: dict[str, dict[TaskFamily, Timing]] = {
    "fast": {f: Timing(after_seconds=0.05) for f in FAMILIES},
    "realistic": {
        "suno": Timing(after_seconds=6.0),
        "dashscope": Timing(after_seconds=4.0),
        "kling": Timing(after_seconds=4.0),
        "videos": Timing(after_seconds=4.0),
    },
}


@dataclass
class Fault:
    """One injected fault: the next ``times`` calls matching ``method`` and ``path`` get it."""

    method: str
    path: str
    fault: str
    times: int = 1
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        """Whether a call is targeted (``*`` globs the path, ``*`` as method matches any)."""
        return self.method in ("*", method) and fnmatch.fnmatchcase(path, self.path)


@dataclass
class CallRecord:
    """One gateway request as received, for ``GET /_emulator/calls``."""

    method: str
    path: str
    status: int
    time: float
    body_sha256: str
    created_task_id: str | None = None
    fault: str | None = None
    #: The usage this call's answer reported (sync routes that report one; see ``Call.reported``).
    usage: dict[str, Any] | None = None


@dataclass
class Asset:
    """A served file; past ``expires_at`` (monotonic) its URL answers 403 like a signed URL."""

    data: bytes
    content_type: str
    expires_at: float


@dataclass
class Task:
    """A gateway task and its state machine.

    Attributes:
        stages: Status names from first to terminal success, e.g. PENDING → RUNNING → SUCCEEDED.
        failure: When set, the terminal stage is this failure status instead of success.
        unknown: Queries answer as if the task did not exist (``task_unknown`` fault).
        no_output: The task succeeds but its answers lack the output (``task_no_output``).
        reached: Highest stage index whose callbacks were already emitted.
        data: Family-specific facts (audio ids, parent task, cached outputs).
    """

    id: str
    family: TaskFamily
    kind: str
    stages: tuple[str, ...]
    body: dict[str, Any]
    base_url: str
    created: float
    failure: str | None = None
    unknown: bool = False
    no_output: bool = False
    callback_url: str | None = None
    callback_wrapped: bool = False
    callback_faults: dict[str, float] = field(default_factory=dict)
    polls: int = 0
    reached: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    #: When a query first answered the terminal status (clock time): with ``created``, the
    #: span a client saw the task in flight (the limits tests read it from ``GET tasks``).
    terminal_seen: float | None = None

    @property
    def last(self) -> int:
        """Index of the terminal stage."""
        return len(self.stages) - 1


def odd_task_id(plain: str) -> str:
    """``plain`` made into an id no store key could hold as it is (``task_odd_id`` fault).

    A space, ``+`` and ``=`` (a query string decodes ``+`` as a space, base64 pads with ``=``),
    and over 200 characters: still unique, since it starts with the plain id.
    """
    return f"{plain} odd+id=" + "x" * 200


#: Builds the callback payloads (bare AnyInt shape) for a task entering a status.
CallbackBuilder = Callable[[Task, str], list[dict[str, Any]]]


class Backend:
    """State and rules of one emulated gateway.

    Args:
        timing: Profile name (``fast`` or ``realistic``).
        asset_ttl: Seconds an asset URL stays valid.
        clock: Monotonic clock, injectable for tests.
        seed: Seed for deterministic ids; None (the default) issues ids no other emulator
            instance (or earlier reset) ever issues, as a real gateway does.
        media: ``full`` (the default: media of its own for every task) or ``lean`` (each kind
            and size of file rendered once and reused by every task; see :mod:`emulator.lean`).
    """

    def __init__(
        self,
        *,
        timing: str = "fast",
        asset_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
        media: str = "full",
    ) -> None:
        if timing not in PROFILES:
            raise ValueError(f"timing must be one of {sorted(PROFILES)}, got {timing!r}")
        self.profile = timing
        self.default_asset_ttl = asset_ttl
        self.clock = clock
        self.callbacks = CallbackDispatcher()
        self.callback_builders: dict[str, CallbackBuilder] = {}
        self.media = check_media_mode(media)
        self.reused_media = MediaReuse()
        self.reset(seed=seed)

    # -- lifecycle ------------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None) -> None:
        """Forget every task, asset, call, fault and timing override.

        Args:
            seed: Seed for deterministic ids and media; None goes back to unseeded (fresh,
                never-repeating ids).
        """
        self.seed = seed
        # Unseeded, a random salt keeps ids of separate instances (and of each reset) apart, so a
        # client cannot mistake one emulator's task for another's. Seeded, the salt is the seed
        # itself, which keeps seeded ids exactly what they always were.
        self._id_salt = str(seed) if seed is not None else f"u{secrets.token_hex(16)}"
        self._ids = itertools.count(1)
        self.tasks: dict[str, Task] = {}
        self.assets: dict[str, Asset] = {}
        self.asset_by_key: dict[str, str] = {}
        self.calls: list[CallRecord] = []
        self.faults: list[Fault] = []
        self.timing: dict[TaskFamily, Timing] = dict(PROFILES[self.profile])
        self.asset_ttl = self.default_asset_ttl
        self.valid_keys: set[str] | None = None
        self.callback_shape: Literal["bare", "wrapped"] = "bare"
        self.callbacks.reset()
        self.reused_media.clear()

    def new_id(self, prefix: str = "") -> str:
        """A fresh id: deterministic for a given seed and call order, else unique everywhere."""
        n = next(self._ids)
        return prefix + hashlib.sha256(f"{self._id_salt}:{n}".encode()).hexdigest()[:24]

    def media_seed(self, *parts: object) -> int:
        """A media seed from the request: the same request (and seed) gives the same bytes.

        Unseeded media use seed 0: only ids must be unique, and stable bytes per request keep
        outputs comparable across runs.
        """
        text = repr((self.seed or 0, *parts)).encode()
        return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")

    @property
    def lean(self) -> bool:
        """Whether media are rendered once per kind and reused (``media="lean"``)."""
        return self.media == "lean"

    def render(self, make: Callable[P, bytes], *args: P.args, **kwargs: P.kwargs) -> bytes:
        """``make(*args, **kwargs)``: in lean mode once per distinct recipe, then reused."""
        if self.lean:
            return self.reused_media.render(make, *args, **kwargs)
        return make(*args, **kwargs)

    def media_text(self, text: str | None) -> str | None:
        """Text to draw into a picture: none in lean mode, where one picture serves every task."""
        return None if self.lean else text

    # -- auth -----------------------------------------------------------------------------------

    def check_key(self, key: str | None) -> None:
        """401 unless ``key`` is non-empty (and in ``valid_keys`` when that is set)."""
        if not key or (self.valid_keys is not None and key not in self.valid_keys):
            raise EmulatorError(401, "Invalid or missing API key", code="invalid_api_key")

    # -- faults ---------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        """Queue a fault (see :data:`FAULT_KINDS`)."""
        if fault.fault not in FAULT_KINDS:
            raise EmulatorError(400, f"fault must be one of {sorted(FAULT_KINDS)}")
        if fault.times < 1:
            raise EmulatorError(400, "times must be >= 1")
        self.faults.append(fault)

    def take_fault(
        self, method: str, path: str, *, task_faults: bool, skip: Sequence[Fault] = ()
    ) -> Fault | None:
        """Consume the first queued fault matching the call, if any.

        Args:
            method: HTTP method of the call.
            path: Its path.
            task_faults: True to look only at task-shaping faults, False for exchange faults.
            skip: Faults already applied to this call (compared by identity).
        """
        for fault in self.faults:
            if any(fault is done for done in skip):
                continue
            if (fault.fault in TASK_FAULTS) == task_faults and fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- tasks ----------------------------------------------------------------------------------

    def create_task(
        self,
        *,
        family: TaskFamily,
        kind: str,
        stages: tuple[str, ...],
        body: dict[str, Any],
        base_url: str,
        failure_status: str,
        method: str,
        path: str,
        callback_url: str | None = None,
        callback_wrapped: bool = False,
        prefix: str = "",
        data: dict[str, Any] | None = None,
    ) -> Task:
        """Create a task, applying any task-shaping fault queued for this route.

        Args:
            family: Timing family.
            kind: Route-specific kind (``music``, ``lyrics``, ``video`` ...).
            stages: Its success path of statuses.
            body: The request body (kept for outputs and ``param``).
            base_url: Where this gateway is reached, for asset URLs.
            failure_status: Terminal status used when a ``task_failed`` fault applies.
            method: The create call's method (fault matching).
            path: The create call's path (fault matching).
            callback_url: Where to POST callbacks (hosts under ``.invalid`` are never called).
            callback_wrapped: Send the upstream ``{code,msg,data}`` wrapper, not the bare shape.
            prefix: Id prefix.
            data: Family-specific facts.
        """
        task = Task(
            id=self.new_id(prefix),
            family=family,
            kind=kind,
            stages=stages,
            body=body,
            base_url=base_url,
            created=self.clock(),
            callback_url=callback_url,
            callback_wrapped=callback_wrapped,
            data=dict(data or {}),
        )
        self._shape(task, method, path, failure_status)
        self.tasks[task.id] = task
        timing = self.timing[family]
        if callback_url and timing.after_seconds is not None:
            self._schedule_callbacks(task, timing.after_seconds)
        return task

    def _shape(self, task: Task, method: str, path: str, failure_status: str) -> None:
        """Apply the task faults queued for the create call that makes ``task``."""
        # Several queued faults may shape one task, but each at most once: a fault with
        # ``times: 2`` shapes the next two matching tasks, not one task twice.
        applied: list[Fault] = []
        while (fault := self.take_fault(method, path, task_faults=True, skip=applied)) is not None:
            applied.append(fault)
            if fault.fault == "task_failed":
                task.failure = failure_status
            elif fault.fault == "task_unknown":
                task.unknown = True
            elif fault.fault == "task_no_output":
                task.no_output = True
            elif fault.fault == "task_odd_id":
                task.id = odd_task_id(task.id)
            else:
                task.callback_faults[fault.fault] = fault.seconds

    def status(self, task: Task, *, poll: bool = True) -> str:
        """Current status of ``task``; a query counts as a poll for poll-paced timing.

        Entering a new status emits its callbacks (once per status).
        """
        if poll:
            task.polls += 1
        timing = self.timing[task.family]
        if timing.after_polls is not None:
            index = task.polls // timing.after_polls
        elif timing.after_seconds:
            index = int((self.clock() - task.created) / timing.after_seconds)
        else:
            index = task.last
        index = min(index, task.last)
        if poll and index == task.last and task.terminal_seen is None:
            task.terminal_seen = self.clock()
        self._emit(task, index)
        return self._name(task, index)

    def _name(self, task: Task, index: int) -> str:
        if index == task.last and task.failure is not None:
            return task.failure
        return task.stages[index]

    def is_done(self, task: Task, status: str) -> bool:
        """Whether ``status`` is the task's terminal one (success or failure)."""
        return status in (task.stages[-1], task.failure)

    def _emit(self, task: Task, index: int) -> None:
        builder = self.callback_builders.get(task.family)
        while task.reached < index:
            task.reached += 1
            if builder is None or not task.callback_url:
                continue
            for payload in builder(task, self._name(task, task.reached)):
                self.callbacks.send(
                    task.callback_url,
                    payload,
                    task_id=task.id,
                    wrapped=task.callback_wrapped,
                    faults=task.callback_faults,
                )

    def _schedule_callbacks(self, task: Task, step: float) -> None:
        loop = asyncio.get_running_loop()
        for index in range(1, task.last + 1):
            # Status is derived from time; this only makes sure callbacks go out on time
            # even when nobody polls.
            loop.call_later(step * index + 0.001, functools.partial(self.status, task, poll=False))

    def get_task(self, task_id: str) -> Task | None:
        """The task with that id, or None."""
        return self.tasks.get(task_id)

    def find_task(self, task_id: str, family: TaskFamily) -> Task | None:
        """The ``family`` task a query names, or None when the gateway must not know it.

        None covers an unknown id, another family's task and a task under a ``task_unknown``
        fault; each family answers that in its own way (404, or DashScope's ``UNKNOWN``).
        """
        task = self.tasks.get(task_id)
        if task is None or task.family != family or task.unknown:
            return None
        return task

    # -- assets ---------------------------------------------------------------------------------

    def serve(
        self, base_url: str, key: str, name: str, content_type: str, make: Callable[[], bytes]
    ) -> str:
        """Serve the asset known as ``key`` and return its absolute URL.

        ``make`` runs once per key. A URL stays valid for ``asset_ttl`` seconds; asking again after
        that issues a fresh URL for the same bytes, as re-querying a real task does.
        """
        asset_id = self.asset_by_key.get(key)
        asset = self.assets.get(asset_id) if asset_id else None
        if asset is not None and self.clock() <= asset.expires_at:
            return self._asset_url(base_url, asset_id or "", name)
        data = asset.data if asset is not None else make()
        asset_id = self.new_id("a")
        self.assets[asset_id] = Asset(data, content_type, self.clock() + self.asset_ttl)
        self.asset_by_key[key] = asset_id
        return self._asset_url(base_url, asset_id, name)

    @staticmethod
    def _asset_url(base_url: str, asset_id: str, name: str) -> str:
        return f"{base_url.rstrip('/')}/_assets/{asset_id}/{name}"

    def get_asset(self, asset_id: str) -> Asset:
        """The asset, or a 404 (unknown) / 403 (expired, like a lapsed signed URL)."""
        asset = self.assets.get(asset_id)
        if asset is None:
            raise EmulatorError(404, "asset not found", code="not_found")
        if self.clock() > asset.expires_at:
            raise EmulatorError(
                403, "asset URL expired; query the task again for a fresh URL", code="expired"
            )
        return asset
