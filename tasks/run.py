"""What every task of a flow run receives: the gateway, the run's intent and its one deadline.

A :class:`RunConfig` is built once when a flow run starts (:func:`flows._common.start_run`) and
handed to every task as a plain value, so a task needs no ambient state and runs the same on
threads, Dask workers or other machines.

- **Intent.** A flow run is one intent: its steps are identified by ``run:<flow_run_id>``, so a
  retry or resume of that flow run finds every gateway task and stored asset again, and a new
  flow run is new work. An explicit ``idempotency_key`` replaces the flow run id
  (``key:<key>``), so runs with one key share their work.
- **Deadline.** ``deadline_at`` is fixed when the run (or a resume of it) starts. Every wait
  gets what is left of it, a Prefect retry of a wait included, so retries never open a fresh
  window.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from anyint import PollSchedule

from .gateway import GatewayConfig

__all__ = ["RunConfig", "resume_command"]


def resume_command(flow_name: str | None, flow_run_id: str | None) -> str:
    """The command that resumes a flow run without paying again."""
    return f"anyint-flows run {flow_name or 'FLOW'} --resume {flow_run_id or 'last'}"


class RunConfig(BaseModel):
    """The gateway, intent and deadline of one flow run.

    Attributes:
        gateway: Which gateway and store (names and URLs only, no secret).
        intent: ``run:<flow_run_id>`` or ``key:<idempotency_key>``.
        idempotency_key: The user's key, when given.
        flow_name: Name of the flow (for messages and the resume command).
        flow_run_id: The flow run (None outside one, e.g. a bare task test).
        run_count: Which execution of that flow run this is (1, then 2 after a retry ...).
        started_at: Epoch seconds when this execution started.
        deadline_at: Epoch seconds after which waiting stops.
        initial_interval: First poll interval in seconds.
        max_interval: Cap on the poll interval in seconds (default: :class:`~anyint.PollSchedule`'s
            10 min, which only binds after 100 min of waiting, so the growth of 10 % of the time
            waited gives the fewest polls that keep the detection lag within 10 %).
        defer: Deployment runs only: a wait may suspend the flow run instead of holding its
            worker (:mod:`flows._defer`); False waits in process.
        prices: The run's checked price table (:func:`tasks.usage.load_price_table`), or None.
        resumed: This execution resumed the run from its suspension: what was checked before
            the first paid call (models) was checked by the execution that suspended.
        step_progress: Each wait publishes a progress artifact of its own; False where the flow
            moves one progress artifact for the whole pipeline (music-video) instead.
    """

    model_config = ConfigDict(frozen=True)

    gateway: GatewayConfig
    intent: str = Field(min_length=1)
    idempotency_key: str | None = None
    flow_name: str | None = None
    flow_run_id: str | None = None
    run_count: int = 1
    started_at: float
    deadline_at: float
    initial_interval: float = Field(default=0.5, gt=0)
    max_interval: float = Field(default=PollSchedule.max_interval, gt=0)
    defer: bool = False
    prices: dict[str, Any] | None = None
    resumed: bool = False
    step_progress: bool = True

    @property
    def owner(self) -> str:
        """``<flow_run_id>#<run_count>``: this execution of this flow run."""
        return f"{self.flow_run_id}#{self.run_count}"

    @property
    def deadline_seconds(self) -> float:
        """The whole waiting budget of this execution, in seconds."""
        return self.deadline_at - self.started_at

    def remaining(self) -> float:
        """Seconds of the waiting budget left (0 once it is spent)."""
        return max(self.deadline_at - time.time(), 0.0)

    def resume_command(self) -> str:
        """The command that resumes this flow run without paying again."""
        return resume_command(self.flow_name, self.flow_run_id)
