"""Models API: ``GET /openai/v1/models`` (Bearer) and ``GET /anthropic/v1/models`` (x-api-key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ..auth import anthropic_auth, bearer_auth
from ..backend import Backend
from ..catalogue import CATALOGUE

router = APIRouter(tags=["models"])


def _listing() -> dict[str, Any]:
    data = [m.as_json() for m in CATALOGUE.values()]
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"],
        "last_id": data[-1]["id"],
    }


@router.get("/openai/v1/models")
async def openai_models(backend: Backend = Depends(bearer_auth)) -> dict[str, Any]:
    """The catalogue, OpenAI route."""
    return _listing()


@router.get("/anthropic/v1/models")
async def anthropic_models(backend: Backend = Depends(anthropic_auth)) -> dict[str, Any]:
    """The catalogue, Anthropic route."""
    return _listing()
