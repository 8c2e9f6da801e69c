"""AI Music (``/suno/*``) types: requests, responses and callbacks in one namespace.

The models live in :mod:`.suno_requests`, :mod:`.suno_responses` and :mod:`.suno_callbacks`
(split only to keep modules short); import them from here.
"""

from __future__ import annotations

from . import suno_callbacks, suno_requests, suno_responses
from .suno_callbacks import *  # noqa: F403
from .suno_requests import *  # noqa: F403
from .suno_responses import *  # noqa: F403

__all__ = ["SunoTask"]
__all__ += suno_callbacks.__all__
__all__ += suno_requests.__all__
__all__ += suno_responses.__all__

SunoTask = MusicTask | LyricsTask | VocalRemovalTask | WavTask | Mp4Task | CoverTask  # noqa: F405
"""Any AI Music task record that :meth:`anyint.resources.suno.Suno.wait` can return."""
