"""The scheduled ``content-brief/daily`` deployment: every run is new work.

Its parameters carry no ``idempotency_key``, so each scheduled run is its own intent: two runs
with exactly the deployment's parameters make two sets of gateway tasks (the emulator's call log)
and store two sets of assets, rather than the second handing back the first one's content.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from blocks import AnyIntCredentials, AssetStore
from emulator.app import EmulatorApp
from flows.content_brief import content_brief
from tests.conftest import EmulatedGateway

from .test_prefect_yaml import project

#: Operational only (they say how a run waits, not what it makes; see
#: ``flows._common.OPERATIONAL_PARAMETERS``): the test polls every 10 ms instead of every 5 s.
FAST = {"poll_interval": 0.01}


def daily_parameters() -> dict[str, Any]:
    """What the scheduler passes to a run of ``content-brief/daily``."""
    (daily,) = [d for d in project().deployments if d.name == "daily"]
    (schedule,) = daily.schedules
    return {**daily.parameters, **schedule.parameters}


@pytest.fixture
async def anyint_blocks(gateway: EmulatedGateway) -> None:
    """The blocks the deployment names ("anyint"), left empty so they defer to ``ANYINT_*`` (the
    test's emulator and store), as on a worker."""
    await AnyIntCredentials().asave("anyint", overwrite=True)
    await AssetStore().asave("anyint", overwrite=True)


def creates(emulator: EmulatorApp, since: int = 0) -> list[tuple[str, str]]:
    """``(path, task id)`` of every create call after the first ``since`` calls."""
    calls = emulator.backend.calls[since:]
    return [(c.path, c.created_task_id) for c in calls if c.created_task_id]


@pytest.mark.slow
async def test_two_scheduled_runs_make_two_sets_of_gateway_tasks(
    gateway: EmulatedGateway, emulator: EmulatorApp, anyint_blocks: None
) -> None:
    params = daily_parameters()
    assert "idempotency_key" not in params
    assert params["credentials_block"] == params["store_block"] == "anyint"

    first = await content_brief(**params, **FAST)
    made_first, middle = creates(emulator), len(emulator.backend.calls)
    second = await content_brief(**params, **FAST)
    made_second = creates(emulator, middle)
    ids_first = {task_id for _, task_id in made_first}
    ids_second = {task_id for _, task_id in made_second}
    # Each run created every one of its gateway tasks itself, and none of the other's.
    assert ids_first == set(first.task_ids.values())
    assert ids_second == set(second.task_ids.values())
    assert not ids_first & ids_second
    assert Counter(p for p, _ in made_first) == Counter(p for p, _ in made_second)
    assert len(creates(emulator)) == len(made_first) + len(made_second)

    # The sync image step is paid again too, and the assets and manifests are the run's own.
    assert first.manifest_key != second.manifest_key
    keys_first = {r.key for r in [*first.image, *first.video, *first.song]}
    keys_second = {r.key for r in [*second.image, *second.video, *second.song]}
    assert keys_first and keys_second and not keys_first & keys_second
    for result in (first, second):
        manifest = gateway.store.read_json(result.manifest_key)
        assert manifest["idempotency_key"] is None
        assert manifest["intent"] == f"run:{manifest['flow_run_id']}"
