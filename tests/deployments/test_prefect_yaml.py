"""``deployments/prefect.yaml`` checked strictly: Prefect's own loader ignores unknown keys.

A misspelt key (``schedule:`` for ``schedules:``, ``parameter:``, ``workpool:``) deploys without
a word and silently drops the setting, so the file is read here with a small strict model of the
keys we use. Every entrypoint is imported, every parameter set is validated against its flow,
every cron parses, and no literal secret may appear outside a ``{{ ... }}`` template.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule
from prefect.exceptions import ParameterTypeError
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.validation import ValidationError as SchemaValidationError
from prefect.utilities.schema_tools.validation import validate
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

ROOT = Path(__file__).resolve().parents[2]
YAML_PATH = ROOT / "deployments" / "prefect.yaml"
POOL = "anyint-process"
#: Every flow of the product has an on-demand deployment.
PRODUCT_FLOWS = {
    "flows/describe_images.py:describe_images",
    "flows/generate_image.py:generate_image",
    "flows/generate_video.py:generate_video",
    "flows/music_video.py:music_video",
    "flows/content_brief.py:content_brief",
}

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WorkPool(Strict):
    name: str
    work_queue_name: str | None = None
    job_variables: dict[str, Any] = {}


class Schedule(Strict):
    cron: str
    timezone: str
    slug: Slug
    active: bool = True
    parameters: dict[str, Any] = {}


class Deployment(Strict):
    name: Slug
    description: str
    entrypoint: Annotated[str, StringConstraints(pattern=r"^flows/[a-z_]+\.py:[a-z_]+$")]
    tags: list[str] = []
    parameters: dict[str, Any] = {}
    concurrency_limit: int | None = Field(default=None, ge=1)
    schedules: list[Schedule] = []
    work_pool: WorkPool


class SetWorkingDirectory(Strict):
    id: str | None = None
    directory: str


class PullStep(Strict):
    set_working_directory: SetWorkingDirectory = Field(
        alias="prefect.deployments.steps.set_working_directory"
    )


class ProjectFile(Strict):
    name: str
    prefect_version: str = Field(alias="prefect-version")
    build: list[PullStep]
    push: None
    pull: list[PullStep]
    deployments: list[Deployment] = Field(min_length=1)


def raw() -> dict[str, Any]:
    data = yaml.safe_load(YAML_PATH.read_text())
    assert isinstance(data, dict)
    return data


@cache
def project() -> ProjectFile:
    return ProjectFile.model_validate(raw())


@cache
def flow_at(entrypoint: str) -> Flow[..., Any]:
    path, _, name = entrypoint.partition(":")
    return load_flow_from_entrypoint(f"{ROOT / path}:{name}")


def deployment_ids() -> list[str]:
    """``flow-name/deployment-name``, as ``prefect deployment run`` spells them."""
    # Named from the entrypoint, not by importing it: a broken flow fails its own tests only.
    flows = [d.entrypoint.rpartition(":")[2].replace("_", "-") for d in project().deployments]
    return [f"{f}/{d.name}" for f, d in zip(flows, project().deployments, strict=True)]


# -- the file's shape --------------------------------------------------------------------------


def test_file_matches_the_strict_model() -> None:
    p = project()
    assert p.prefect_version.startswith("3.8")
    assert {d.entrypoint for d in p.deployments} >= PRODUCT_FLOWS
    assert all(d.work_pool.name == POOL for d in p.deployments)
    names = [(d.entrypoint, d.name) for d in p.deployments]
    assert len(names) == len(set(names)), "deployment names must be unique per flow"


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ((), "deploymnets"),
        (("deployments", 0), "schedule"),  # the singular Prefect would silently ignore
        (("deployments", 0), "parameter"),
        (("deployments", 0, "work_pool"), "job_variable"),
        (("deployments", -1, "schedules", 0), "time_zone"),
        (("pull", 0, "prefect.deployments.steps.set_working_directory"), "dir"),
    ],
)
def test_the_model_rejects_unknown_keys_at_every_level(path: tuple[Any, ...], key: str) -> None:
    data = copy.deepcopy(raw())
    node: Any = data
    for part in path:
        node = node[part]
    node[key] = "x" if key != "schedule" else {"cron": "0 6 * * *"}
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ProjectFile.model_validate(data)


def test_schedules_are_a_list_and_the_daily_brief_has_one() -> None:
    scheduled = [d for d in project().deployments if d.schedules]
    assert [(d.entrypoint, d.name) for d in scheduled] == [
        ("flows/content_brief.py:content_brief", "daily"),
        ("flows/resume_deferred.py:resume_deferred", "every-minute"),  # defer's poll fallback
    ]
    assert "schedule:" not in re.sub(r"#.*", "", YAML_PATH.read_text())


def test_pull_steps_only_set_the_working_directory() -> None:
    # The build step records the deploy-time working directory; the pull step changes to it.
    (build,) = project().build
    assert build.set_working_directory.model_dump() == {"id": "project", "directory": "."}
    for step in project().pull:
        assert step.set_working_directory.directory == "{{ project.directory }}"


# -- entrypoints and parameters ----------------------------------------------------------------


@pytest.mark.parametrize("entrypoint", sorted(PRODUCT_FLOWS))
def test_every_entrypoint_is_a_flow(entrypoint: str) -> None:
    flow = flow_at(entrypoint)
    assert isinstance(flow, Flow)
    assert flow.name == entrypoint.split(":")[1].replace("_", "-")


@pytest.mark.parametrize("which", range(len(project().deployments)), ids=deployment_ids())
def test_parameters_fit_the_flow(which: int) -> None:
    deployment = project().deployments[which]
    flow = flow_at(deployment.entrypoint)
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    for params in parameter_sets(deployment):
        unknown = set(params) - set(schema["properties"])
        assert not unknown, f"{deployment.entrypoint} takes no parameter(s) {sorted(unknown)}"
        # What the server checks (enforce_parameter_schema), then what the flow itself checks.
        validate(params, schema, raise_on_error=True)
        flow.validate_parameters(params)


#: Parameters of the old run model: a deployment that still sets one fails every run it makes.
REMOVED_PARAMETERS = {"max_wait_minutes", "force_new", "gateway", "budget"}


def parameter_sets(deployment: Deployment) -> list[dict[str, Any]]:
    """The parameters of an on-demand run, then of each schedule's runs."""
    sets = [deployment.parameters]
    return sets + [{**deployment.parameters, **s.parameters} for s in deployment.schedules]


