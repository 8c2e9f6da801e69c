"""The setup step of deferred runs: the automation that resumes them when a callback lands.

A deployment run with ``defer`` suspends while its gateway tasks run (:mod:`flows._defer`). The
callback receiver emits ``anyint.callback.<phase>`` for each callback, naming the flow run that
waits on the task as a related ``deferred-run`` resource; this automation resumes that run on a
terminal phase (``complete`` or ``error``). A second event for the same run finds it running and
resumes nothing (Prefect resumes only a paused run). Runs whose callback never comes are resumed by
the ``resume-deferred`` deployment (the poll fallback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blocks.inbox import TERMINAL_PHASES
from tasks.defer import DEFERRED_RUN_ROLE

from .setup import Action, Change, Setup

if TYPE_CHECKING:
    from prefect.events.schemas.automations import AutomationCore

__all__ = ["RESUME_AUTOMATION", "resume_automation", "setup_automations"]

#: Name of the automation (the step finds it by this name).
RESUME_AUTOMATION = "anyint-resume-on-callback"


def resume_automation() -> AutomationCore:
    """The automation: a terminal callback event of a deferred task → resume its flow run."""
    from prefect.events.actions import ResumeFlowRun
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=RESUME_AUTOMATION,
        description=(
            "AnyInt: resume a deferred flow run when a callback for one of its gateway tasks "
            "lands (the event names the run as its related 'deferred-run' resource)."
        ),
        enabled=True,
        tags=["anyint"],
        # Each ``type`` given explicitly: an update sends only the fields that were set, and an
        # action or trigger without its type would be read back as another kind.
        trigger=EventTrigger(
            type="event",
            expect={f"anyint.callback.{phase}" for phase in TERMINAL_PHASES},
            match={"prefect.resource.id": "anyint.task.*"},
            match_related={"prefect.resource.role": DEFERRED_RUN_ROLE},
            posture=Posture.Reactive,
            threshold=1,
            within=0,
        ),
        actions=[ResumeFlowRun(type="resume-flow-run")],
    )


def _comparable(value: Any) -> Any:
    """A dump without generated ids (a trigger gets a fresh id each time it is built)."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


async def setup_automations(ctx: Setup) -> list[Change]:
    """Create, update or keep :data:`RESUME_AUTOMATION` (one of that name; extras are left)."""
    from prefect.events.schemas.automations import AutomationCore

    wanted = resume_automation()
    what = f"automation {RESUME_AUTOMATION!r}"
    detail = "resumes a deferred run on its task's callback"
    found = await ctx.client.read_automations_by_name(RESUME_AUTOMATION)
    action: Action = "create"
    if found:
        saved = AutomationCore.model_validate(found[0].model_dump(), from_attributes=True)
        same = _comparable(saved.model_dump(mode="json")) == _comparable(
            wanted.model_dump(mode="json")
        )
        action = "keep" if same else "update"
    if not ctx.dry_run:
        if action == "create":
            await ctx.client.create_automation(wanted)
        elif action == "update":
            await ctx.client.update_automation(found[0].id, wanted)
    return [Change(action, what, detail)]
