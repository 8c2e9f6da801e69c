"""What every flow does the same way: pick the gateway, check models before paying, publish
artifacts of what was stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from prefect import get_run_logger, task
from prefect.artifacts import (
    acreate_image_artifact,
    acreate_markdown_artifact,
    acreate_table_artifact,
)
from pydantic import BaseModel, ValidationError

from anyint.types.models import Modality, RouteFamily
from tasks import AssetRecord, Gateway, current_gateway, load_gateway, use_gateway

__all__ = [
    "ModelNeed",
    "check_models",
    "gateway_for",
    "parse_parameters",
    "publish_assets",
    "use_gateway",
]

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class ModelNeed:
    """A model a flow is about to use, and what it must do there.

    Attributes:
        parameter: Flow parameter that chose the model (named in the error).
        model: Model id.
        family: Route family the call uses.
        input: Modalities sent.
        output: Modalities needed back.
    """

    parameter: str
    model: str
    family: RouteFamily
    input: tuple[Modality, ...] = ("text",)
    output: tuple[Modality, ...] = ("text",)


@task(name="check-models", task_run_name="check models")
async def check_models(needs: Sequence[ModelNeed]) -> None:
    """Fail before any paid call when a model is unknown or lacks a modality on its route.

    Raises:
        ValueError: Naming the parameter, the model and what is missing.
    """
    async with current_gateway().client() as client:
        catalogue = await client.models.list()
    for need in needs:
        try:
            catalogue.check(need.model, need.family, input=need.input, output=need.output)
        except ValueError as exc:
            raise ValueError(f"parameter {need.parameter!r}: {exc}") from None


def parse_parameters(model: type[P], values: Mapping[str, Any]) -> P:
    """Validate a flow's parameters with ``model``: one ``ValueError`` naming each bad parameter.

    Flows using this set ``validate_parameters=False``: Prefect's own check would raise
    ``ParameterTypeError`` (not a ``ValueError``) for the same rules, which the signature still
    carries so the UI form and a deployment's parameter schema enforce them too.

    Raises:
        ValueError: ``parameter 'prompt': String should have at most 2000 characters`` ...
    """
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            where = ".".join(str(part) for part in error["loc"])
            problems.append(f"parameter {where!r}: {message}" if where else message)
        raise ValueError("; ".join(problems)) from None


async def gateway_for(credentials_block: str | None, store_block: str | None) -> Gateway:
    """The gateway a flow run uses: named blocks when given, else the current configuration."""
    return await load_gateway(credentials_block, store_block)


def _link(record: AssetRecord) -> str:
    return f"[{record.key.rsplit('/', 1)[-1]}]({record.uri})"


async def publish_assets(
    records: Iterable[AssetRecord], *, key: str, title: str, summary: str = ""
) -> None:
    """Publish a table and a markdown artifact of stored assets, and image artifacts for images.

    Args:
        records: Stored assets.
        key: Artifact key (lowercase letters, digits and dashes).
        title: Heading of the markdown artifact.
        summary: Extra markdown placed under the heading.
    """
    records = list(records)
    rows: list[dict[str, Any]] = [
        {
            "kind": r.kind,
            "file": r.key.rsplit("/", 1)[-1],
            "bytes": r.bytes,
            "sha256": r.sha256[:16],
            "task": r.task_id or "-",
            "uri": r.uri,
        }
        for r in records
    ]
    await acreate_table_artifact(rows, key=f"{key}-assets", description=f"{title}: stored assets")
    lines = [
        f"# {title}",
        "",
        summary,
        "",
        "| kind | asset | bytes | sha256 |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.kind} | {_link(r)} | {r.bytes} | `{r.sha256[:16]}` |" for r in records]
    await acreate_markdown_artifact("\n".join(lines), key=key, description=title)
    for record in records:
        if record.content_type.startswith("image/"):
            await acreate_image_artifact(record.uri, description=f"{record.kind}: {record.key}")
    get_run_logger().info("%s: %d asset(s) stored", title, len(records))
