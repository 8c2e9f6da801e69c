"""The fault matrix as data: route steps by injectable faults → expected outcome.

A *step* is one logical paid operation of a route (a sync call, or submit → wait → fetch of a task
route). A *fault* is one thing the emulator can do wrong, aimed at one part of a step (its paid
call, its status query, its download, the task it creates, its callbacks or its asset URLs).
:func:`cases` crosses the two tables, leaving out combinations that cannot occur (no callbacks on
DashScope, no SSE on a plain call). Adding a route or a fault is one row.

Faults whose handling differs per route (task failure statuses, callback shapes, output URLs,
whether a create is marked as one) hit every route. Faults handled by code that every route of a
family shares (the client's retry loop for statuses and dropped connections on the family's
resource) hit one lead route per family, which keeps the suite within its time budget: all six
AI Music creation routes go through ``Suno._create``, all their queries through ``Suno._query``.
Faults that leave a create in doubt hit every create route: each must be recorded in doubt, never
sent again, and resolved by ``adopt`` or ``forget`` with exactly one further create (or none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from anyint import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadError,
    PermissionDeniedError,
    TaskFailedError,
)
from tasks import SubmitInDoubtError, TaskLostError

from ._support import ADOPT_HINT

Target = Literal["call", "query", "download", "task", "callback", "expiry"]

# -- the steps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One logical paid operation.

    Attributes:
        name: Row id.
        call: The paid request, ``"METHOD /path-glob"`` (what a fault on ``call`` targets).
        family: Emulator timing family of a task route.
        route: ``tasks.routes`` name of a task route; None for a sync task.
        body: Request body of a task route (``{parent}`` fields filled from the parent song).
        query: Status query of a task route.
        download: A download that goes through a gateway route (faults can target it).
        parent: Needs a finished song (Suno follow-ups take its ``taskId``/``audioId``).
        failed: Terminal status a ``task_failed`` fault produces.
        unknown: Error type and message pattern of a task the gateway has forgotten.
        streaming: The call is an SSE stream.
        expiring: Outputs come from expiring asset URLs.
        callbacks: The route takes a callback URL.
        lead: The route that stands for its family under faults of family-wide code.
        repeat_refused: Error type and message pattern (``{task_id}``: the existing task) with
            which the gateway refuses a second task of this kind for the same parent: such a
            re-send, after ``forget``, is answered without a new task.
    """

    name: str
    call: str
    family: str | None = None
    route: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    query: str | None = None
    download: str | None = None
    parent: bool = False
    failed: str = ""
    unknown: tuple[type[Exception], str] | None = None
    streaming: bool = False
    expiring: bool = True
    callbacks: bool = False
    lead: bool = True
    repeat_refused: tuple[type[Exception], str] | None = None

    @property
    def is_task(self) -> bool:
        """A submit → wait → fetch step."""
        return self.route is not None

    @property
    def is_suno(self) -> bool:
        """An AI Music step (the only family with 430/455)."""
        return self.name.startswith("suno")


#: A task the gateway no longer knows (a 404, or DashScope's UNKNOWN) is lost, never re-created.
_MISSING = (TaskLostError, r"no longer knows task .*anyint-flows tasks forget")
_SUNO = "suno"
#: A Suno follow-up's body: the parent song's task and first track (filled in by :func:`fill`).
_TRACK_OF_PARENT = {"taskId": "{task_id}", "audioId": "{audio_id}"}


def _kling(kind: str, body: dict[str, Any], *, lead: bool) -> Step:
    """A Kling video route: ``kind`` names its path, its route and its status query alike."""
    path = f"/transtreams/kling/v1/videos/{kind}"
    return Step(
        f"kling-{kind}",
        f"POST {path}",
        family="kling",
        lead=lead,
        route=f"kling.{kind}",
        body={"model_name": "kling-v3", **body, "duration": 1},
        query=f"GET {path}/*",
        failed="failed",
        unknown=_MISSING,
        callbacks=True,
    )


def _suno(
    name: str,
    path: str,
    query: str,
    failed: str,
    body: dict[str, Any] = _TRACK_OF_PARENT,
    **options: Any,
) -> Step:
    """An AI Music route (``POST /suno/{path}``, queried at ``/suno/query/{query}``). By default
    a follow-up of a parent song, taking its task and track, which stands behind the lead route."""
    options = {"parent": True, "lead": False, **options}
    return Step(
        f"suno-{name}",
        f"POST /suno/{path}",
        family=_SUNO,
        route=f"suno.{path}",
        body=dict(body),
        query=f"GET /suno/query/{query}",
        failed=failed,
        unknown=_MISSING,
        callbacks=True,
        **options,
    )


