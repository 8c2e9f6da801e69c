"""The emulated model catalogue: every model id the contract names, with the modalities each
serves per route family (our ``capabilities`` extension of the Models API, contract §4 and
§17 item 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import EmulatorError

__all__ = ["CATALOGUE", "ModelEntry", "check_model"]


@dataclass(frozen=True)
class ModelEntry:
    """One model and what it does on each route family."""

    id: str
    display_name: str
    capabilities: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]  # family -> (in, out)
    created: int = 1767225600  # 2026-01-01T00:00:00Z

    def as_json(self) -> dict[str, Any]:
        """The union of OpenAI and Anthropic list fields (contract §4 [INF]) plus capabilities."""
        return {
            "id": self.id,
            "object": "model",
            "type": "model",
            "display_name": self.display_name,
            "created": self.created,
            "created_at": "2026-01-01T00:00:00Z",
            "owned_by": "anyint",
            "capabilities": [
                {"family": fam, "input": list(i), "output": list(o)}
                for fam, (i, o) in self.capabilities.items()
            ],
        }


TXT, IMG, VID, AUD = "text", "image", "video", "audio"
_CHAT = {"anthropic": ((TXT, IMG), (TXT,)), "openai": ((TXT, IMG), (TXT,))}
_SUNO = {"suno": ((TXT, AUD), (AUD, TXT, IMG, VID))}

CATALOGUE: dict[str, ModelEntry] = {
    m.id: m
    for m in [
        ModelEntry("claude-sonnet-4-6", "Claude Sonnet 4.6", _CHAT),
        ModelEntry("claude-opus-4-6", "Claude Opus 4.6", _CHAT),
        ModelEntry(
            "gemini-2.0-flash",
            "Gemini 2.0 Flash",
            {"gemini": ((TXT, IMG), (TXT,)), "openai": ((TXT, IMG), (TXT,))},
        ),
        ModelEntry(
            "gemini-3-flash-preview", "Gemini 3 Flash Preview", {"gemini": ((TXT, IMG), (TXT,))}
        ),
        ModelEntry(
            "gemini-3.1-flash-image-preview",
            "Gemini 3.1 Flash Image Preview",
            {"gemini": ((TXT, IMG), (TXT, IMG)), "openai": ((TXT, IMG), (TXT,))},
        ),
        ModelEntry("nano-banana-2", "Nano Banana 2", {"gemini": ((TXT, IMG), (TXT, IMG))}),
        ModelEntry("qwen-image-plus", "Qwen Image Plus", {"dashscope": ((TXT, IMG), (IMG,))}),
        ModelEntry("wan2.6-t2v", "Wan 2.6 Text-to-Video", {"dashscope": ((TXT,), (VID,))}),
        ModelEntry("wan2.6-i2v", "Wan 2.6 Image-to-Video", {"dashscope": ((TXT, IMG), (VID,))}),
        ModelEntry("kling-v2-1", "Kling: Image v2.1", {"kling": ((TXT, IMG), (IMG,))}),
        ModelEntry("kling-v3", "Kling: Video v3.0", {"kling": ((TXT, IMG), (VID,))}),
        ModelEntry(
            "kling-v3-omni",
            "Kling: Video v3.0 Omni",
            {"kling": ((TXT, IMG, VID), (VID, IMG)), "videos": ((TXT, IMG), (VID,))},
        ),
        ModelEntry("kling-3.0", "Kling 3.0", {"videos": ((TXT, IMG), (VID,))}),
        ModelEntry("V4", "Suno V4", _SUNO),
        ModelEntry("V4_5", "Suno V4.5", _SUNO),
        ModelEntry("V4_5PLUS", "Suno V4.5 Plus", _SUNO),
        ModelEntry("V4_5ALL", "Suno V4.5 All", _SUNO),
        ModelEntry("V5", "Suno V5", _SUNO),
    ]
}


def check_model(model: str, family: str, *, output: str | None = None) -> ModelEntry:
    """400 unless ``model`` exists and serves ``family`` (and ``output`` when given)."""
    entry = CATALOGUE.get(model)
    if entry is None:
        raise EmulatorError(
            400,
            f"model {model!r} does not exist or is not enabled for this key; "
            "list models with GET /openai/v1/models",
            code="model_not_found",
        )
    caps = entry.capabilities.get(family)
    if caps is None:
        raise EmulatorError(
            400,
            f"model {model!r} is not served on the {family} route family",
            code="model_not_supported",
        )
    if output is not None and output not in caps[1]:
        raise EmulatorError(
            400,
            f"model {model!r} cannot produce {output} on the {family} route",
            code="modality_not_supported",
        )
    return entry
