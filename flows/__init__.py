"""Prefect flows, one per use case, and :func:`start_run`, which every flow calls first.

The flows are imported on first use: a deployment's flow-run process (a new one for every
run and every resume of a deferred run) loads one flow, and importing all ten (their
dependencies, and each flow's parameter schema) would cost it most of a second.
"""

import importlib as _importlib
import sys as _sys
from types import ModuleType as _ModuleType
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._common import ModelNeed, check_models, start_run

if _TYPE_CHECKING:
    from .assistant import assistant as assistant
    from .batch import batch as batch
    from .content_brief import content_brief as content_brief
    from .describe_images import describe_images as describe_images
    from .generate_image import generate_image as generate_image
    from .generate_video import generate_video as generate_video
    from .karaoke import karaoke as karaoke
    from .music_remix import music_remix as music_remix
    from .music_video import music_video as music_video
    from .persona import persona as persona

#: Each flow lives in the module of its name.
_FLOWS = frozenset(
    "assistant batch content_brief describe_images generate_image generate_video karaoke "
    "music_remix music_video persona".split()
)

__all__ = ["ModelNeed", "check_models", "start_run", *sorted(_FLOWS)]


def __getattr__(name: str) -> _Any:
    if name not in _FLOWS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_importlib.import_module(f".{name}", __name__), name)


class _Package(_ModuleType):
    """Importing ``flows.generate_video`` binds the submodule to the package's name for its
    flow; the package keeps the name for the flow, as an eager ``from .x import x`` did."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if name in _FLOWS and isinstance(value, _ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
