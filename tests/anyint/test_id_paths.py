"""Task ids travel as data: percent-encoded in a URL path, form-encoded in a query string.

An id with a space, ``+``, ``=``, ``%`` or non-ASCII must reach the gateway as exactly that id:
a ``%2F`` sent as it is would arrive as ``/`` (another path), a ``+`` in a query as a space.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from anyint import AnyIntClient, APIStatusError

from .conftest import Recorder

ODD_ID = "a b+c=d%2Fe%25f&g;é"
Call = Callable[[AnyIntClient, str], Awaitable[object]]


class _Sink:
    def write(self, data: bytes) -> None:
        pass


CALLS: dict[str, tuple[str, Call]] = {
    "videos.retrieve": ("/openai/v1/videos/", lambda c, i: c.videos.retrieve(i)),
    "videos.content": (
        "/openai/v1/videos/",
        lambda c, i: c.videos.download_content(i, _Sink()),
    ),
    "kling.get_task": (
        "/transtreams/kling/v1/videos/text2video/",
        lambda c, i: c.kling.get_task(i),
    ),
    "dashscope.get_task": ("/dashscope/v1/tasks/", lambda c, i: c.dashscope.get_task(i)),
}


@pytest.mark.parametrize("name", CALLS)
async def test_ids_in_paths_are_one_percent_encoded_segment(
    make_client: Callable[..., AnyIntClient], name: str
) -> None:
    prefix, call = CALLS[name]
    recorder = Recorder(httpx.Response(404, json={"error": {"message": "no such task"}}))
    with pytest.raises(APIStatusError):
        await call(make_client(recorder), ODD_ID)
    path = recorder.requests[0].url.raw_path.decode("ascii").split("?")[0]
    assert path.startswith(prefix), path
    segment = path[len(prefix) :].removesuffix("/content")
    assert "/" not in segment and " " not in segment, segment
    assert unquote(segment) == ODD_ID  # what the gateway's router decodes: the id itself


async def test_ids_in_queries_are_form_encoded(make_client: Callable[..., AnyIntClient]) -> None:
    recorder = Recorder(httpx.Response(404, json={"code": 404, "msg": "not found"}))
    with pytest.raises(APIStatusError):
        await make_client(recorder).suno.get_music_task(ODD_ID)
    query = urlsplit(str(recorder.requests[0].url)).query
    assert parse_qs(query) == {"taskId": [ODD_ID]}


@pytest.mark.parametrize("bad", ["a/b", "..", "x?y", "x#y"])
async def test_ids_that_would_change_the_path_are_refused_before_any_call(
    make_client: Callable[..., AnyIntClient], bad: str
) -> None:
    recorder = Recorder(httpx.Response(500))
    with pytest.raises(ValueError, match="video_id"):
        await make_client(recorder).videos.retrieve(bad)
    assert recorder.requests == []
