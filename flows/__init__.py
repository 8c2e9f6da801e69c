"""Prefect flows, one per use case, and :func:`start_run`, which every flow calls first."""

from ._common import ModelNeed, check_models, start_run
from .assistant import assistant
from .batch import batch
from .content_brief import content_brief
from .describe_images import describe_images
from .generate_image import generate_image
from .generate_video import generate_video
from .karaoke import karaoke
from .music_remix import music_remix
from .music_video import music_video
from .persona import persona

__all__ = [
    "ModelNeed",
    "assistant",
    "batch",
    "check_models",
    "content_brief",
    "describe_images",
    "generate_image",
    "generate_video",
    "karaoke",
    "music_remix",
    "music_video",
    "persona",
    "start_run",
]
