"""One raw create call per task route, and how to read and query the task it makes.

The id and fault tests run the same checks over every family's create route; keeping the bodies
here keeps those tests about behaviour rather than request shapes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx

from anyint.types.suno import PLACEHOLDER_CALLBACK_URL
from emulator.media import png

from .conftest import AUTH

KLING = "/transtreams/kling/v1"
_FIRST_FRAME = base64.b64encode(png(64, 48, seed=3)).decode()


@dataclass(frozen=True)
class Create:
    """A create route, a valid body for it, and where its task is polled.

    Attributes:
        path: The create route.
        body: A valid JSON body.
        family: Timing family (``/_emulator/timing``) and error envelope.
        query: Query path, ``{id}`` standing for the task id.
    """

    path: str
    body: dict[str, Any]
    family: str
    query: str

    def task_id(self, answer: dict[str, Any]) -> str:
        """The task id in a successful create answer."""
        if self.family == "suno":
            return str(answer["data"]["taskId"])
        if self.family == "dashscope":
            return str(answer["output"]["task_id"])
        if self.family == "kling":
            return str(answer["data"]["task_id"])
        return str(answer["id"])

    async def post(self, raw: httpx.AsyncClient) -> httpx.Response:
        """Send the create call."""
        return await raw.post(self.path, json=self.body, headers=AUTH)

    async def poll(self, raw: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
        """One query of the task; the answer must be HTTP 200."""
        response = await raw.get(self.query.format(id=task_id), headers=AUTH)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


SONG = {
    "customMode": False,
    "instrumental": False,
    "model": "V5",
    "prompt": "A bright summer pop song about travel",
    "callBackUrl": PLACEHOLDER_CALLBACK_URL,
}

#: Every create route that needs no parent task, by a short name.
CREATES: dict[str, Create] = {
    "suno-generate": Create("/suno/generate", SONG, "suno", "/suno/query/task?taskId={id}"),
    "suno-lyrics": Create(
        "/suno/generate-lyrics",
        {"prompt": "rain on a tin roof", "callBackUrl": PLACEHOLDER_CALLBACK_URL},
        "suno",
        "/suno/query/lyrics?taskId={id}",
    ),
    "dashscope-video": Create(
        "/dashscope/v1/services/aigc/video-generation/video-synthesis",
        {"model": "wan2.6-t2v", "input": {"prompt": "a fox in snow"}},
        "dashscope",
        "/dashscope/v1/tasks/{id}",
    ),
    "kling-text2video": Create(
        f"{KLING}/videos/text2video",
        {"model_name": "kling-v3", "prompt": "a fox in snow", "duration": "2"},
        "kling",
        f"{KLING}/videos/text2video/{{id}}",
    ),
    "kling-image2video": Create(
        f"{KLING}/videos/image2video",
        {"model_name": "kling-v3", "prompt": "it moves", "image": _FIRST_FRAME, "duration": 2},
        "kling",
        f"{KLING}/videos/image2video/{{id}}",
    ),
    "kling-omni-video": Create(
        f"{KLING}/videos/omni-video",
        {"model_name": "kling-v3-omni", "prompt": "a drum solo", "duration": "3"},
        "kling",
        f"{KLING}/videos/omni-video/{{id}}",
    ),
    "kling-image": Create(
        f"{KLING}/images/generations",
        {"model_name": "kling-v2-1", "prompt": "a lighthouse"},
        "kling",
        f"{KLING}/images/generations/{{id}}",
    ),
    "videos": Create(
        "/openai/v1/videos",
        {"model": "kling-3.0", "prompt": "a fox in snow", "duration": 2},
        "videos",
        "/openai/v1/videos/{id}",
    ),
}


async def instant(raw: httpx.AsyncClient, *families: str) -> None:
    """Make tasks of these families terminal at once."""
    for family in families or ("suno", "dashscope", "kling", "videos"):
        response = await raw.post("/_emulator/timing", json={"family": family, "after_seconds": 0})
        response.raise_for_status()


async def fault(raw: httpx.AsyncClient, match: str, kind: str, **extra: Any) -> None:
    """Queue a fault through the control plane."""
    response = await raw.post("/_emulator/faults", json={"match": match, "fault": kind, **extra})
    assert response.status_code == 200, response.text


async def calls(raw: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The call log."""
    log: list[dict[str, Any]] = (await raw.get("/_emulator/calls")).json()["calls"]
    return log


async def tasks(raw: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """``GET /_emulator/tasks`` by task id."""
    listed = (await raw.get("/_emulator/tasks")).json()["tasks"]
    return {t["id"]: t for t in listed}
