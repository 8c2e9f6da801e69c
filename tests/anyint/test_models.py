"""Models API: both list routes, their auth styles, and the capability checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

import anyint
from anyint import AnyIntClient, APIResponseValidationError, RetryPolicy
from anyint.types.models import ModelList

from .conftest import BASE_URL, TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]

CATALOGUE: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "claude-sonnet-4-6",
            "object": "model",
            "type": "model",
            "display_name": "Claude Sonnet 4.6",
            "created": 1767225600,
            "created_at": "2026-01-01T00:00:00Z",
            "owned_by": "anyint",
            "capabilities": [
                {"family": "anthropic", "input": ["text", "image"], "output": ["text"]},
                {"family": "openai", "input": ["text", "image"], "output": ["text"]},
            ],
        },
        {
            "id": "gemini-3.1-flash-image-preview",
            "capabilities": [
                {"family": "gemini", "input": ["text"], "output": ["text"]},
                {"family": "gemini", "input": ["text", "image"], "output": ["text", "image"]},
            ],
        },
        {"id": "kling-v3", "capabilities": []},
        {"id": "mystery-model", "display_name": "No capabilities declared"},
    ],
    "has_more": False,
    "first_id": "claude-sonnet-4-6",
    "last_id": "mystery-model",
}


def ok(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


@pytest.fixture
def catalogue() -> ModelList:
    return ModelList.model_validate(CATALOGUE)


# -- routes -------------------------------------------------------------------------------------


async def test_list_openai_route_uses_bearer(make_client: MakeClient) -> None:
    rec = Recorder(ok(CATALOGUE))
    models = await make_client(rec).models.list()
    (req,) = rec.requests
    assert (req.method, str(req.url)) == ("GET", f"{BASE_URL}/openai/v1/models")
    assert req.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert "x-api-key" not in req.headers and req.content == b""
    assert models.ids[0] == "claude-sonnet-4-6"
    first = models.data[0]
    assert (first.display_name, first.created, first.owned_by) == (
        "Claude Sonnet 4.6",
        1767225600,
        "anyint",
    )
    assert models.has_more is False and models.last_id == "mystery-model"


async def test_list_anthropic_route_uses_x_api_key(make_client: MakeClient) -> None:
    body = {
        "data": [{"id": "claude-opus-4-6", "type": "model", "created_at": "2026-01-01T00:00:00Z"}],
        "first_id": "claude-opus-4-6",
        "last_id": "claude-opus-4-6",
        "has_more": True,
    }
    rec = Recorder(ok(body))
    models = await make_client(rec).models.list("anthropic")
    (req,) = rec.requests
    assert (req.method, req.url.path) == ("GET", "/anthropic/v1/models")
    assert req.headers["x-api-key"] == TEST_KEY
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req.headers
    assert models.get("claude-opus-4-6") is not None and models.has_more is True


async def test_unknown_route_is_refused_before_io(make_client: MakeClient) -> None:
    rec = Recorder(ok(CATALOGUE))
    with pytest.raises(ValueError, match="route"):
        await make_client(rec).models.list("gemini")  # type: ignore[arg-type]
    assert rec.requests == []


async def test_auth_error_maps_to_typed_error(make_client: MakeClient) -> None:
    body = {
        "error": {
            "message": "Invalid or missing API key",
            "type": "authentication_error",
            "code": "invalid_api_key",
        }
    }
    with pytest.raises(anyint.AuthenticationError) as info:
        await make_client(Recorder(ok(body, 401))).models.list()
    assert info.value.error_code == "invalid_api_key"


async def test_rate_limit_is_retried_then_succeeds(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    limited = {"error": {"message": "Rate limit exceeded", "code": "rate_limit_exceeded"}}
    rec = Recorder(ok(limited, 429), ok(CATALOGUE))
    models = await make_client(rec).models.list()
    assert len(models.data) == 4 and len(rec.requests) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("body", [{"object": "list"}, {"data": [{"display_name": "no id"}]}])
async def test_unreadable_list_raises_validation_error(
    make_client: MakeClient, body: dict[str, Any]
) -> None:
    client = make_client(Recorder(ok(body)), retry=RetryPolicy(max_retries=0))
    with pytest.raises(APIResponseValidationError, match="ModelList"):
        await client.models.list()


# -- catalogue checks ---------------------------------------------------------------------------


def test_get_and_ids(catalogue: ModelList) -> None:
    assert catalogue.get("kling-v3") is not None
    assert catalogue.get("kling-v4") is None
    assert catalogue.ids == [m["id"] for m in CATALOGUE["data"]]


@pytest.mark.parametrize(
    ("model", "family", "inp", "out", "expected"),
    [
        ("claude-sonnet-4-6", "anthropic", ("image",), ("text",), True),
        ("claude-sonnet-4-6", "openai", (), (), True),
        ("claude-sonnet-4-6", "gemini", (), (), False),
        ("claude-sonnet-4-6", "anthropic", (), ("image",), False),
        # Modalities must all come from one declared entry of the family.
        ("gemini-3.1-flash-image-preview", "gemini", ("image",), ("image",), True),
        ("gemini-3.1-flash-image-preview", "gemini", (), ("video",), False),
        ("kling-v3", "kling", (), (), False),  # declared, but empty
        ("mystery-model", "suno", (), ("audio",), None),  # undeclared: unknown, not guessed
        ("no-such-model", "openai", (), (), False),
    ],
)
def test_supports(
    catalogue: ModelList,
    model: str,
    family: Any,
    inp: tuple[Any, ...],
    out: tuple[Any, ...],
    expected: bool | None,
) -> None:
    assert catalogue.supports(model, family, input=inp, output=out) is expected


def test_check_returns_the_entry(catalogue: ModelList) -> None:
    info = catalogue.check("claude-sonnet-4-6", "anthropic", input=["image", "text"])
    assert info.id == "claude-sonnet-4-6"
    assert catalogue.check("mystery-model", "suno", output=["audio"]).id == "mystery-model"


def test_check_unknown_model_suggests_close_ids(catalogue: ModelList) -> None:
    with pytest.raises(ValueError, match="not in the model catalogue") as info:
        catalogue.check("claude-sonet-4-6", "anthropic")
    assert "did you mean 'claude-sonnet-4-6'" in str(info.value)
    with pytest.raises(ValueError) as info:
        catalogue.check("zzz", "openai")
    assert "did you mean" not in str(info.value)


def test_check_unknown_model_on_partial_page_says_so() -> None:
    page = ModelList.model_validate({"data": [{"id": "a"}], "has_more": True})
    with pytest.raises(ValueError, match="has_more"):
        page.check("b", "openai")


def test_check_wrong_family(catalogue: ModelList) -> None:
    with pytest.raises(ValueError, match=r"does not serve the 'gemini' route family.*anthropic"):
        catalogue.check("claude-sonnet-4-6", "gemini")


def test_check_missing_modality(catalogue: ModelList) -> None:
    with pytest.raises(ValueError, match=r"output \[image\].*declares") as info:
        catalogue.check("claude-sonnet-4-6", "anthropic", input=["text"], output=["image"])
    assert "input [text, image] -> output [text]" in str(info.value)


@pytest.mark.parametrize(
    ("family", "kwargs", "match"),
    [
        ("antropic", {}, "family must be one of"),
        ("openai", {"input": ["picture"]}, "input modalities"),
        ("openai", {"output": ["3d"]}, "output modalities"),
    ],
)
def test_misspelt_arguments_are_refused(
    catalogue: ModelList, family: Any, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        catalogue.check("claude-sonnet-4-6", family, **kwargs)
    with pytest.raises(ValueError, match=match):
        catalogue.supports("claude-sonnet-4-6", family, **kwargs)


def test_unknown_capability_values_do_not_break_the_list() -> None:
    page = ModelList.model_validate(
        {
            "data": [
                {
                    "id": "future",
                    "capabilities": [
                        {"family": "holo", "input": ["text"], "output": ["hologram"]},
                        {"family": "gemini", "input": ["text", "smell"], "output": ["text"]},
                        "garbage",
                    ],
                },
                {"id": "odd", "capabilities": {"not": "a list"}},
            ]
        }
    )
    future = page.get("future")
    assert future is not None and future.capabilities is not None
    assert [(c.family, c.input, c.output) for c in future.capabilities] == [
        ("gemini", ["text"], ["text"])
    ]
    assert page.supports("odd", "gemini") is None