@pytest.mark.parametrize("which", range(len(project().deployments)), ids=deployment_ids())
def test_no_removed_parameter(which: int) -> None:
    for params in parameter_sets(project().deployments[which]):
        assert not REMOVED_PARAMETERS & params.keys(), sorted(REMOVED_PARAMETERS & params.keys())


def test_generate_video_sets_its_deadline_in_seconds() -> None:
    (video,) = [d for d in project().deployments if d.entrypoint.endswith(":generate_video")]
    assert video.parameters["deadline_seconds"] == 1800
    schema = parameter_schema(flow_at(video.entrypoint).fn).model_dump_for_openapi()
    assert "deadline_seconds" in schema["properties"]
    assert not {"max_wait_minutes", "force_new"} & schema["properties"].keys()


def test_scheduled_runs_are_each_new_work() -> None:
    """A schedule with a fixed idempotency_key would hand back the first run's content forever."""
    for deployment in project().deployments:
        for schedule in deployment.schedules:
            params = {**deployment.parameters, **schedule.parameters}
            assert params.get("idempotency_key") is None, (deployment.name, schedule.slug)


def test_parameter_check_catches_a_wrong_value() -> None:
    flow = flow_at("flows/generate_video.py:generate_video")
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    with pytest.raises(SchemaValidationError, match="duration"):
        validate({"duration": 99}, schema, raise_on_error=True)
    with pytest.raises(ParameterTypeError, match="duration"):
        flow.validate_parameters({"duration": 99})


@pytest.mark.parametrize("which", range(len(project().deployments)), ids=deployment_ids())
def test_crons_parse(which: int) -> None:
    for schedule in project().deployments[which].schedules:
        CronSchedule(cron=schedule.cron, timezone=schedule.timezone)


# -- secrets -----------------------------------------------------------------------------------

_TEMPLATE = re.compile(r"\{\{.*?\}\}")
_SECRET_LOOKS = [
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),  # OpenAI/Anthropic-style keys
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bASIA[0-9A-Z]{16}\b"),  # AWS temporary key id
    re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"),  # Google API key
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]
_SECRET_KEYS = re.compile(r"(api_?key|secret|password|token|access_key)", re.IGNORECASE)


def literal_secrets(text: str) -> list[str]:
    """Secret-looking strings outside ``{{ ... }}`` templates, and secret-named keys with a
    literal value."""
    bare = _TEMPLATE.sub("", text)
    found = [m.group(0) for rx in _SECRET_LOOKS for m in rx.finditer(bare)]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if _SECRET_KEYS.search(str(key)) and isinstance(value, str | int):
                    if not _TEMPLATE.fullmatch(str(value).strip()):
                        found.append(f"{key}: {value}")
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(text))
    return found


def test_no_literal_secrets() -> None:
    assert literal_secrets(YAML_PATH.read_text()) == []


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("parameters: {key: sk-canary-7f3a9c2e41d0b8a6}", True),
        # Built at run time so the fake key itself never sits in the source as a literal.
        ("job_variables: {env: {AWS_ACCESS_KEY_ID: " + "AKIA" + "ABCDEFGHIJKLMNOP}}", True),
        ("job_variables: {env: {ANYINT_API_KEY: hunter2}}", True),
        ('job_variables: {env: {ANYINT_API_KEY: "{{ prefect.blocks.secret.anyint-key }}"}}', False),
        ('parameters: {note: "{{ sk-inside-a-template-is-fine }}"}', False),
        ("parameters: {credentials_block: anyint}", False),
    ],
)
def test_the_secret_check_itself(text: str, flagged: bool) -> None:
    assert bool(literal_secrets(text)) is flagged


def test_every_deployment_that_can_defer_does() -> None:
    """Deployment runs free their worker while the gateway works (``flows._defer``); local runs,
    which no deployment can resume, keep the flows' default (off)."""
    for deployment in project().deployments:
        schema = parameter_schema(flow_at(deployment.entrypoint).fn).model_dump_for_openapi()
        if "defer" in schema["properties"]:
            assert schema["properties"]["defer"]["default"] is False, deployment.entrypoint
            assert deployment.parameters.get("defer") is True, deployment.entrypoint