STEPS: list[Step] = [
    Step("anthropic", "POST /anthropic/v1/messages", expiring=False),
    Step("gemini", "POST /gemini/v1beta/models/*:generateContent", expiring=False),
    Step(
        "gemini-stream",
        "POST /gemini/v1beta/models/*:streamGenerateContent",
        streaming=True,
        expiring=False,
    ),
    Step("dashscope-image", "POST /dashscope/v1/services/aigc/multimodal-generation/generation"),
    Step(
        "dashscope-video",
        "POST /dashscope/v1/services/aigc/video-generation/video-synthesis",
        family="dashscope",
        route="dashscope.video-synthesis",
        body={
            "model": "wan2.6-t2v",
            "input": {"prompt": "a red kite over the sea"},
            "parameters": {"size": "320*180", "duration": 1},
        },
        query="GET /dashscope/v1/tasks/*",
        failed="FAILED",
        unknown=_MISSING,
    ),
    _kling("text2video", {"prompt": "a fox in snow"}, lead=True),
    _kling(
        "image2video",
        {"prompt": "the fox wakes up", "image": "https://frames.reliability.invalid/first.png"},
        lead=False,
    ),
    *(
        Step(
            f"kling-{kind}",
            f"POST /transtreams/kling/v1/{path}",
            family="kling",
            lead=False,
            route=f"kling.{kind}",
            body={"model_name": model, "prompt": "a lantern", **extra},
            query=f"GET /transtreams/kling/v1/{path}/*",
            failed="failed",
            unknown=_MISSING,
            callbacks=True,
        )
        for kind, path, model, extra in (
            ("omni-video", "videos/omni-video", "kling-v3-omni", {"duration": "3"}),
            ("image", "images/generations", "kling-v2-1", {}),
            ("omni-image", "images/omni-image", "kling-v3-omni", {}),
        )
    ),
    Step(
        "kling-videos",
        "POST /openai/v1/videos",
        family="videos",
        route="videos.create",
        body={"model": "kling-3.0", "prompt": "a paper boat", "duration": 1},
        query="GET /openai/v1/videos/*",
        download="GET /openai/v1/videos/*/content",
        failed="failed",
        unknown=_MISSING,
        expiring=False,  # the MP4 comes from the gateway's own /content route
    ),
    _suno(
        "generate",
        "generate",
        "task",
        "GENERATE_AUDIO_FAILED",
        {"customMode": False, "instrumental": False, "model": "V5", "prompt": "a sea shanty"},
        parent=False,
        lead=True,
    ),
    _suno(
        "lyrics",
        "generate-lyrics",
        "lyrics",
        "GENERATE_LYRICS_FAILED",
        {"prompt": "a song about lighthouses"},
        parent=False,
        expiring=False,  # lyrics come inline
    ),
    _suno("vocal-removal", "vocal-removal", "vocal-removal", "GENERATE_AUDIO_FAILED"),
    _suno("mp4", "mp4-generate", "mp4", "GENERATE_MP4_FAILED"),
    _suno(
        "wav",
        "wav-generate",
        "wav",
        "GENERATE_WAV_FAILED",
        repeat_refused=(ConflictError, r"already exists: taskId '{task_id}'"),
    ),
    _suno(
        "cover",
        "generate-cover",
        "cover",
        "GENERATE_COVER_FAILED",
        {"taskId": "{task_id}"},
        repeat_refused=(BadRequestError, r"already generated .*taskId '{task_id}'"),
    ),
]


