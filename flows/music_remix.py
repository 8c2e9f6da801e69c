"""Flow ``music-remix``: the user's own audio → a cover, an extension, vocals or a band.

Operations (contract §11.5), each one gateway task (submit → wait → fetch):

- ``cover`` (``/suno/upload-cover``): the upload re-sung in ``style``, custom mode: ``title``
  and, unless ``instrumental``, ``prompt`` as the lyrics;
- ``extend`` (``/suno/upload-extend``): continue the upload from ``continue_at`` with new
  material in ``style`` (custom parameters: ``title``, and ``prompt`` unless instrumental);
- ``add-vocals`` (``/suno/add-vocals``): sing ``prompt`` over an uploaded instrumental;
- ``add-instrumental`` (``/suno/add-instrumental``): a band in ``style`` under uploaded vocals.

``audio`` is a local file inside ``ANYINT_INPUT_DIR`` (default: the working directory),
``store:<key>`` (a file in the asset store, e.g. an earlier run's track) or a public https URL;
empty uses a short demo tune the flow makes. The gateway downloads the input itself, so a local
file is copied into the store and published there (see :mod:`tasks.inputs`: presigned on S3,
``public_base_url`` on a served local folder, or the in-process emulator's own asset server).

Needs: an AnyInt gateway (``credentials_block`` or ``ANYINT_API_KEY``/``ANYINT_BASE_URL``) and
an asset store (``store_block`` or ``ANYINT_STORE``). Every parameter, the input's type and
length, and the request body are checked before the one paid call; a retry or resume of the
flow run reuses the gateway task and the stored tracks.
"""

from __future__ import annotations

import asyncio
import io
import wave
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError

from anyint.records import CALLBACK_FIELDS
from anyint.types import RequestModel
from anyint.types import suno as su
from anyint.types.suno_requests import PLACEHOLDER_CALLBACK_URL
from blocks.ids import markdown_code
from flows._params import named_error
from tasks import AssetRecord, RunConfig, record_assets
from tasks.inputs import (
    MAX_AUDIO_SECONDS,
    AudioInput,
    PublishedInput,
    check_audio,
    checked_audio,
    publish_input,
)
from tasks.usage import UsageSummary

from ._common import ModelNeed, check_models_once, manifest_key, publish_assets, start_run
from ._defer import deferrable
from ._music_steps import by_kind, fit_title, run_step
from ._params import (
    BlockName,
    DeadlineSeconds,
    Defer,
    IdempotencyKey,
    PollInterval,
    PriceTable,
    checked_flow,
    checked_parameters,
)

__all__ = ["OPERATIONS", "MusicRemixResult", "Operation", "music_remix"]

Operation = Literal["cover", "extend", "add-vocals", "add-instrumental"]
#: Route of each operation.
OPERATIONS: dict[str, str] = {
    "cover": "suno.upload-cover",
    "extend": "suno.upload-extend",
    "add-vocals": "suno.add-vocals",
    "add-instrumental": "suno.add-instrumental",
}
#: The models the overlay routes take (§11.5; V4_5PLUS is upstream's default).
OVERLAY_MODELS = (su.SunoModel.V4_5PLUS, su.SunoModel.V5)
#: upload-cover on V4_5ALL takes at most a minute of audio (§11.5).
V4_5ALL_COVER_SECONDS = 60.0
DEFAULT_LYRICS = "[Verse]\nI found this tune on a rainy day\n[Chorus]\nSing it back, sing it my way"
DEFAULT_NEGATIVE_TAGS = "low quality, distortion"
#: Title suffix per operation, for a title derived from the input's name.
_SUFFIX = {
    "cover": "Cover",
    "extend": "Extended",
    "add-vocals": "Vocal Mix",
    "add-instrumental": "Band Mix",
}


