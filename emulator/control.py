"""The control plane under ``/_emulator/`` (never part of the gateway API).

``POST reset`` · ``POST seed`` · ``POST timing`` · ``POST faults`` · ``GET calls`` ·
``GET tasks`` · ``GET callbacks`` · ``POST settings`` (asset TTL, accepted keys).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from .auth import backend_of
from .backend import FAULT_KINDS, PROFILES, Fault, Timing

__all__ = ["router"]

router = APIRouter(prefix="/_emulator", tags=["control"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedBody(_Body):
    seed: int = Field(0, description="Seed for ids and media bytes.")


class ResetBody(_Body):
    seed: int | None = Field(
        None, description="Seed for deterministic ids; omitted or null: unseeded (unique ids)."
    )
    timing: Literal["fast", "realistic"] | None = None


class TimingBody(_Body):
    family: Literal["suno", "dashscope", "kling", "videos"]
    after_seconds: float | None = Field(None, ge=0)
    after_polls: int | None = Field(None, ge=1)


class FaultBody(_Body):
    match: str = Field(
        ..., description='"METHOD /path" (path may use * globs), e.g. "POST /suno/*".'
    )
    fault: str = Field(..., description=f"One of {sorted(FAULT_KINDS)}.")
    times: int = Field(1, ge=1)
    status: int = Field(
        503, ge=400, le=599, description="HTTP status of a status, status_after or echo fault."
    )
    retry_after: float | None = Field(None, ge=0)
    seconds: float = Field(
        0.0,
        ge=0,
        le=600,
        description=(
            "delay: seconds before answering; callback_delay: before delivering; trickle: "
            'between 64-byte pieces of the body (also on "GET /_assets/*", the only fault '
            "asset downloads take)."
        ),
    )


class SettingsBody(_Body):
    asset_ttl: float | None = Field(None, gt=0)
    valid_keys: list[str] | None = None
    callback_shape: Literal["bare", "wrapped"] | None = Field(
        None, description="Callback body: AnyInt's bare object or the upstream {code,msg,data}."
    )


@router.post("/reset")
async def reset(request: Request, body: ResetBody | None = None) -> dict[str, Any]:
    backend = backend_of(request)
    body = body or ResetBody()
    if body.timing:
        backend.profile = body.timing
    backend.reset(seed=body.seed)
    return {"ok": True, "timing": backend.profile, "seed": body.seed}


@router.post("/seed")
async def seed(request: Request, body: SeedBody) -> dict[str, Any]:
    backend_of(request).reset(seed=body.seed)
    return {"ok": True, "seed": body.seed}


@router.post("/timing")
async def timing(request: Request, body: TimingBody) -> dict[str, Any]:
    backend = backend_of(request)
    backend.timing[body.family] = Timing(
        after_seconds=body.after_seconds, after_polls=body.after_polls
    )
    return {"ok": True, "timing": {k: asdict(v) for k, v in backend.timing.items()}}


@router.post("/faults")
async def faults(request: Request, body: FaultBody) -> dict[str, Any]:
    method, _, path = body.match.strip().partition(" ")
    if not path.startswith("/"):
        method, path = "*", method
    # Every field but ``match`` is the Fault field of the same name.
    fault = Fault(method=method.upper(), path=path, **body.model_dump(exclude={"match"}))
    backend_of(request).add_fault(fault)
    return {"ok": True, "queued": len(backend_of(request).faults)}


@router.post("/settings")
async def settings(request: Request, body: SettingsBody) -> dict[str, Any]:
    backend = backend_of(request)
    if body.asset_ttl is not None:
        backend.asset_ttl = body.asset_ttl
    if body.valid_keys is not None:
        backend.valid_keys = set(body.valid_keys)
    if body.callback_shape is not None:
        backend.callback_shape = body.callback_shape
    return {"ok": True}


@router.get("/calls")
async def calls(request: Request) -> dict[str, Any]:
    return {"calls": [asdict(c) for c in backend_of(request).calls]}


@router.get("/tasks")
async def tasks(request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    return {
        "tasks": [
            {
                "id": t.id,
                "family": t.family,
                "kind": t.kind,
                "status": backend.status(t, poll=False),
                "polls": t.polls,
                "failure": t.failure,
                "no_output": t.no_output,
                # What the task's answers report as usage (§10.3; None: nothing reported yet).
                "usage": t.data.get("usage"),
                "created": t.created,
                "terminal_seen": t.terminal_seen,
            }
            for t in backend.tasks.values()
        ]
    }


@router.get("/callbacks")
async def callbacks(request: Request) -> dict[str, Any]:
    return {"deliveries": [asdict(d) for d in backend_of(request).callbacks.log]}


@router.get("/profiles")
async def profiles() -> dict[str, Any]:
    return {name: {k: asdict(v) for k, v in p.items()} for name, p in PROFILES.items()}
