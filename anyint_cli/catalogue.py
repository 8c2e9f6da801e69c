"""Every gateway route of the contract (§3), the Prefect task that wraps it and the flows that use
it: what ``anyint-flows routes`` prints.

The table is data, checked by ``tests/cli/test_routes.py`` against three sources of truth: the
contract's master route table (every row here is a documented route, every documented route is
here), the emulator (every route the client speaks, which the emulator serves, has a task), and
the flows themselves (a flow's ``{}`` run on the emulator calls only the routes listed for it).

A task-based route is wrapped by the generic ``submit``/``wait``/``fetch`` tasks with its route
name (``submit suno.extend``: the task-run name the Prefect UI shows); a sync or streaming route
by its own task. Routes the client does not speak (the OpenAI-compatible extras) have no task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["FLOW_ROUTES", "NEEDS", "ROUTES", "GatewayRoute", "flows_using"]

Mode = Literal["sync", "stream", "task", "query"]


@dataclass(frozen=True)
class GatewayRoute:
    """One documented gateway route.

    Attributes:
        method: HTTP method (``*``: the contract lists the path for several methods).
        path: Path template as the contract writes it, without its query string.
        family: Gateway family.
        mode: ``sync`` (one answer), ``stream`` (SSE), ``task`` (creates a gateway task) or
            ``query`` (reads a task's state or output).
        task: The Prefect task (task-run name for the generic task-route tasks), or None.
        needs: The rows of the "How to choose" table it serves (a string: just one).
    """

    method: str
    path: str
    family: str
    mode: Mode
    task: str | None
    needs: tuple[str, ...] | str

    def serves(self, need: str) -> bool:
        """Whether this route serves ``need`` (a key of :data:`NEEDS`)."""
        return need == self.needs if isinstance(self.needs, str) else need in self.needs

    @property
    def key(self) -> str:
        """``"METHOD path"``."""
        return f"{self.method} {self.path}"


#: The page's "How to choose" table: what you need, and where to start.
NEEDS: dict[str, str] = {
    "models": "Find the models your account can use",
    "understand": "Describe or answer questions about images",
    "chat": "Chat, tool use and token counts",
    "image": "Generate an image",
    "video": "Generate a video",
    "song": "Write lyrics and make a song",
    "remix": "Cover, extend or add to your own audio",
    "music-extras": "Stems, WAV, cover art and a music video",
    "music-sync": "Timed lyrics, style prompts and voice personas",
    "openai-extras": "Other OpenAI-compatible endpoints (not wrapped)",
}

_KLING = "/transtreams/kling/v1"
_GEMINI = "/gemini/v1beta/models/{model}"
#: Gemini's generateContent reads images, chats with tools and, with image models, draws.
_ANY = ("understand", "chat", "image")


def _kling(kind: str, route: str, need: str) -> list[GatewayRoute]:
    path = f"{_KLING}/{kind}"
    return [
        GatewayRoute("POST", path, "kling", "task", f"submit kling.{route}", need),
        GatewayRoute("GET", f"{path}/{{task_id}}", "kling", "query", f"wait kling.{route}", need),
    ]


def _suno(route: str, need: str, *, mode: Mode = "task", task: str | None = None) -> GatewayRoute:
    wrapped = task if task is not None else f"submit suno.{route}"
    return GatewayRoute("POST", f"/suno/{route}", "suno", mode, wrapped, need)


def _suno_query(kind: str, waits: str) -> GatewayRoute:
    return GatewayRoute("GET", f"/suno/query/{kind}", "suno", "query", f"wait {waits}", "song")


def _extra(method: str, path: str) -> GatewayRoute:
    return GatewayRoute(method, f"/openai/v1{path}", "openai", "sync", None, "openai-extras")


ROUTES: list[GatewayRoute] = [
    GatewayRoute("GET", "/openai/v1/models", "models", "sync", "list-models", "models"),
    GatewayRoute("GET", "/anthropic/v1/models", "models", "sync", "list-models", "models"),
    _extra("POST", "/chat/completions"),
    _extra("POST", "/responses"),
    _extra("GET", "/responses/{response_id}"),
    _extra("POST", "/embeddings"),
    _extra("POST", "/images/generations"),
    _extra("POST", "/audio/speech"),
    _extra("POST", "/audio/transcriptions"),
    _extra("POST", "/audio/translations"),
    _extra("POST", "/moderations"),
    *(_extra("*", p) for p in ("/files", "/files/{file_id}", "/files/{file_id}/content")),
    *(_extra("*", p) for p in ("/assistants", "/assistants/{assistant_id}")),
    *(
        _extra("*", p)
        for p in (
            "/threads",
            "/threads/{thread_id}",
            "/threads/{thread_id}/messages",
            "/threads/{thread_id}/runs",
        )
    ),
    *(_extra("*", p) for p in ("/batches", "/batches/{batch_id}", "/batches/{batch_id}/cancel")),
    GatewayRoute("POST", "/openai/v1/videos", "videos", "task", "submit videos.create", "video"),
    GatewayRoute(
        "GET", "/openai/v1/videos/{video_id}", "videos", "query", "wait videos.create", "video"
    ),
    GatewayRoute(
        "GET",
        "/openai/v1/videos/{video_id}/content",
        "videos",
        "query",
        "fetch videos.create",
        "video",
    ),
    GatewayRoute(
        "POST",
        "/anthropic/v1/messages",
        "anthropic",
        "sync",
        "anthropic-messages",
        ("understand", "chat"),
    ),
    GatewayRoute(
        "POST", "/anthropic/v1/messages/count_tokens", "anthropic", "sync", "count-tokens", "chat"
    ),
    GatewayRoute("POST", f"{_GEMINI}:generateContent", "gemini", "sync", "gemini-generate", _ANY),
    GatewayRoute(
        "POST", f"{_GEMINI}:streamGenerateContent", "gemini", "stream", "gemini-stream", _ANY
    ),
    GatewayRoute(
        "POST",
        "/dashscope/v1/services/aigc/multimodal-generation/generation",
        "dashscope",
        "sync",
        "dashscope-image",
        "image",
    ),
    GatewayRoute(
        "POST",
        "/dashscope/v1/services/aigc/video-generation/video-synthesis",
        "dashscope",
        "task",
        "submit dashscope.video-synthesis",
        "video",
    ),
    GatewayRoute(
        "GET",
        "/dashscope/v1/tasks/{task_id}",
        "dashscope",
        "query",
        "wait dashscope.video-synthesis",
        "video",
    ),
    *_kling("images/generations", "image", "image"),
    *_kling("images/omni-image", "omni-image", "image"),
    *_kling("videos/text2video", "text2video", "video"),
    *_kling("videos/image2video", "image2video", "video"),
    *_kling("videos/omni-video", "omni-video", "video"),
    _suno("generate", "song"),
    _suno("extend", "song"),
    _suno("generate-lyrics", "song"),
    _suno("timestamped-lyrics", "music-sync", mode="sync", task="timestamped-lyrics"),
    _suno("style-generate", "music-sync", mode="sync", task="style-generate"),
    _suno("generate-cover", "music-extras"),
    _suno("upload-cover", "remix"),
    _suno("upload-extend", "remix"),
    _suno("add-vocals", "remix"),
    _suno("add-instrumental", "remix"),
    _suno("generate-persona", "music-sync", mode="sync", task="generate-persona"),
    _suno("vocal-removal", "music-extras"),
    _suno("split-stem", "music-extras"),
    _suno("replace-section", "song"),
    _suno("wav-generate", "music-extras"),
    _suno("mp4-generate", "music-extras"),
    _suno_query("task", "suno.generate"),
    _suno_query("lyrics", "suno.generate-lyrics"),
    _suno_query("vocal-removal", "suno.vocal-removal"),
    _suno_query("wav", "suno.wav-generate"),
    _suno_query("mp4", "suno.mp4-generate"),
    _suno_query("cover", "suno.generate-cover"),
]


def _keys(*keys: str) -> tuple[str, ...]:
    """Route keys, a bare path meaning ``POST`` and ``~name`` a task route's create and query."""
    out: list[str] = []
    for key in keys:
        if key.startswith("~"):
            out += _TASK_PAIRS[key[1:]]
        else:
            out.append(key if " " in key else f"POST {key}")
    return tuple(out)


#: A task route's create and status query, by route name.
_TASK_PAIRS: dict[str, tuple[str, ...]] = {
    **{
        f"kling.{route}": (f"POST {_KLING}/{kind}", f"GET {_KLING}/{kind}/{{task_id}}")
        for kind, route in (
            ("images/generations", "image"),
            ("images/omni-image", "omni-image"),
            ("videos/text2video", "text2video"),
            ("videos/image2video", "image2video"),
            ("videos/omni-video", "omni-video"),
        )
    },
    "dashscope.video-synthesis": (
        "POST /dashscope/v1/services/aigc/video-generation/video-synthesis",
        "GET /dashscope/v1/tasks/{task_id}",
    ),
    "videos.create": (
        "POST /openai/v1/videos",
        "GET /openai/v1/videos/{video_id}",
        "GET /openai/v1/videos/{video_id}/content",
    ),
    **{
        f"suno.{route}": (f"POST /suno/{route}", f"GET /suno/query/{query}")
        for route, query in (
            ("generate", "task"),
            ("extend", "task"),
            ("replace-section", "task"),
            ("upload-cover", "task"),
            ("upload-extend", "task"),
            ("add-vocals", "task"),
            ("add-instrumental", "task"),
            ("generate-lyrics", "lyrics"),
            ("vocal-removal", "vocal-removal"),
            ("split-stem", "vocal-removal"),
            ("wav-generate", "wav"),
            ("mp4-generate", "mp4"),
            ("generate-cover", "cover"),
        )
    },
}

_MODELS = "GET /openai/v1/models"
_UNDERSTAND = _keys(
    _MODELS,
    "/anthropic/v1/messages",
    f"{_GEMINI}:generateContent",
    f"{_GEMINI}:streamGenerateContent",
)
_IMAGE = _keys(
    _MODELS,
    f"{_GEMINI}:generateContent",
    f"{_GEMINI}:streamGenerateContent",
    "/dashscope/v1/services/aigc/multimodal-generation/generation",
    "~kling.image",
    "~kling.omni-image",
)
_VIDEO = _keys(
    _MODELS,
    "~dashscope.video-synthesis",
    "~kling.text2video",
    "~kling.image2video",
    "~kling.omni-video",
    "~videos.create",
)
_SONG = _keys(_MODELS, "~suno.generate", "~suno.generate-lyrics")
_MUSIC_VIDEO = _SONG + _keys(
    "/suno/style-generate",
    "~suno.extend",
    "~suno.replace-section",
    "~suno.vocal-removal",
    "~suno.split-stem",
    "~suno.wav-generate",
    "~suno.generate-cover",
    "~suno.mp4-generate",
)

#: The routes each flow may call, over all its options (``"METHOD path"`` keys of
#: :data:`ROUTES`); tests/flows/test_flow_routes.py checks a default run stays inside them.
FLOW_ROUTES: dict[str, tuple[str, ...]] = {
    "describe-images": _UNDERSTAND,
    "generate-image": _IMAGE,
    "generate-video": _VIDEO,
    "music-video": _MUSIC_VIDEO,
    "content-brief": _IMAGE + _VIDEO + _MUSIC_VIDEO,
    "batch": _IMAGE,
    "music-remix": _keys(
        _MODELS,
        "~suno.upload-cover",
        "~suno.upload-extend",
        "~suno.add-vocals",
        "~suno.add-instrumental",
    ),
    "karaoke": _SONG + _keys("/suno/timestamped-lyrics"),
    "persona": _SONG + _keys("/suno/generate-persona"),
    # The assistant's model, and whatever its built-in media tools (the flows above) call.
    "assistant": _UNDERSTAND + _IMAGE + _VIDEO + _MUSIC_VIDEO,
}


def flows_using(route: GatewayRoute) -> list[str]:
    """The flows that may call ``route``, sorted."""
    return sorted(name for name, keys in FLOW_ROUTES.items() if route.key in keys)
