"""Prefect tasks over the AnyInt client: submit → wait → fetch for task-based routes, and one
task per sync route. Every task takes a :class:`RunConfig`: the flow run's gateway, intent and
deadline, as a plain value."""

from . import journal
from ._policy import RETRY_OPTIONS
from .assets import AssetRecord, fetch, record_assets
from .collect import Collected, wait_and_fetch
from .errors import RunDeadlineError, SubmitInDoubtError, TaskLostError, TaskOutputMissingError
from .gateway import Connection, GatewayConfig, register_transport, unregister_transport
from .routes import ROUTES, Output, RouteSpec
from .run import RunConfig
from .submit import SubmittedTask, submit
from .wait import FinishedTask, wait

__all__ = [
    "RETRY_OPTIONS",
    "ROUTES",
    "AssetRecord",
    "Collected",
    "Connection",
    "FinishedTask",
    "GatewayConfig",
    "Output",
    "RouteSpec",
    "RunConfig",
    "RunDeadlineError",
    "SubmitInDoubtError",
    "SubmittedTask",
    "TaskLostError",
    "TaskOutputMissingError",
    "fetch",
    "journal",
    "record_assets",
    "register_transport",
    "submit",
    "unregister_transport",
    "wait",
    "wait_and_fetch",
]
