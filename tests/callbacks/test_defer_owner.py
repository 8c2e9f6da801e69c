"""The receiver names the deferred flow run in a callback's event, and only a real one.

The resume automation acts on the event's related ``prefect.flow-run.<id>`` resource
(:mod:`anyint_cli.setup_automations`); the run is found through ``deferred/<task>.json``, which a
deferring run writes (:mod:`tasks.defer`). The end-to-end path is in
``tests/deployments/test_defer.py``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest

from blocks import AssetStore
from callbacks.app import build_event, with_owner
from tasks.defer import (
    DEFERRED_RUN_ROLE,
    Deferral,
    Suspension,
    deferred_key,
    deferred_owner,
    next_look,
    read_suspension,
    save_suspension,
)


@pytest.fixture
def store() -> AssetStore:
    return AssetStore(base_url=f"memory://defer-{uuid.uuid4().hex[:12]}")


def _event(task_id: str, phase: str = "complete") -> dict[str, object]:
    record = {
        "task_id": task_id,
        "family": "kling",
        "phase": phase,
        "received_at": datetime.now(UTC).isoformat(),
    }
    return build_event(record)


def _suspension(run_id: str, *task_ids: str) -> Suspension:
    tasks = [
        Deferral(route="kling.text2video", task_id=t, flow_run_id=run_id, due_at=1.0)
        for t in task_ids
    ]
    return Suspension(
        flow_run_id=run_id,
        base_url="http://gateway",
        started_at=0.0,
        deadline_at=100.0,
        initial_interval=1.0,
        max_interval=30.0,
        due_at=1.0,
        tasks=tasks,
    )


def test_a_deferred_task_names_its_run(store: AssetStore) -> None:
    run_id = str(uuid.uuid4())
    save_suspension(store, _suspension(run_id, "task-1", "a/b odd id"))
    for task_id in ("task-1", "a/b odd id"):
        event = with_owner(store, _event(task_id))
        assert event["related"] == [
            {
                "prefect.resource.id": f"prefect.flow-run.{run_id}",
                "prefect.resource.role": DEFERRED_RUN_ROLE,
            }
        ]
        assert event["resource"] == {
            "prefect.resource.id": f"anyint.task.{task_id}",
            "anyint.family": "kling",
        }
    assert read_suspension(store, run_id) == _suspension(run_id, "task-1", "a/b odd id")


def test_a_callback_no_run_waits_on_is_only_logged(
    store: AssetStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callbacks")
    event = _event("nobody-waits")
    assert with_owner(store, event) == event  # no related run: the automation does not match
    lines = [r.getMessage() for r in caplog.records if "no deferred flow run" in r.getMessage()]
    assert len(lines) == 1 and "nobody-waits" in lines[0]
    with_owner(store, _event("nobody-waits", phase="processing"))  # not terminal: not logged
    assert len([r for r in caplog.records if "no deferred flow run" in r.getMessage()]) == 1


def test_only_a_flow_run_id_becomes_a_resource(store: AssetStore) -> None:
    store.put_json(deferred_key("t"), {"task_id": "t", "flow_run_id": "x.y.prefect.deployment.z"})
    assert "related" not in with_owner(store, _event("t"))
    # A record of another id (a hashed key that collides) names nobody.
    store.put_json(deferred_key("u"), {"task_id": "other", "flow_run_id": str(uuid.uuid4())})
    assert deferred_owner(store, "u") is None


def test_the_next_look_follows_the_wait_backoff() -> None:
    assert next_look(0.0, 2.0, 30.0, now=100.0) == 102.0  # at least the first interval
    assert next_look(100.0, 2.0, 30.0, now=100.0) == 110.0  # 10 % of the time waited
    assert next_look(10_000.0, 2.0, 30.0, now=100.0) == 130.0  # capped


async def test_a_resumed_run_keeps_its_first_deadline(store: AssetStore) -> None:
    """``start_run`` of a run resumed from suspension gets what is left of the first window."""
    from flows._defer import resumed_window
    from tasks import GatewayConfig

    gateway = GatewayConfig(base_url="http://gateway", store_url=store.root_url)
    run_id = str(uuid.uuid4())
    assert await resumed_window(gateway, run_id) is None  # never deferred: a window of its own
    save_suspension(store, _suspension(run_id, "t"))
    assert await resumed_window(gateway, run_id) == (0.0, 100.0)
    # Consumed: a later retry or --resume of a run that ended gets a window of its own.
    assert await resumed_window(gateway, run_id) is None
