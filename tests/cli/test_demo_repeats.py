"""``anyint-flows demo`` (what ``make demo`` runs) works every time in one checkout: each run is new
work in the same store, and earlier runs' assets stay exactly as their manifests describe."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anyint_cli import app


def _check_manifests(root: Path) -> int:
    """Every asset of every manifest is on disk with its recorded sha256; the asset count."""
    count = 0
    for manifest in sorted(root.glob("runs/*/manifest.json")):
        for asset in json.loads(manifest.read_text())["assets"]:
            data = (root / asset["key"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == asset["sha256"], asset["key"]
            count += 1
    return count


@pytest.mark.slow
def test_the_demo_three_times_in_one_store(tmp_path: Path) -> None:
    store = tmp_path / "output"
    counts = []
    for _ in range(3):
        result = CliRunner().invoke(app, ["demo", "--store", str(store)], env={"COLUMNS": "400"})
        assert result.exit_code == 0, result.output
        counts.append(_check_manifests(store))
    # Three flows a run, each with its own manifest; nothing earlier was overwritten or lost.
    assert len(list(store.glob("runs/*/manifest.json"))) == 9
    assert counts[1] == 2 * counts[0] and counts[2] == 3 * counts[0]
    assert not list(store.rglob("*.partial-*"))
    # Each run was new work: no gateway task, and no stored file, is shared between two runs.
    per_run = [
        json.loads(manifest.read_text())["assets"]
        for manifest in store.glob("runs/*/manifest.json")
    ]
    task_ids = [{a["task_id"] for a in assets if a["task_id"]} for assets in per_run]
    keys = [{a["key"] for a in assets} for assets in per_run]
    assert sum(map(len, task_ids)) == len(set().union(*task_ids))
    assert sum(map(len, keys)) == len(set().union(*keys))
