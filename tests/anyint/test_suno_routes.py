"""AI Music routes: path, method, auth, body and query of every route, and response parsing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

import anyint
from anyint import AnyIntClient
from anyint.types.suno import (
    PLACEHOLDER_CALLBACK_URL,
    GenerateParams,
    SunoModel,
    SunoTaskCreated,
)

from .conftest import BASE_URL, TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]
CB = "https://hooks.example.com/suno"


def envelope(data: Any, code: int = 200, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": "success", "data": data})


def created(task_id: str = "task-1") -> httpx.Response:
    return envelope({"taskId": task_id})


def sent_json(request: httpx.Request) -> Any:
    return json.loads(request.content)


EXTEND_BODY: dict[str, Any] = {
    "defaultParamFlag": True,
    "audioId": "a1",
    "continueAt": 60.5,
    "prompt": "more",
    "style": "rock",
    "title": "T2",
    "model": "V5",
    "callBackUrl": CB,
}

# (method, path, keyword arguments, exact body sent)
CREATE_ROUTES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "generate",
        "/suno/generate",
        {
            "custom_mode": True,
            "instrumental": False,
            "model": "V4_5PLUS",
            "prompt": "[Verse] hi",
            "style": "pop",
            "title": "T",
            "persona_id": "p1",
            "negative_tags": "metal",
            "vocal_gender": "f",
            "style_weight": 0.65,
            "weirdness_constraint": 0.5,
            "audio_weight": 1,
            "call_back_url": CB,
        },
        {
            "customMode": True,
            "instrumental": False,
            "model": "V4_5PLUS",
            "prompt": "[Verse] hi",
            "style": "pop",
            "title": "T",
            "personaId": "p1",
            "negativeTags": "metal",
            "vocalGender": "f",
            "styleWeight": 0.65,
            "weirdnessConstraint": 0.5,
            "audioWeight": 1.0,
            "callBackUrl": CB,
        },
    ),
    # camelCase keywords are accepted and sent as given.
    ("extend", "/suno/extend", EXTEND_BODY, EXTEND_BODY),
    (
        "generate_lyrics",
        "/suno/generate-lyrics",
        {"prompt": "night city", "call_back_url": CB},
        {"prompt": "night city", "callBackUrl": CB},
    ),
    (
        "generate_cover_art",
        "/suno/generate-cover",
        {"task_id": "t1", "call_back_url": CB},
        {"taskId": "t1", "callBackUrl": CB},
    ),
    (
        "upload_cover",
        "/suno/upload-cover",
        {
            "upload_url": "https://files.example.com/in.mp3",
            "custom_mode": False,
            "instrumental": True,
            "model": "V4_5ALL",
            "prompt": "jazz version",
            "call_back_url": CB,
        },
        {
            "uploadUrl": "https://files.example.com/in.mp3",
            "customMode": False,
            "instrumental": True,
            "model": "V4_5ALL",
            "prompt": "jazz version",
            "callBackUrl": CB,
        },
    ),
    (
        "upload_extend",
        "/suno/upload-extend",
        {
            "upload_url": "https://files.example.com/in.mp3",
            "default_param_flag": True,
            "instrumental": True,
            "style": "ambient",
            "title": "Longer",
            "continue_at": 30,
            "model": "V4",
            "call_back_url": CB,
        },
        {
            "uploadUrl": "https://files.example.com/in.mp3",
            "defaultParamFlag": True,
            "instrumental": True,
            "style": "ambient",
            "title": "Longer",
            "continueAt": 30.0,
            "model": "V4",
            "callBackUrl": CB,
        },
    ),
    (
        "add_vocals",
        "/suno/add-vocals",
        {
            "upload_url": "https://files.example.com/inst.mp3",
            "prompt": "la la",
            "title": "Sung",
            "style": "soul",
            "negative_tags": "rap",
            "vocal_gender": "m",
            "model": "V5",
            "call_back_url": CB,
        },
        {
            "uploadUrl": "https://files.example.com/inst.mp3",
            "prompt": "la la",
            "title": "Sung",
            "style": "soul",
            "negativeTags": "rap",
            "vocalGender": "m",
            "model": "V5",
            "callBackUrl": CB,
        },
    ),
    (
        "add_instrumental",
        "/suno/add-instrumental",
        {
            "upload_url": "https://files.example.com/vox.mp3",
            "title": "Backed",
            "tags": "piano, strings",
            "negative_tags": "drums",
            "call_back_url": CB,
        },
        {
            "uploadUrl": "https://files.example.com/vox.mp3",
            "title": "Backed",
            "tags": "piano, strings",
            "negativeTags": "drums",
            "callBackUrl": CB,
        },
    ),
    (
        "vocal_removal",
        "/suno/vocal-removal",
        {"task_id": "t1", "audio_id": "a1", "call_back_url": CB},
        {"taskId": "t1", "audioId": "a1", "callBackUrl": CB},
    ),
    (
        "vocal_removal",
        "/suno/vocal-removal",
        {"task_id": "t1", "audio_id": "a1", "call_back_url": CB, "type": "split_stem"},
        {"taskId": "t1", "audioId": "a1", "callBackUrl": CB, "type": "split_stem"},
    ),
    (
        "split_stem",
        "/suno/split-stem",
        {"task_id": "t1", "audio_id": "a1", "call_back_url": CB},
        {"taskId": "t1", "audioId": "a1", "callBackUrl": CB, "type": "split_stem"},
    ),
    (
        "replace_section",
        "/suno/replace-section",
        {
            "task_id": "t1",
            "audio_id": "a1",
            "prompt": "new bridge",
            "tags": "pop",
            "title": "T",
            "infill_start_s": 10.5,
            "infill_end_s": 30.25,
            "full_lyrics": "[Verse] ...",
        },
        {
            "taskId": "t1",
            "audioId": "a1",
            "prompt": "new bridge",
            "tags": "pop",
            "title": "T",
            "infillStartS": 10.5,
            "infillEndS": 30.25,
            "fullLyrics": "[Verse] ...",
        },
    ),
    (
        "wav_generate",
        "/suno/wav-generate",
        {"task_id": "t1", "audio_id": "a1", "call_back_url": CB},
        {"taskId": "t1", "audioId": "a1", "callBackUrl": CB},
    ),
    (
        "mp4_generate",
        "/suno/mp4-generate",
        {
            "task_id": "t1",
            "audio_id": "a1",
            "call_back_url": CB,
            "author": "Me",
            "domain_name": "example.com",
        },
        {
            "taskId": "t1",
            "audioId": "a1",
            "callBackUrl": CB,
            "author": "Me",
            "domainName": "example.com",
        },
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "body"), CREATE_ROUTES, ids=[r[1] for r in CREATE_ROUTES]
)
async def test_create_routes_send_the_documented_request(
    make_client: MakeClient, method: str, path: str, kwargs: dict[str, Any], body: dict[str, Any]
) -> None:
    rec = Recorder(created("new-task"))
    result = await getattr(make_client(rec).suno, method)(**kwargs)
    assert isinstance(result, SunoTaskCreated)
    assert result.task_id == "new-task"
    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}{path}"
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert "x-api-key" not in request.headers
    assert sent_json(request) == body


async def test_params_object_and_keywords_send_the_same_body(make_client: MakeClient) -> None:
    rec = Recorder(created())
    suno = make_client(rec).suno
    fields: dict[str, Any] = {
        "customMode": False,
        "instrumental": False,
        "model": "V5",
        "prompt": "A song",
        "callBackUrl": PLACEHOLDER_CALLBACK_URL,
    }
    await suno.generate(GenerateParams.model_validate(fields))
    await suno.generate(**fields)
    assert sent_json(rec.requests[0]) == sent_json(rec.requests[1]) == fields


async def test_params_and_keywords_merge_keywords_winning(make_client: MakeClient) -> None:
    rec = Recorder(created())
    params = GenerateParams(
        custom_mode=False,
        instrumental=False,
        model=SunoModel.V5,
        prompt="x",
        call_back_url=CB,
    )
    await make_client(rec).suno.generate(params, prompt="y")
    assert json.loads(rec.requests[0].content)["prompt"] == "y"
    with pytest.raises(ValidationError):
        await make_client(rec).suno.generate({"prompt": "y"})  # a mapping must be complete
    with pytest.raises(TypeError, match="GenerateParams"):
        await make_client(rec).suno.generate(42)  # type: ignore[arg-type]
    assert len(rec.requests) == 1


async def test_constructed_params_are_revalidated_before_sending(make_client: MakeClient) -> None:
    rec = Recorder(created())
    # model_construct() skips validation; the resource must not send it unchecked.
    bad = GenerateParams.model_construct(
        custom_mode=True,
        instrumental=False,
        model="V5",  # type: ignore[arg-type]  # a raw value, as model_construct allows
        call_back_url=CB,
    )
    with pytest.raises(ValueError, match="style and title and prompt are required"):
        await make_client(rec).suno.generate(bad)
    assert rec.requests == []


async def test_sync_timestamped_lyrics(make_client: MakeClient) -> None:
    data = {
        "alignedWords": [
            {"word": "Hey", "success": True, "startS": 1.36, "endS": 1.79, "palign": 0},
            {"word": "you", "success": True, "start_s": 1.8, "end_s": 2.0, "p_align": 0.5},
        ],
        "waveformData": [0, 1, 0.5],
        "hootCer": 0.38,
        "isStreamed": False,
    }
    rec = Recorder(envelope(data))
    result = await make_client(rec).suno.timestamped_lyrics(task_id="t1", audio_id="a1")
    (request,) = rec.requests
    assert (request.method, request.url.path) == ("POST", "/suno/timestamped-lyrics")
    assert sent_json(request) == {"taskId": "t1", "audioId": "a1"}
    assert [w.start_s for w in result.aligned_words] == [1.36, 1.8]
    assert [w.end_s for w in result.aligned_words] == [1.79, 2.0]
    assert [w.palign for w in result.aligned_words] == [0, 0.5]
    assert result.waveform_data == [0, 1, 0.5]
    assert result.hoot_cer == 0.38


async def test_sync_style_generate(make_client: MakeClient) -> None:
    data = {
        "taskId": "s1",
        "param": '{"content":"Pop"}',
        "result": "Bright pop with synths",
        "creditsConsumed": 0.4,
        "successFlag": 1,
    }
    rec = Recorder(envelope(data))
    result = await make_client(rec).suno.style_generate(content="Pop")
    (request,) = rec.requests
    assert (request.method, request.url.path) == ("POST", "/suno/style-generate")
    assert sent_json(request) == {"content": "Pop"}
    assert (result.result, result.task_id, result.success_flag) == (
        "Bright pop with synths",
        "s1",
        "1",
    )


async def test_sync_generate_persona(make_client: MakeClient) -> None:
    data = {"personaId": "per-1", "name": "Tenor", "description": "warm"}
    rec = Recorder(envelope(data))
    result = await make_client(rec).suno.generate_persona(
        task_id="t1", audio_id="a1", name="Tenor", description="warm"
    )
    (request,) = rec.requests
    assert (request.method, request.url.path) == ("POST", "/suno/generate-persona")
    assert sent_json(request) == {
        "taskId": "t1",
        "audioId": "a1",
        "name": "Tenor",
        "description": "warm",
    }
    assert (result.persona_id, result.name) == ("per-1", "Tenor")


async def test_sync_route_answering_only_a_task_id_fails_loudly(make_client: MakeClient) -> None:
    # Contract gap §17 item 15: if the gateway made persona async, say so instead of None.
    # Billed, and a task was evidently made: an unreadable answer is doubt, never resent.
    rec = Recorder(envelope({"taskId": "t9"}))
    with pytest.raises(anyint.AmbiguousSubmitError, match="PersonaResponse"):
        await make_client(rec).suno.generate_persona(
            task_id="t1", audio_id="a1", name="n", description="d"
        )


QUERY_ROUTES = [
    ("get_music_task", "/suno/query/task"),
    ("get_lyrics_task", "/suno/query/lyrics"),
    ("get_vocal_removal_task", "/suno/query/vocal-removal"),
    ("get_wav_task", "/suno/query/wav"),
    ("get_mp4_task", "/suno/query/mp4"),
    ("get_cover_task", "/suno/query/cover"),
]


@pytest.mark.parametrize(("method", "path"), QUERY_ROUTES)
async def test_query_routes_send_task_id_as_camelcase_query(
    make_client: MakeClient, method: str, path: str
) -> None:
    rec = Recorder(envelope({"taskId": "abc 1", "status": "PENDING"}))
    task = await getattr(make_client(rec).suno, method)("abc 1")
    (request,) = rec.requests
    assert request.method == "GET"
    assert request.url.path == path
    assert dict(request.url.params) == {"taskId": "abc 1"}
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert request.content == b""
    assert (task.task_id, task.status, task.is_terminal) == ("abc 1", "PENDING", False)


@pytest.mark.parametrize(("method", "path"), QUERY_ROUTES)
@pytest.mark.parametrize("bad", ["", "  ", "a/b", "a?b=c", "a#b", ".."])
async def test_query_routes_refuse_bad_ids_before_io(
    make_client: MakeClient, method: str, path: str, bad: str
) -> None:
    rec = Recorder(envelope({}))
    with pytest.raises(ValueError, match="task_id"):
        await getattr(make_client(rec).suno, method)(bad)
    assert rec.requests == []


@pytest.mark.parametrize(
    ("code", "cls", "retryable"),
    [
        (400, anyint.BadRequestError, False),
        (401, anyint.AuthenticationError, False),
        (405, anyint.FrequencyLimitError, True),
        (409, anyint.ConflictError, False),
        (413, anyint.PayloadTooLargeError, False),
        (429, anyint.RateLimitError, True),
        (430, anyint.SunoRateLimitError, True),
        (455, anyint.MaintenanceError, True),
        (503, anyint.ServiceUnavailableError, True),
    ],
)
async def test_http_200_with_business_error_code_raises_typed_error(
    make_client: MakeClient, code: int, cls: type[anyint.APIStatusError], retryable: bool
) -> None:
    rec = Recorder(httpx.Response(200, json={"code": code, "msg": "why", "data": None}))
    client = make_client(rec, retry=anyint.RetryPolicy(max_retries=0))
    with pytest.raises(cls) as info:
        await client.suno.generate_lyrics(prompt="x", call_back_url=CB)
    err = info.value
    assert (err.status_code, err.http_status, err.message) == (code, 200, "why")
    assert err.retryable is retryable
    assert len(rec.requests) == 1


async def test_http_200_with_body_code_500_on_a_create_is_doubt(make_client: MakeClient) -> None:
    # A body code counts as the status: 500 does not prove the task was not created.
    rec = Recorder(httpx.Response(200, json={"code": 500, "msg": "why", "data": None}))
    with pytest.raises(anyint.AmbiguousSubmitError) as info:
        await make_client(rec).suno.generate_lyrics(prompt="x", call_back_url=CB)
    err = info.value
    assert (err.status_code, err.http_status, err.gateway_message) == (500, 200, "why")
    assert not err.retryable and len(rec.requests) == 1


async def test_business_code_in_query_is_raised_too(make_client: MakeClient) -> None:
    rec = Recorder(httpx.Response(200, json={"code": 413, "msg": "too long", "data": None}))
    with pytest.raises(anyint.PayloadTooLargeError):
        await make_client(rec).suno.get_music_task("t1")


async def test_rate_limited_create_is_retried_then_succeeds(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    rec = Recorder(
        httpx.Response(200, json={"code": 430, "msg": "slow down", "data": None}), created("t2")
    )
    result = await make_client(rec).suno.wav_generate(task_id="t1", audio_id="a1", call_back_url=CB)
    assert result.task_id == "t2"
    assert len(rec.requests) == 2
    assert len(sleeps) == 1


async def test_create_dropped_after_sending_is_not_resent(make_client: MakeClient) -> None:
    rec = Recorder(httpx.ReadTimeout("no answer"), created())
    with pytest.raises(anyint.AmbiguousSubmitError):
        await make_client(rec).suno.generate(
            custom_mode=False, instrumental=True, model="V5", prompt="x", call_back_url=CB
        )
    assert len(rec.requests) == 1


async def test_created_envelope_without_task_id_is_doubt(
    make_client: MakeClient,
) -> None:
    # The task may exist even though its id did not come back: never resent.
    rec = Recorder(envelope(None))
    with pytest.raises(anyint.AmbiguousSubmitError, match="SunoTaskCreated"):
        await make_client(rec).suno.generate_lyrics(prompt="x", call_back_url=CB)