# -- the faults -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What a step does under a fault.

    Attributes:
        error: Exception the flow must end with; None when it must recover.
        match: Regex its message must contain (``{failed}`` is the step's failure status).
        keeps_task_id: The message must name the gateway task id.
        creates: Gateway tasks created by the step (task routes).
        processed: Paid calls the gateway carried out (sync routes).
        sends: Create requests the gateway received (None: not checked). A create in doubt is
            sent exactly once: no layer sends it again.
        resolve: The step ends in doubt; the row then resolves it (adopt the created task, or
            forget the step) and resumes the same flow run.
    """

    error: type[Exception] | None = None
    match: str = ""
    keeps_task_id: bool = False
    creates: int = 1
    processed: int = 1
    sends: int | None = None
    resolve: bool = False


OK = Expect()
#: In doubt, and no task exists (the gateway never carried the create out).
IN_DOUBT_UNSENT = Expect(SubmitInDoubtError, ADOPT_HINT, creates=0, sends=1, resolve=True)
#: In doubt, and the task exists (the gateway created it; only its answer was lost).
IN_DOUBT_CREATED = Expect(SubmitInDoubtError, ADOPT_HINT, creates=1, sends=1, resolve=True)
#: Refused with the request echoed back: the echo is kept, its key masked (``***``).
_ECHOED = Expect(BadRequestError, r"rejected POST .*\*\*\*", creates=0)
_ECHOED_SYNC = Expect(BadRequestError, r"rejected POST .*\*\*\*", processed=0)
RESENT = Expect(processed=2)  # a sync call whose answer was lost is asked again (see README)


def _task_failed(step: Step) -> Expect:
    return Expect(TaskFailedError, rf"ended {step.failed}\b", keeps_task_id=True)


def _task_unknown(step: Step) -> Expect:
    assert step.unknown is not None
    return Expect(step.unknown[0], step.unknown[1], keeps_task_id=True)


def _expired(step: Step) -> Expect:
    # A sync route has no task to ask again for a fresh URL: fail, naming why.
    return OK if step.is_task else Expect(PermissionDeniedError, r"expired")


Outcome = Expect | Callable[[Step], Expect] | None


@dataclass(frozen=True)
class Fault:
    """One injectable fault and what every kind of step must do under it.

    Attributes:
        id: Row id.
        target: Which part of the step it hits.
        spec: The ``/_emulator/faults`` body without ``match`` (for ``expiry``: the asset TTL).
        task: Outcome on a task route (None: not applicable).
        sync: Outcome on a sync route (None: not applicable).
        scope: ``route``: every route; ``family``: the lead route of each family.
        only: Further restriction to the steps it applies to.
        threaded: Needs the socket server and a short client read timeout.
    """

    id: str
    target: Target
    spec: dict[str, Any]
    task: Outcome = OK
    sync: Outcome = OK
    scope: Literal["route", "family"] = "family"
    only: Callable[[Step], bool] = lambda step: True
    threaded: bool = False

    def applies(self, step: Step) -> bool:
        """Whether this fault can hit ``step``."""
        outcome = self.task if step.is_task else self.sync
        if outcome is None or not self.only(step) or (self.scope == "family" and not step.lead):
            return False
        part = {
            "call": step.call,
            "query": step.query,
            "download": step.download,
            "task": step.route,
            "callback": step.route if step.callbacks else None,
            "expiry": "yes" if step.expiring else None,
        }[self.target]
        return part is not None

    def expect(self, step: Step) -> Expect:
        """The expected outcome on ``step``."""
        outcome = self.task if step.is_task else self.sync
        assert outcome is not None
        return outcome(step) if callable(outcome) else outcome

    def match(self, step: Step) -> str:
        """The ``match`` of the fault for ``step``."""
        target = {"task": "call", "callback": "call"}.get(self.target, self.target)
        value = getattr(step, target)
        assert isinstance(value, str)
        return value


SLOW_SECONDS = 0.8  # the injected delay: well past the client's read timeout below
READ_TIMEOUT = 0.3
_5XX = (500, 502, 504)


def _done_then_lost(fault_id: str, **spec: Any) -> Fault:
    """The gateway carried the paid call out, then its answer was lost: a task route is left in
    doubt with its task made, a sync call is asked again. Every route marks its create as one."""
    return Fault(fault_id, "call", spec, task=IN_DOUBT_CREATED, sync=RESENT, scope="route")


FAULTS: list[Fault] = [
    # The paid call itself. 4xx, 429 and 503 prove the gateway refused it: retried safely.
    Fault("429", "call", {"fault": "status", "status": 429}),
    Fault("429-retry-after", "call", {"fault": "status", "status": 429, "retry_after": 0.15}),
    Fault("430", "call", {"fault": "status", "status": 430}, only=lambda s: s.is_suno),
    Fault("455", "call", {"fault": "status", "status": 455}, only=lambda s: s.is_suno),
    Fault("503", "call", {"fault": "status", "status": 503}),
    # A 500 proves nothing about a create (the task may exist): doubt, sent once, never again.
    # A sync call is no create: it is retried as any request.
    Fault("500", "call", {"fault": "status", "status": 500, "times": 2}, task=None),
    Fault(
        "500-create", "call", {"fault": "status", "status": 500}, task=IN_DOUBT_UNSENT, sync=None
    ),
    # A gateway whose errors echo the request (key and callback token included): the error keeps
    # the gateway's text with the secrets masked (test_echo_canary searches everywhere else).
    Fault("echo-400", "call", {"fault": "echo", "status": 400}, task=_ECHOED, sync=_ECHOED_SYNC),
    Fault("echo-500", "call", {"fault": "echo", "status": 500}, task=IN_DOUBT_UNSENT, sync=None),
    Fault(
        "query-echo-401",
        "query",
        {"fault": "echo", "status": 401},
        task=Expect(AuthenticationError, r"rejected GET .*\*\*\*"),
    ),
    # The gateway carried the create out, then answered 5xx: the task exists. Every create route.
    *(_done_then_lost(f"status-after-{code}", fault="status_after", status=code) for code in _5XX),
    # Connection faults: the client cannot know whether a create arrived, so it never resends.
    # Every route: each resource method must mark its create as one.
    Fault("drop-before", "call", {"fault": "drop_before"}, task=IN_DOUBT_UNSENT),
    _done_then_lost("drop-after", fault="drop_after"),
    Fault("truncate", "call", {"fault": "truncate"}, task=IN_DOUBT_CREATED, sync=RESENT),
    # A 2xx whose body is a proxy's HTML page: unreadable, so a create is in doubt.
    Fault(
        "not-json",
        "call",
        {"fault": "not_json"},
        task=IN_DOUBT_CREATED,
        sync=RESENT,
        only=lambda s: not s.streaming,  # an SSE call's "not an event stream" is _streaming's
    ),
    Fault(
        "slow",
        "call",
        {"fault": "delay", "seconds": SLOW_SECONDS},
        task=IN_DOUBT_CREATED,
        sync=RESENT,
        only=lambda s: s.name in {"anthropic", "gemini-stream", "dashscope-video", "suno-generate"},
        threaded=True,
    ),
    Fault("sse-error", "call", {"fault": "sse_error"}, only=lambda s: s.streaming, sync=RESENT),
    # The status query: a GET, always safe to repeat.
    Fault("query-503", "query", {"fault": "status", "status": 503, "times": 2}),
    Fault("query-500", "query", {"fault": "status", "status": 500}),
    Fault("query-drop-before", "query", {"fault": "drop_before"}),
    Fault("query-drop-after", "query", {"fault": "drop_after"}),
    Fault("query-truncate", "query", {"fault": "truncate"}),
    Fault("query-not-json", "query", {"fault": "not_json"}),  # one bad poll: polled through
    Fault(
        "query-slow",
        "query",
        {"fault": "delay", "seconds": SLOW_SECONDS},
        only=lambda s: s.name == "kling-text2video",
        threaded=True,
    ),
    # A download through a gateway route (the OpenAI-style video /content).
    Fault("download-truncate", "download", {"fault": "truncate"}),
    Fault("download-drop", "download", {"fault": "drop_after"}),
    Fault("download-503", "download", {"fault": "status", "status": 503}),
    # A download that trickles (a piece every 0.1 s, inside the 0.3 s read timeout) fails on its
    # total budget (_steps.DOWNLOAD_BUDGET_SECONDS), named, not retried, and no second create.
    Fault(
        "download-trickle",
        "download",
        {"fault": "trickle", "seconds": 0.1},
        task=Expect(DownloadError, r"did not finish within its 2\.0 s budget .*/content\)"),
        threaded=True,
    ),
    # The task ends badly: permanent, fail fast and keep the task id.
    Fault(
        "task-failed", "task", {"fault": "task_failed"}, task=_task_failed, sync=None, scope="route"
    ),
    Fault("task-unknown", "task", {"fault": "task_unknown"}, task=_task_unknown, sync=None),
    Fault("task-odd-id", "task", {"fault": "task_odd_id"}, sync=None, scope="route"),  # ids: data
    # Callbacks are a shortcut, never the only way to learn the result.
    Fault("callback-lost", "callback", {"fault": "callback_drop"}, sync=None),
    Fault(
        "callback-duplicated",
        "callback",
        {"fault": "callback_duplicate"},
        sync=None,
        scope="route",  # every route's callback shape must be recognised
    ),
    Fault("callback-late", "callback", {"fault": "callback_delay", "seconds": 0.25}, sync=None),
    # Asset URLs that expire before the download: every route lists its outputs its own way.
    Fault("url-expired", "expiry", {"asset_ttl": 0.2}, task=OK, sync=_expired, scope="route"),
]


def cases() -> list[tuple[Step, Fault]]:
    """Every applicable (step, fault) pair."""
    return [(s, f) for f in FAULTS for s in STEPS if f.applies(s)]
