"""``anyint-flows setup`` creates, keeps and repairs the automation that resumes deferred runs.

Against the session's Prefect server. The automation has one fixed name, so each test starts by
deleting it (the server is the session's: no other test creates it).
"""

from __future__ import annotations

import uuid

import pytest
from prefect import get_client

from anyint_cli.setup_automations import RESUME_AUTOMATION, resume_automation
from tests.cli.test_setup import report, setup

WHAT = f"automation {RESUME_AUTOMATION!r}"


@pytest.fixture
def names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return f"pool-{suffix}", f"blocks-{suffix}"


def _saved() -> list[dict[str, object]]:
    with get_client(sync_client=True) as client:
        found = client.read_automations_by_name(RESUME_AUTOMATION)
    return [a.model_dump(mode="json") for a in found]


def _delete_all() -> None:
    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(RESUME_AUTOMATION):
            client.delete_automation(automation.id)


def test_dry_run_then_create_then_keep(names: tuple[str, str]) -> None:
    _delete_all()
    assert report(setup(names, "--dry-run", ANYINT_API_KEY="k"))[WHAT] == "would create"
    assert _saved() == []  # a dry run writes nothing
    assert report(setup(names, ANYINT_API_KEY="k"))[WHAT] == "created"
    assert report(setup(names, ANYINT_API_KEY="k"))[WHAT] == "unchanged"
    (saved,) = _saved()  # one, never a duplicate
    trigger = saved["trigger"]
    assert isinstance(trigger, dict)
    assert set(trigger["expect"]) == {"anyint.callback.complete", "anyint.callback.error"}
    assert trigger["match_related"] == {"prefect.resource.role": "deferred-run"}
    assert saved["actions"] == [{"type": "resume-flow-run"}]


def test_a_changed_automation_is_put_back(names: tuple[str, str]) -> None:
    _delete_all()
    report(setup(names, ANYINT_API_KEY="k"))
    with get_client(sync_client=True) as client:
        (saved,) = client.read_automations_by_name(RESUME_AUTOMATION)
        broken = resume_automation().model_copy(update={"enabled": False, "actions": []})
        client.update_automation(saved.id, broken)
    assert report(setup(names, ANYINT_API_KEY="k"))[WHAT] == "updated"
    (repaired,) = _saved()
    assert repaired["enabled"] is True and repaired["actions"] == [{"type": "resume-flow-run"}]
