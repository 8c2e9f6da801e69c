"""Prefect tasks over the AnyInt client: submit → wait → fetch for task-based routes, and one
task per sync route. Configure the gateway with :func:`use_gateway` or ``ANYINT_*`` env."""

from ._gateway import Gateway, current_gateway, load_gateway, use_gateway
from .assets import AssetRecord, fetch, record_assets
from .routes import ROUTES, RouteSpec
from .submit import SubmitInDoubtError, SubmittedTask, submit
from .wait import FinishedTask, OutputRef, wait

__all__ = [
    "ROUTES",
    "AssetRecord",
    "FinishedTask",
    "Gateway",
    "OutputRef",
    "RouteSpec",
    "SubmitInDoubtError",
    "SubmittedTask",
    "current_gateway",
    "fetch",
    "load_gateway",
    "record_assets",
    "submit",
    "use_gateway",
    "wait",
]
