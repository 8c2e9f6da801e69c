"""Models API types: the model catalogue of ``GET /openai/v1/models`` and ``/anthropic/v1/models``.

The contract (§4) documents ``data[].id``, ``display_name``, ``type``, ``created_at``,
``has_more``, ``first_id`` and ``last_id`` (Anthropic list style even on the OpenAI route);
OpenAI's ``object``, ``created`` and ``owned_by`` may also appear (§17 item 5), so every entry
field but ``id`` is optional.

``capabilities`` is our own catalogue extension, not part of the AnyInt contract (which documents no
modality field): the emulator serves it so that a flow can check, before paying for a call, that a
model serves a route family with the input and output modalities it needs. A real gateway entry
without it is "undeclared", and the checks then pass rather than guess from the model name.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from typing import Any, Literal, TypedDict, Unpack, get_args

from pydantic import field_validator

from ._base import ResponseModel

__all__ = ["Capability", "Modalities", "Modality", "ModelInfo", "ModelList", "RouteFamily"]

log = logging.getLogger("anyint")

#: Route families a catalogue entry can declare (one per client resource that generates content).
RouteFamily = Literal["openai", "anthropic", "gemini", "dashscope", "kling", "videos", "suno"]
#: Media a model takes in or puts out.
Modality = Literal["text", "image", "video", "audio"]

_FAMILIES: frozenset[str] = frozenset(get_args(RouteFamily))
_MODALITIES: frozenset[str] = frozenset(get_args(Modality))


class Capability(ResponseModel):
    """One route family a model serves, with the modalities it accepts and produces there.

    Attributes:
        family: Route family, e.g. ``"gemini"``.
        input: Modalities the model accepts on that family.
        output: Modalities the model produces on that family.
    """

    family: RouteFamily
    input: list[Modality] = []
    output: list[Modality] = []

    def covers(self, input: Iterable[str], output: Iterable[str]) -> bool:
        """Whether this entry accepts every ``input`` and produces every ``output`` modality."""
        return set(input) <= set(self.input) and set(output) <= set(self.output)


class ModelInfo(ResponseModel):
    """One catalogue entry.

    Attributes:
        id: Model ID to send in requests.
        display_name: Human label.
        type: Object type (``"model"``).
        created_at: Published timestamp (RFC 3339), kept as the gateway's string.
        object: OpenAI ``"model"``, when the gateway sends OpenAI fields too.
        created: OpenAI Unix timestamp.
        owned_by: OpenAI owner.
        capabilities: Our extension (see module docstring); None when the entry declares none.
    """

    id: str
    display_name: str | None = None
    type: str | None = None
    created_at: str | None = None
    object: str | None = None
    created: int | None = None
    owned_by: str | None = None
    capabilities: list[Capability] | None = None

    @field_validator("capabilities", mode="before")
    @classmethod
    def _known_capabilities(cls, value: Any) -> Any:
        # Lenient on purpose: a family or modality this client does not know yet is dropped rather
        # than failing the whole model list; a shape we cannot read at all counts as undeclared.
        if value is None:
            return None
        if not isinstance(value, list):
            log.warning("ignoring unreadable model capabilities %r", value)
            return None
        kept: list[dict[str, Any]] = []
        for item in value:
            if not isinstance(item, dict) or item.get("family") not in _FAMILIES:
                continue
            kept.append(
                {
                    **item,
                    "input": [m for m in item.get("input") or [] if m in _MODALITIES],
                    "output": [m for m in item.get("output") or [] if m in _MODALITIES],
                }
            )
        return kept

    def families(self) -> list[str]:
        """Route families this entry declares (empty when capabilities are undeclared)."""
        return [c.family for c in self.capabilities or []]


class Modalities(TypedDict, total=False):
    """What a call sends (``input``) and needs back (``output``), for :meth:`ModelList.check`."""

    input: Iterable[Modality]
    output: Iterable[Modality]


class ModelList(ResponseModel):
    """A page of the model catalogue.

    Attributes:
        data: The entries.
        has_more: Whether more entries exist after this page.
        first_id: Cursor of the first entry.
        last_id: Cursor of the last entry.
        object: OpenAI ``"list"``, when sent.
    """

    data: list[ModelInfo]
    has_more: bool | None = None
    first_id: str | None = None
    last_id: str | None = None
    object: str | None = None

    @property
    def ids(self) -> list[str]:
        """Every model ID in this page, in order."""
        return [m.id for m in self.data]

    def get(self, model_id: str) -> ModelInfo | None:
        """The entry for ``model_id``, or None when the catalogue does not list it."""
        return next((m for m in self.data if m.id == model_id), None)

    def supports(
        self, model_id: str, family: RouteFamily, **modalities: Unpack[Modalities]
    ) -> bool | None:
        """Whether a model serves ``family`` with the given modalities.

        Args:
            model_id: Model ID.
            family: Route family the call will use.
            **modalities: ``input``, the modalities the call sends, and ``output``, those it
                needs back (each empty when not given).

        Returns:
            True or False from the declared capabilities; False for an unknown model; None when
            the entry declares no capabilities (unknown, never guessed from the name).
        """
        wanted_in, wanted_out = _check_args(family, **modalities)
        info = self.get(model_id)
        if info is None:
            return False
        if info.capabilities is None:
            return None
        return _refusal(info, family, wanted_in, wanted_out) is None

    def check(
        self, model_id: str, family: RouteFamily, **modalities: Unpack[Modalities]
    ) -> ModelInfo:
        """Return the entry for ``model_id`` after checking it can serve the call.

        An entry that declares no capabilities passes: the catalogue then says nothing about
        modalities, and guessing from the model name would be wrong as often as right.

        Args:
            model_id, family, **modalities: As for :meth:`supports`.

        Returns:
            The catalogue entry.

        Raises:
            ValueError: The model is not listed (close IDs are suggested), does not serve
                ``family``, or lacks a requested modality there.
        """
        wanted_in, wanted_out = _check_args(family, **modalities)
        info = self.get(model_id)
        if info is None:
            raise ValueError(self._unknown_message(model_id))
        problem = _refusal(info, family, wanted_in, wanted_out)
        if problem is not None:
            raise ValueError(problem)
        return info

    def _unknown_message(self, model_id: str) -> str:
        close = difflib.get_close_matches(model_id, self.ids, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        more = (
            " (this page has has_more=true, so the model may be listed on a later page)"
            if self.has_more
            else ""
        )
        return (
            f"model {model_id!r} is not in the model catalogue ({len(self.data)} models listed)"
            f"{hint}{more}"
        )


def _refusal(info: ModelInfo, family: str, wanted_in: set[str], wanted_out: set[str]) -> str | None:
    """Why ``info`` cannot serve the call, or None when it can (or declares no capabilities)."""
    if info.capabilities is None:
        return None
    model_id = info.id
    entries = [c for c in info.capabilities if c.family == family]
    if not entries:
        served = ", ".join(info.families()) or "none"
        return (
            f"model {model_id!r} does not serve the {family!r} route family (it serves: {served})"
        )
    if not any(c.covers(wanted_in, wanted_out) for c in entries):
        declared = "; ".join(
            f"input [{', '.join(c.input)}] -> output [{', '.join(c.output)}]" for c in entries
        )
        return (
            f"model {model_id!r} on {family!r} does not take input "
            f"[{', '.join(sorted(wanted_in))}] and produce output "
            f"[{', '.join(sorted(wanted_out))}]; it declares {declared}"
        )
    return None


def _check_args(
    family: str, input: Iterable[str] = (), output: Iterable[str] = ()
) -> tuple[set[str], set[str]]:
    # Catch misspelt families/modalities: otherwise a typo reads as "not supported".
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {sorted(_FAMILIES)}, got {family!r}")
    wanted_in, wanted_out = set(input), set(output)
    for name, values in (("input", wanted_in), ("output", wanted_out)):
        bad = values - _MODALITIES
        if bad:
            raise ValueError(f"{name} modalities must be among {sorted(_MODALITIES)}, got {bad}")
    return wanted_in, wanted_out
