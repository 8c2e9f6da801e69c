"""Gateway routes, one thin module per family. Each module exposes ``router``."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

__all__ = ["ROUTERS"]

_MODULES = ("models", "anthropic", "gemini", "dashscope", "kling", "videos", "suno")


def _load() -> list[APIRouter]:
    routers = []
    for name in _MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue  # family not emulated yet
        routers.append(module.router)
    return routers


ROUTERS: list[APIRouter] = _load()
