"""Golden contract fixtures: the documented examples of anyint-api.md, parsed by our models.

Each ``fixtures/<family>/<name>.json`` holds::

    {"source": "anyint-api.md §11.4", "kind": "request" | "response" | "callback" | "error",
     "model": "anyint.types.suno:SunoGenerateParams",   # null for "error"
     "status": 400,                                      # "error" only: HTTP status to answer
     "expect_error": "BadRequestError",                  # "error" only: class the client raises
     "body": {...}}

Requests validate against strict request models (unknown fields rejected, every rule applied);
responses and callbacks against the lenient response models; errors go through the client's
status mapping over a MockTransport.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

import anyint
from anyint import AnyIntClient, RetryPolicy

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*/*.json"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    assert data["kind"] in {"request", "response", "callback", "error"}, path
    assert data.get("source", "").startswith("anyint-api.md"), f"{path}: cite the contract section"
    return data


def _model(ref: str) -> type[BaseModel]:
    module, _, name = ref.partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, BaseModel)
    return cls


def test_fixtures_exist() -> None:
    assert FIXTURES, "no contract fixtures found"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_fixture_parses(path: Path) -> None:
    data = _load(path)
    if data["kind"] == "error":
        body = data["body"]
        client = AnyIntClient(
            api_key="k",
            base_url="https://gateway.test",
            retry=RetryPolicy(max_retries=0),
            transport=httpx.MockTransport(lambda r: httpx.Response(data["status"], json=body)),
        )
        with pytest.raises(getattr(anyint, data["expect_error"])) as info:
            await client.request("GET", "/x", ok_code=data.get("ok_code"))
        assert info.value.message
        await client.aclose()
        return
    model = _model(data["model"])
    parsed = model.model_validate(data["body"])
    if data["kind"] == "request":
        # Round trip: what we would send is what the contract shows.
        assert parsed.to_body() == data["body"]  # type: ignore[attr-defined]
