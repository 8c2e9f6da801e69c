"""AI Music callbacks: the bodies the gateway POSTs to ``callBackUrl`` (§11.7).

Two wrappers are in circulation (contract gap §17 item 11): AnyInt's docs print a bare
``{"callbackType", "task_id", "data": [...]}`` object, while upstream wraps the same object as
``{"code", "msg", "data": {...}}``. :func:`parse_callback` accepts both, for every task type, and
turns them into one :class:`SunoCallback`. Delivery is at-least-once: deduplicate on
:attr:`SunoCallback.dedup_key` (``task_id`` + ``callbackType``, §13.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from ._base import ResponseModel
from .suno_responses import LyricsItem, StemUrls, SunoTrack

__all__ = ["CALLBACK_TYPES", "SunoCallback", "parse_callback"]

#: Documented ``callbackType`` values; upstream's ``failed`` is read as ``error``.
CALLBACK_TYPES = ("text", "first", "complete", "error")

_TRACK_KEYS = frozenset({"id", "audio_url", "audioUrl", "stream_audio_url", "streamAudioUrl"})


class SunoCallback(ResponseModel):
    """One music callback, whatever its wrapper and task type.

    ``SunoCallback.model_validate(raw_body)`` and :func:`parse_callback` are equivalent.

    Attributes:
        task_id: The task this callback reports on (``task_id`` or ``taskId`` on the wire).
        callback_type: ``text``, ``first``, ``complete`` or ``error``. When the body has none it
            is ``complete`` on success and ``error`` when ``code`` is not 200; a non-200 code
            always makes it ``error``.
        code: The upstream wrapper's ``code``; None for the bare AnyInt shape that carries none.
        msg: The wrapper's ``msg`` (the failure reason on errors).
        tracks: Music tracks (generate, extend, upload, overlay and replace-section tasks);
            empty at the ``text`` stage.
        lyrics: Lyric variants (lyrics tasks).
        stems: Stem URLs by name (vocal-removal / split-stem tasks).
        wav_url: WAV export URL.
        video_url: Music-video URL.
        images: Cover-art image URLs.
        raw: The body as received, for storage and debugging.
    """

    task_id: str
    callback_type: str
    code: int | None = None
    msg: str | None = None
    tracks: list[SunoTrack] = []
    lyrics: list[LyricsItem] = []
    stems: dict[str, str] = {}
    wav_url: str | None = None
    video_url: str | None = None
    images: list[str] = []
    raw: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, data: Any) -> Any:
        # Already-normalised input (our own field names) passes through unchanged.
        if isinstance(data, Mapping) and not (
            "callback_type" in data and "callbackType" not in data and "data" not in data
        ):
            return _normalize(data)
        return data

    @property
    def is_terminal(self) -> bool:
        """Whether no further callback will follow for this task (``complete`` or ``error``)."""
        return self.callback_type in ("complete", "error")

    @property
    def is_success(self) -> bool:
        """A ``complete`` callback without an error code."""
        return self.callback_type == "complete" and self.code in (None, 200)

    @property
    def dedup_key(self) -> str:
        """``task_id:callback_type``: the same key means a duplicate delivery (§13.3)."""
        return f"{self.task_id}:{self.callback_type}"


def parse_callback(body: Mapping[str, Any]) -> SunoCallback:
    """Read a music callback body in either wrapper, for any task type (§11.7).

    Args:
        body: The decoded JSON body the gateway POSTed to ``callBackUrl``.

    Returns:
        The normalised callback.

    Raises:
        ValueError: ``body`` is not a Suno callback (not an object, or no task id anywhere).

    Example:
        >>> cb = parse_callback({"task_id": "t1", "audio_wav_url": "https://x.test/a.wav"})
        >>> (cb.callback_type, cb.wav_url, cb.is_terminal)
        ('complete', 'https://x.test/a.wav', True)
    """
    return SunoCallback.model_validate(_normalize(body))


def _normalize(body: Any) -> dict[str, Any]:
    """Map either wrapper of any task type onto :class:`SunoCallback` field names."""
    if not isinstance(body, Mapping):
        raise ValueError(f"a Suno callback body must be a JSON object, got {type(body).__name__}")
    # Upstream wrapper: {code, msg, data: {...}}. The bare shapes never have an object `data`.
    data = body.get("data")
    inner: Mapping[str, Any] = data if isinstance(data, Mapping) else body
    task_id = _first(inner, "task_id", "taskId") or _first(body, "task_id", "taskId")
    if not isinstance(task_id, str) or not task_id:
        raise ValueError(
            "not a Suno callback: no task_id/taskId found (expected a bare {callbackType, "
            "task_id, ...} object or a {code, msg, data: {...}} wrapper); keys: "
            f"{sorted(map(str, body))}"
        )
    code = _as_int(body.get("code"))
    items = inner.get("data")
    mappings = [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []
    # Lyric variants carry `text` and none of a track's keys; everything else is a track.
    lyrics = [m for m in mappings if "text" in m and not _TRACK_KEYS & m.keys()]
    tracks = [m for m in mappings if not ("text" in m and not _TRACK_KEYS & m.keys())]
    info = _first(inner, "vocal_removal_info", "vocalRemovalInfo")
    images = inner.get("images")
    return {
        "task_id": task_id,
        "callback_type": _callback_type(_first(inner, "callbackType", "callback_type"), code),
        "code": code,
        "msg": body.get("msg") if isinstance(body.get("msg"), str) else None,
        "tracks": tracks,
        "lyrics": lyrics,
        "stems": StemUrls.model_validate(info).stems if isinstance(info, Mapping) else {},
        "wav_url": _first(inner, "audio_wav_url", "audioWavUrl"),
        "video_url": _first(inner, "video_url", "videoUrl"),
        "images": [i for i in images if isinstance(i, str)] if isinstance(images, list) else [],
        "raw": dict(body),
    }


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _callback_type(raw: Any, code: int | None) -> str:
    if code is not None and code != 200:
        return "error"
    if not isinstance(raw, str) or not raw.strip():
        return "complete"
    value = raw.strip().lower()
    return "error" if value in ("failed", "fail") else value
