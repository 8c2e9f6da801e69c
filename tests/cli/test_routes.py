"""``anyint-flows routes``: the catalogue against the contract, the emulator and the tasks.

- Every route of the contract's master table (§3 of the vendored docs/anyint-api.md) is in the
  catalogue, and nothing else is.
- Every route the client speaks (the emulator serves exactly those) has a Prefect task: a new
  client route without a task fails here.
- Every task the catalogue names exists: a Prefect task of that name in ``tasks``, or the
  generic ``submit``/``wait``/``fetch`` with a registered route name.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

from prefect import Task
from typer.testing import CliRunner

import tasks
from anyint_cli import app
from anyint_cli.catalogue import FLOW_ROUTES, ROUTES
from anyint_cli.run import FLOWS
from emulator import routes as emulated

CONTRACT = Path(__file__).parents[2] / "docs" / "anyint-api.md"


def _template(path: str) -> str:
    """A path with its query string dropped and every ``{name}`` as ``{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0].strip())


def _contract_routes() -> set[str]:
    """``"METHOD path"`` of every row of §3, multi-path rows split, relative paths completed."""
    text = CONTRACT.read_text()
    table = text[text.index("## 3. Master route table") : text.index("## 4. Models API")]
    found = set()
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 7 or not re.fullmatch(r"\d+(\u2013\d+)?", cells[0]):
            continue
        method, paths = cells[1], [p.strip() for p in cells[2].split(";")]
        first = paths[0]
        for path in paths:
            head = "/" + path.strip("/").split("/")[0]
            if not first.startswith(head):  # "/files/{id}" after "/openai/v1/files"
                path = first[: first.index(head)] + path
            found.add(f"{method} {_template(path)}")
    return found


def _catalogue(with_task: bool = False) -> set[str]:
    return {f"{r.method} {_template(r.path)}" for r in ROUTES if r.task or not with_task}


def test_the_catalogue_is_the_contracts_route_table() -> None:
    contract = _contract_routes()
    assert len(contract) > 50, "the contract's table was not read"
    assert _catalogue() == contract, (
        f"missing: {sorted(contract - _catalogue())}; not in the contract: "
        f"{sorted(_catalogue() - contract)}"
    )
    assert len({r.key for r in ROUTES}) == len(ROUTES), "a route is listed twice"


def test_every_route_the_client_speaks_has_a_task() -> None:
    spoken = {
        f"{method} {_template(route.path)}"
        for router in emulated.ROUTERS
        for route in router.routes
        for method in route.methods  # type: ignore[attr-defined]
    }
    assert spoken, "no emulator routes found"
    assert spoken == _catalogue(with_task=True), (
        f"served without a task: {sorted(spoken - _catalogue(with_task=True))}; "
        f"a task but not served: {sorted(_catalogue(with_task=True) - spoken)}"
    )


def _prefect_task_names() -> set[str]:
    names = set()
    for info in pkgutil.iter_modules(tasks.__path__, "tasks."):
        module = importlib.import_module(info.name)
        names |= {obj.name for obj in vars(module).values() if isinstance(obj, Task)}
    return names


def test_every_named_task_exists() -> None:
    names = _prefect_task_names()
    for route in ROUTES:
        if route.task is None:
            continue
        generic, _, route_name = route.task.partition(" ")
        if route_name:
            assert generic in {"submit", "wait", "fetch"} and generic in names, route
            assert route_name in tasks.ROUTES, f"{route.key}: no route {route_name!r}"
        else:
            assert route.task in names, f"{route.key}: no Prefect task named {route.task!r}"


def test_flow_routes_name_real_flows_and_routes() -> None:
    keys = {r.key for r in ROUTES}
    assert set(FLOW_ROUTES) <= set(FLOWS)
    for flow, used in FLOW_ROUTES.items():
        assert set(used) <= keys, f"{flow}: {sorted(set(used) - keys)}"


def test_json_form() -> None:
    result = CliRunner().invoke(app, ["routes", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == len(ROUTES)
    for row in rows:
        assert set(row) == {"method", "path", "family", "mode", "task", "flows"}, row
        assert row["mode"] in {"sync", "stream", "task", "query"}
        assert row["task"] is None or isinstance(row["task"], str)
        assert isinstance(row["flows"], list)


def test_human_form_follows_how_to_choose() -> None:
    result = CliRunner().invoke(app, ["routes"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("How to choose"), result.output[:200]
    assert "Generate a video" in result.output and "/suno/extend" in result.output
