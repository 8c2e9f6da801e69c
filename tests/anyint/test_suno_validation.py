"""AI Music request rules (§11.4-11.5): every violation fails before any request is sent."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from anyint import AnyIntClient
from anyint.types.suno import (
    MODEL_LIMITS,
    PLACEHOLDER_CALLBACK_URL,
    ExtendParams,
    GenerateParams,
    Mp4Params,
    ReplaceSectionParams,
    SunoModel,
    UploadExtendParams,
)

from .conftest import Recorder

MakeClient = Callable[..., AnyIntClient]
CB = "https://hooks.example.com/suno"


def simple(**over: Any) -> dict[str, Any]:
    base = {
        "custom_mode": False,
        "instrumental": False,
        "model": "V5",
        "prompt": "a song",
        "call_back_url": CB,
    }
    return {**base, **over}


def custom(**over: Any) -> dict[str, Any]:
    base = {
        "custom_mode": True,
        "instrumental": False,
        "model": "V5",
        "prompt": "[Verse] la",
        "style": "pop",
        "title": "T",
        "call_back_url": CB,
    }
    return {**base, **over}


def drop(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


TRACK = {"task_id": "t1", "audio_id": "a1", "call_back_url": CB}
UPLOAD = "https://files.example.com/in.mp3"
EXTEND = {"default_param_flag": False, "audio_id": "a1", "model": "V5", "call_back_url": CB}
EXTEND_CUSTOM = {
    **EXTEND,
    "default_param_flag": True,
    "prompt": "more",
    "style": "rock",
    "title": "T",
    "continue_at": 12.5,
}
REPLACE = {
    "task_id": "t1",
    "audio_id": "a1",
    "prompt": "p",
    "tags": "pop",
    "title": "T",
    "infill_start_s": 10,
    "infill_end_s": 20,
}
VOCALS = {
    "upload_url": UPLOAD,
    "prompt": "la",
    "title": "T",
    "style": "soul",
    "negative_tags": "rap",
    "call_back_url": CB,
}
INSTR = {
    "upload_url": UPLOAD,
    "title": "T",
    "tags": "piano",
    "negative_tags": "drums",
    "call_back_url": CB,
}

# (resource method, keyword arguments, regex the error must match: field name and rule)
BAD: list[tuple[str, dict[str, Any], str]] = [
    # customMode / instrumental combinations
    ("generate", drop(simple(), "prompt"), "prompt is required in simple mode"),
    ("generate", simple(prompt="   "), "prompt is required in simple mode"),
    ("generate", simple(style="pop"), "style must be left empty in simple mode"),
    ("generate", simple(title="T"), "title must be left empty in simple mode"),
    ("generate", simple(persona_id="p1"), "personaId is only allowed in custom mode"),
    ("generate", simple(prompt="x" * 501), "prompt is 501 characters; simple mode .* 500"),
    ("generate", drop(custom(instrumental=True), "style"), "style is required .* instrumental"),
    ("generate", drop(custom(instrumental=True), "title"), "title is required .* instrumental"),
    ("generate", drop(custom(), "prompt"), "prompt is required in custom mode for a vocal"),
    ("generate", drop(custom(), "style", "title"), "style and title are required"),
    # enums and types
    ("generate", simple(model="V3_5"), "model"),
    ("generate", simple(model="v5"), "model"),
    ("generate", simple(vocal_gender="x"), "vocalGender"),
    ("generate", simple(custom_mode="false"), "customMode"),
    ("generate", simple(instrumental=0), "instrumental"),
    ("generate", simple(style_weight=1.01), "styleWeight"),
    ("generate", simple(weirdness_constraint=-0.1), "weirdnessConstraint"),
    ("generate", simple(audio_weight=0.555), "audioWeight.*2 decimals"),
    ("generate", simple(audio_weight="0.5"), "audioWeight"),
    ("generate", simple(unknown_field=1), "unknown_field"),
    # callBackUrl
    ("generate", drop(simple(), "call_back_url"), "callBackUrl"),
    ("generate", simple(call_back_url="not a url"), "callBackUrl.*http"),
    ("generate", simple(call_back_url="ftp://x.test/cb"), "callBackUrl.*http"),
    ("generate", simple(call_back_url="/relative/cb"), "callBackUrl.*http"),
    ("generate_lyrics", {"prompt": "x"}, "callBackUrl"),
    ("generate_cover_art", {"task_id": "t1"}, "callBackUrl"),
    ("vocal_removal", {**TRACK, "call_back_url": "https//typo"}, "callBackUrl.*http"),
    ("wav_generate", drop(TRACK, "call_back_url"), "callBackUrl"),
    ("mp4_generate", drop(TRACK, "call_back_url"), "callBackUrl"),
    # extend
    ("extend", drop(EXTEND, "audio_id"), "audioId"),
    ("extend", drop(EXTEND, "model"), "model"),
    ("extend", drop(EXTEND_CUSTOM, "continue_at"), "continueAt is required .*defaultParamFlag"),
    ("extend", drop(EXTEND_CUSTOM, "prompt"), "prompt is required .*defaultParamFlag"),
    ("extend", drop(EXTEND_CUSTOM, "style", "title"), "style and title are required"),
    ("extend", {**EXTEND_CUSTOM, "continue_at": 0}, "continueAt.*greater than 0"),
    ("extend", {**EXTEND_CUSTOM, "model": "V4", "style": "s" * 201}, "style is 201 .* V4 .* 200"),
    # uploads
    ("upload_cover", simple(), "uploadUrl"),
    ("upload_cover", simple(upload_url="file:///tmp/a.mp3"), "uploadUrl.*http"),
    ("upload_cover", custom(upload_url=UPLOAD, style=None), "style is required"),
    (
        "upload_extend",
        {"upload_url": UPLOAD, "default_param_flag": True, "model": "V5", "call_back_url": CB},
        "style and title and prompt and continueAt are required",
    ),
    (
        "upload_extend",
        {
            "upload_url": UPLOAD,
            "default_param_flag": True,
            "model": "V5",
            "style": "s",
            "title": "t",
            "continue_at": 5,
            "call_back_url": CB,
        },
        "prompt is required",
    ),
    # overlays
    ("add_vocals", drop(VOCALS, "negative_tags"), "negativeTags"),
    ("add_vocals", drop(VOCALS, "prompt"), "prompt"),
    ("add_vocals", {**VOCALS, "model": "V4"}, "model must be V4_5PLUS or V5"),
    ("add_instrumental", drop(INSTR, "tags"), "tags"),
    ("add_instrumental", {**INSTR, "model": "V4_5"}, "model must be V4_5PLUS or V5"),
    # simple bodies
    ("generate_lyrics", {"prompt": "", "call_back_url": CB}, "prompt"),
    ("timestamped_lyrics", {"task_id": "t1"}, "audioId"),
    ("style_generate", {"content": ""}, "content"),
    ("generate_persona", {"task_id": "t1", "audio_id": "a1", "name": "n"}, "description"),
    ("vocal_removal", {**TRACK, "type": "karaoke"}, "type"),
    ("split_stem", {**TRACK, "type": "separate_vocal"}, "type"),
    ("wav_generate", drop(TRACK, "task_id"), "taskId"),
    ("mp4_generate", {**TRACK, "author": "a" * 51}, "author.*50"),
    ("mp4_generate", {**TRACK, "domain_name": "d" * 51}, "domainName.*50"),
    # replace-section window
    ("replace_section", {**REPLACE, "infill_end_s": 15.99}, "6-60 s"),
    ("replace_section", {**REPLACE, "infill_end_s": 70.01}, "6-60 s"),
    ("replace_section", {**REPLACE, "infill_end_s": 10}, "infillStartS .* before infillEndS"),
    ("replace_section", {**REPLACE, "infill_end_s": 5}, "infillStartS .* before infillEndS"),
    ("replace_section", {**REPLACE, "infill_start_s": 10.125}, "infillStartS.*2 decimals"),
    ("replace_section", {**REPLACE, "infill_start_s": -1}, "infillStartS"),
    ("replace_section", drop(REPLACE, "tags"), "tags"),
    ("replace_section", {**REPLACE, "call_back_url": "cb"}, "callBackUrl.*http"),
]


@pytest.mark.parametrize(("method", "kwargs", "match"), BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD])
async def test_rule_violations_fail_before_any_request(
    make_client: MakeClient, method: str, kwargs: dict[str, Any], match: str
) -> None:
    rec = Recorder(httpx.Response(200, json={"code": 200, "msg": "ok", "data": {"taskId": "t"}}))
    with pytest.raises(ValidationError) as info:
        await getattr(make_client(rec).suno, method)(**kwargs)
    # pydantic names the field as the caller spelled it (callBackUrl or call_back_url).
    assert re.search(_fold(match), _fold(str(info.value)), re.DOTALL), str(info.value)
    assert rec.requests == []


def _fold(text: str) -> str:
    return text.replace("_", "").lower()


@pytest.mark.parametrize("model", list(SunoModel))
@pytest.mark.parametrize("field", ["prompt", "style", "title"])
def test_custom_mode_length_limits_at_the_boundary(model: SunoModel, field: str) -> None:
    limit = getattr(MODEL_LIMITS[model], field)
    GenerateParams.model_validate(custom(model=model.value, **{field: "x" * limit}))
    with pytest.raises(ValidationError, match=rf"{field} is {limit + 1} characters.*{model.value}"):
        GenerateParams.model_validate(custom(model=model.value, **{field: "x" * (limit + 1)}))


def test_documented_limits() -> None:
    assert MODEL_LIMITS[SunoModel.V4].__dict__ == {"prompt": 3000, "style": 200, "title": 80}
    for model in (SunoModel.V4_5, SunoModel.V4_5PLUS, SunoModel.V4_5ALL, SunoModel.V5):
        assert MODEL_LIMITS[model].__dict__ == {"prompt": 5000, "style": 1000, "title": 80}


def test_simple_mode_prompt_limit_boundary_and_model_limit_not_applied() -> None:
    GenerateParams.model_validate(simple(prompt="x" * 500, model="V4"))
    # Simple mode: the 500 limit applies whatever the model, style/title may be sent blank.
    GenerateParams.model_validate(simple(style="", title=""))


def test_valid_combinations() -> None:
    GenerateParams.model_validate(custom(instrumental=True, prompt=None))
    GenerateParams.model_validate(custom(persona_id="p1", vocal_gender="m"))
    for weight in (0, 1, 0.5, 0.01, 1.0):
        GenerateParams.model_validate(simple(style_weight=weight))
    ExtendParams.model_validate(EXTEND)
    UploadExtendParams.model_validate(
        {
            "upload_url": UPLOAD,
            "default_param_flag": True,
            "instrumental": True,
            "model": "V5",
            "style": "s",
            "title": "t",
            "continue_at": 5,
            "call_back_url": CB,
        }
    )
    Mp4Params.model_validate({**TRACK, "author": "a" * 50, "domain_name": "d" * 50})


@pytest.mark.parametrize(
    ("start", "end"), [(0, 6), (10, 70), (4.01, 10.01), (100.5, 106.5), (0.01, 60.01)]
)
def test_replace_section_window_boundaries_accepted(start: float, end: float) -> None:
    body = ReplaceSectionParams.model_validate(
        {**REPLACE, "infill_start_s": start, "infill_end_s": end}
    ).to_body()
    assert (body["infillStartS"], body["infillEndS"]) == (start, end)
    assert "callBackUrl" not in body  # optional on this route


def test_both_spellings_accepted_and_body_uses_wire_names() -> None:
    by_alias = GenerateParams.model_validate(
        {"customMode": False, "instrumental": True, "model": "V4", "prompt": "x", "callBackUrl": CB}
    )
    by_name = GenerateParams(
        custom_mode=False,
        instrumental=True,
        model=SunoModel.V4,
        prompt="x",
        call_back_url=CB,
    )
    assert by_alias.to_body() == by_name.to_body()
    assert set(by_name.to_body()) == {
        "customMode",
        "instrumental",
        "model",
        "prompt",
        "callBackUrl",
    }


def test_assignment_is_validated() -> None:
    params = GenerateParams.model_validate(simple())
    with pytest.raises(ValidationError, match="simple mode"):
        params.style = "pop"


def test_placeholder_callback_url_is_valid_and_never_resolves() -> None:
    assert PLACEHOLDER_CALLBACK_URL == "https://callbacks.invalid/anyint"
    params = GenerateParams.model_validate(simple(call_back_url=PLACEHOLDER_CALLBACK_URL))
    assert params.to_body()["callBackUrl"] == PLACEHOLDER_CALLBACK_URL