class MusicRemixResult(UsageSummary):
    """What a ``music-remix`` run made.

    Attributes:
        operation: The operation.
        route: Its route name (``suno.upload-cover`` ...).
        model: Suno model sent (the route's default when the overlay got none).
        title: Title sent.
        task_id: Gateway task id.
        reused: The task was created by an earlier execution (nothing paid this time).
        audio_ids: ``audioId`` of each generated track (follow-ups such as stems take them).
        input: Where the audio came from: ``source``, ``name``, ``sha256``, ``seconds``,
            ``key`` (store key, when stored) and ``via`` (how the gateway fetched it).
        assets: Stored assets by manifest kind (``audio``, ``image``, ``input``).
        manifest_key: Store key of this run's ``manifest.json``.
    """

    operation: str
    route: str
    model: str
    title: str
    task_id: str
    reused: bool
    audio_ids: list[str]
    input: dict[str, Any]
    assets: dict[str, list[AssetRecord]]
    manifest_key: str


def demo_tune(seconds: float = 6.0, rate: int = 22050) -> bytes:
    """A short WAV melody (a C major arpeggio), the input when ``audio`` is empty."""
    notes = [261.63, 329.63, 392.0, 523.25]
    per_note = int(rate * seconds / (2 * len(notes)))
    t = np.arange(per_note) / rate
    envelope = np.minimum(1.0, 20 * t) * np.exp(-3 * t)
    melody = np.concatenate([np.sin(2 * np.pi * f * t) * envelope for f in notes * 2])
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((melody * 0.4 * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def _checked_choice(p: dict[str, Any]) -> None:
    """The rules between ``operation`` and the other parameters that need no input file."""
    operation, model = p["operation"], p["model"]
    if operation in ("add-vocals", "add-instrumental") and model not in OVERLAY_MODELS:
        raise ValueError(
            f"parameter 'model': operation {operation!r} supports only V4_5PLUS and V5 "
            f"(§11.5), not {model.value}"
        )
    if p["continue_at"] is not None and operation != "extend":
        raise ValueError(
            f"parameter 'continue_at': only operation 'extend' continues the audio; leave it "
            f"empty for {operation!r}"
        )
    if p["instrumental"] and operation in ("add-vocals", "add-instrumental"):
        raise ValueError(
            f"parameter 'instrumental': operation {operation!r} always makes a full mix; use "
            "operation 'cover' or 'extend' for an instrumental"
        )


def _max_seconds(p: dict[str, Any]) -> float:
    if p["operation"] == "cover" and p["model"] is su.SunoModel.V4_5ALL:
        return V4_5ALL_COVER_SECONDS
    return MAX_AUDIO_SECONDS


def _title(p: dict[str, Any], audio_name: str) -> str:
    if p["title"]:
        return str(p["title"])
    stem = audio_name.rsplit(".", 1)[0].replace("_", " ").replace("-", " ")
    base = fit_title(stem, 60, capitalise=True) or "My Song"
    return f"{base} ({_SUFFIX[p['operation']]})"


def _continue_at(p: dict[str, Any], audio: AudioInput) -> float | None:
    """Where ``extend`` continues: the parameter, else 1 s before the upload's end."""
    if p["operation"] != "extend":
        return None
    at = p["continue_at"]
    if at is None:
        at = int((audio.seconds - 1.0) * 100) / 100
        if at <= 0:
            raise ValueError(
                f"parameter 'audio': {audio.name!r} is {audio.seconds:.2f} s long; extend needs "
                "more than 1 s of audio, or set continue_at"
            )
    if at >= audio.seconds:
        raise ValueError(
            f"parameter 'continue_at': {at} s is not before the end of {audio.name!r} "
            f"({audio.seconds:.2f} s)"
        )
    return float(at)


def _fields(p: dict[str, Any], audio: AudioInput) -> tuple[type[RequestModel], dict[str, Any]]:
    """The request model and fields of the operation (without ``uploadUrl``)."""
    operation, sings = p["operation"], not p["instrumental"]
    lyrics = (p["prompt"] or DEFAULT_LYRICS) if sings else p["prompt"]
    knobs = {"negative_tags": p["negative_tags"], "vocal_gender": p["vocal_gender"]}
    common = {"model": p["model"], "title": _title(p, audio.name), "style": p["style"]}
    if operation == "cover":
        fields = {"custom_mode": True, "instrumental": not sings, "prompt": lyrics, **common}
        return su.UploadCoverParams, {**fields, **knobs}
    if operation == "extend":
        at = _continue_at(p, audio)
        fields = {"default_param_flag": True, "continue_at": at, "instrumental": not sings}
        return su.UploadExtendParams, {**fields, "prompt": lyrics, **common, **knobs}
    overlay = {**knobs, "negative_tags": p["negative_tags"] or DEFAULT_NEGATIVE_TAGS}
    if operation == "add-vocals":
        return su.AddVocalsParams, {**common, "prompt": lyrics, **overlay}
    tags = common.pop("style")
    return su.AddInstrumentalParams, {**common, "tags": tags, **overlay}


#: Wire names (and the add-instrumental ``tags``) → this flow's parameter names.
_WIRE_NAMES = {
    "tags": "style",
    "continueAt": "continue_at",
    "negativeTags": "negative_tags",
    "vocalGender": "vocal_gender",
    "uploadUrl": "audio",
}


def _body(request: type[RequestModel], fields: dict[str, Any], upload_url: str) -> dict[str, Any]:
    """The validated body, without the callback URL (``submit`` adds the configured one).

    Raises:
        ValueError: Naming the flow parameter that breaks a rule of the route.
    """
    try:
        params = request.model_validate(
            {"call_back_url": PLACEHOLDER_CALLBACK_URL, "upload_url": upload_url, **fields}
        )
    except ValidationError as exc:
        raise named_error(exc, _WIRE_NAMES) from None
    return {k: v for k, v in params.to_body().items() if k not in CALLBACK_FIELDS}


def _input_record(
    run: RunConfig, audio: AudioInput, published: PublishedInput, route: str
) -> AssetRecord | None:
    """The manifest entry of the input, when it is a file in the store."""
    if published.key is None:
        return None
    store_url = run.gateway.store_url.rstrip("/")
    return AssetRecord(
        kind="input",
        route=route,
        uri=f"{store_url}/{published.key}",
        key=published.key,
        bytes=len(audio.data),
        sha256=audio.sha256,
        content_type=audio.media_type,
        created_at=datetime.now(UTC),
    )


def _summary(result: MusicRemixResult) -> str:
    source = result.input
    return "\n".join(
        [
            f"**{result.title}** · `{result.operation}` ({result.route}) · model "
            f"`{result.model}` · {'reused' if result.reused else 'new'} task "
            f"{markdown_code(result.task_id)}",
            "",
            f"Input: {markdown_code(source['name'])} ({source['source']}, "
            f"{source['seconds']:.1f} s), fetched by the gateway via {source['via']}.",
        ]
    )


async def _remix(run: RunConfig, p: dict[str, Any]) -> MusicRemixResult:
    """Check the input, publish it, then submit → wait → fetch the one paid task."""
    field, limit = "audio", _max_seconds(p)
    if p["audio"] is None:
        audio = check_audio(demo_tune(), name="demo-tune.wav", source="bytes", max_seconds=limit)
    else:
        audio = await checked_audio(run, p["audio"], field=field, max_seconds=limit)
    request, fields = _fields(p, audio)
    _body(request, fields, "https://upload.invalid/audio")  # every rule, before publishing
    route = OPERATIONS[p["operation"]]
    model = p["model"].value
    need = ModelNeed("model", model, "suno", input=("text", "audio"), output=("audio",))
    await check_models_once(run, [need])
    published = await publish_input(run, audio)
    body = _body(request, fields, published.url)
    step, finished = await run_step(run, "remix", route, body, model=model)
    tracks = su.MusicTask.model_validate(finished.snapshot).tracks
    extra = _input_record(run, audio, published, route)
    records = [*([extra] if extra else []), *step.records]
    if extra is not None:
        store = (await run.gateway.connect()).store
        await asyncio.to_thread(record_assets, store, run, [extra])
    return MusicRemixResult(
        operation=p["operation"],
        route=route,
        model=str(body.get("model") or model),
        title=str(fields["title"]),
        task_id=step.task_id,
        reused=step.reused,
        audio_ids=[t.id for t in tracks if t.id],
        input={
            "source": audio.source,
            "name": audio.name,
            "sha256": audio.sha256,
            "seconds": round(audio.seconds, 3),
            "key": published.key,
            "via": published.via,
        },
        assets=by_kind(records),
        manifest_key=manifest_key(run),
    )


Text = Annotated[str | None, Field(min_length=1, max_length=5000)]


@checked_flow("music-remix", "Your own audio → a cover, an extension, added vocals or a band.")
async def music_remix(
    audio: Annotated[str | None, Field(min_length=1, max_length=2000)] = None,
    operation: Operation = "cover",
    model: su.SunoModel = su.SunoModel.V5,
    style: Annotated[str, Field(min_length=1, max_length=1000)] = "synth-pop, bright",
    title: Annotated[str | None, Field(min_length=1, max_length=80)] = None,
    prompt: Text = None,
    instrumental: bool = False,
    continue_at: Annotated[float | None, Field(gt=0, allow_inf_nan=False)] = None,
    negative_tags: Annotated[str | None, Field(min_length=1, max_length=1000)] = None,
    vocal_gender: Literal["m", "f"] | None = None,
    deadline_seconds: DeadlineSeconds = 1800.0,
    poll_interval: PollInterval = 5.0,
    idempotency_key: IdempotencyKey = None,
    credentials_block: BlockName = None,
    store_block: BlockName = None,
    price_table: PriceTable = None,
    defer: Defer = False,
) -> MusicRemixResult:
    """Remix your own audio: re-sing it, continue it, sing over it or play under it.

    Args:
        audio: Local path inside ANYINT_INPUT_DIR, store:<key>, or a public https URL (WAV or
            MP3, at most 8 minutes; 1 minute for a V4_5ALL cover). Empty: a demo tune.
        operation: cover (re-sing), extend (continue), add-vocals (sing over an
            instrumental) or add-instrumental (a band under vocals).
        model: Suno model (add-vocals and add-instrumental: V4_5PLUS or V5).
        style: Musical style of the result (sent as tags for add-instrumental).
        title: Title; empty derives one from the input's file name.
        prompt: Lyrics to sing (cover, extend, add-vocals); empty sings a short built-in verse.
        instrumental: No vocals (cover and extend only).
        continue_at: extend only: second of the input to continue from; empty: 1 s before
            its end.
        negative_tags: Styles to avoid (add-vocals and add-instrumental need some: empty
            sends "low quality, distortion").
        vocal_gender: Voice hint, m or f.
        deadline_seconds: Time budget for all the waiting, in seconds.
        poll_interval: First poll interval in seconds (later waits: 10 % of the time waited).
        idempotency_key: Runs with the same key share their gateway task and assets.
        credentials_block: Name of a saved AnyIntCredentials block (else ANYINT_* env).
        store_block: Name of a saved AssetStore block (else the default store).
        price_table: Store key of a JSON price table (:mod:`tasks.usage`): the usage
            totals then come with an estimated cost.
        defer: Deployment runs: suspend while the gateway works (see :mod:`flows._defer`).

    Returns:
        The gateway task, the generated tracks' audioIds, stored assets and the manifest key.

    Raises:
        ValueError: A parameter or the input breaks a rule (named in the message); nothing
            was paid for.
    """
    p = checked_parameters(locals())
    _checked_choice(p)
    run = await start_run(p)
    result = await deferrable(run, lambda run: _remix(run, p))
    used = await publish_assets(
        run,
        [r for kind in result.assets.values() for r in kind],
        key="music-remix",
        title=f"Music remix: {result.title}",
        summary=_summary(result),
    )
    usage = {"usage_totals": used.usage_totals, "estimated_cost": used.estimated_cost}
    return result.model_copy(update=usage)
