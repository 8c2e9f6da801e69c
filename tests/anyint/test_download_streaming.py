"""Asset downloads (scheme, type, cap, checksum, truncation) and SSE framing."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

import anyint
from anyint import AnyIntClient, APIResponseValidationError, DownloadError, download, sniff
from anyint._streaming import aiter_sse_json

from .conftest import BASE_URL, TEST_KEY

MakeClient = Callable[..., AnyIntClient]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


class Chunks(httpx.AsyncByteStream):
    """A response body delivered in fixed-size pieces, optionally failing part-way."""

    def __init__(self, data: bytes, size: int, fail_after: int | None = None) -> None:
        self.data, self.size, self.fail_after = data, size, fail_after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.size):
            if self.fail_after is not None and start >= self.fail_after:
                raise httpx.ReadError("connection reset")
            yield self.data[start : start + self.size]


class Sink:
    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.writes = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        return self.buf.write(data)


def asset(data: bytes, ctype: str = "image/png", size: int = 1000, **kw: object) -> httpx.Response:
    headers = {"content-type": ctype, "content-length": str(len(data))}
    return httpx.Response(200, headers=headers, stream=Chunks(data, size, **kw))  # type: ignore[arg-type]


async def test_download_streams_in_chunks_with_checksum(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return asset(PNG)

    sink = Sink()
    result = await download(
        make_client(handler), "https://cdn.test/a.png", sink, kind="image", chunk_size=1000
    )
    assert sink.buf.getvalue() == PNG and sink.writes > 5
    assert result.bytes == len(PNG) and result.sha256 == hashlib.sha256(PNG).hexdigest()
    assert result.content_type == "image/png"
    # The key goes to the gateway only, never to an asset host.
    assert "authorization" not in seen[0].headers


async def test_gateway_urls_get_the_key(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return asset(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "video/mp4")

    await download(
        make_client(handler), f"{BASE_URL}/openai/v1/videos/v1/content", Sink(), kind="video"
    )
    assert seen[0].headers["authorization"] == f"Bearer {TEST_KEY}"


async def test_async_sink(make_client: MakeClient) -> None:
    got = bytearray()

    class AsyncSink:
        async def write(self, data: bytes) -> None:
            got.extend(data)

    await download(make_client(lambda r: asset(PNG)), "https://cdn.test/a", AsyncSink())
    assert bytes(got) == PNG


@pytest.mark.parametrize(
    "url",
    [
        "ftp://cdn.test/a.png",
        "file:///etc/passwd",
        "http://cdn.test/a",
        "data:image/png;base64,AAAA",
        "//cdn.test/a",
    ],
)
async def test_scheme_refused_before_any_request(make_client: MakeClient, url: str) -> None:
    seen: list[httpx.Request] = []
    client = make_client(lambda r: seen.append(r) or asset(PNG))
    with pytest.raises(DownloadError, match="refusing"):
        await download(client, url, Sink())
    assert seen == []


async def test_plain_http_allowed_when_gateway_is_http(make_client: MakeClient) -> None:
    client = make_client(lambda r: asset(PNG), base_url="http://127.0.0.1:8787")
    result = await download(client, "http://127.0.0.1:8787/_assets/a.png", Sink())
    assert result.bytes == len(PNG)


async def test_redirect_to_bad_scheme_refused(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "ftp://evil.test/x"})

    with pytest.raises(DownloadError, match="refusing"):
        await download(make_client(handler), "https://cdn.test/a", Sink())


async def test_redirect_followed(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/a":
            return httpx.Response(302, headers={"location": "/b"})
        return asset(PNG)

    result = await download(make_client(handler), "https://cdn.test/a", Sink())
    assert result.url == "https://cdn.test/b"


async def test_cap_by_content_length(make_client: MakeClient) -> None:
    sink = Sink()
    with pytest.raises(DownloadError, match="cap"):
        await download(make_client(lambda r: asset(PNG)), "https://cdn.test/a", sink, max_bytes=100)
    assert sink.writes == 0


async def test_cap_while_streaming_without_length(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "image/png"}, stream=Chunks(PNG, 1000))  # type: ignore[arg-type]

    sink = Sink()
    with pytest.raises(DownloadError, match="cap"):
        await download(
            make_client(handler), "https://cdn.test/a", sink, max_bytes=2500, chunk_size=1000
        )
    assert sink.buf.tell() <= 2500


async def test_truncated_body_is_retryable_error(make_client: MakeClient) -> None:
    client = make_client(lambda r: asset(PNG, fail_after=3000))
    with pytest.raises(DownloadError, match="cut short") as info:
        await download(client, "https://cdn.test/a", Sink())
    assert info.value.retryable


async def test_wrong_type_refused(make_client: MakeClient) -> None:
    with pytest.raises(DownloadError, match="expected audio"):
        await download(
            make_client(lambda r: asset(PNG)), "https://cdn.test/a", Sink(), kind="audio"
        )


async def test_generic_type_is_sniffed(make_client: MakeClient) -> None:
    client = make_client(lambda r: asset(PNG, "application/octet-stream"))
    result = await download(client, "https://cdn.test/a", Sink(), kind="image")
    assert result.content_type == "image/png"
    with pytest.raises(DownloadError, match="expected video"):
        await download(client, "https://cdn.test/a", Sink(), kind="video")


@pytest.mark.parametrize("status", [403, 404])
async def test_expired_url_raises_status_error(make_client: MakeClient, status: int) -> None:
    client = make_client(lambda r: httpx.Response(status, text="expired"))
    with pytest.raises(anyint.APIStatusError) as info:
        await download(client, "https://cdn.test/a", Sink())
    assert info.value.status_code == status
    assert "expired" in info.value.message  # the host's own words reach the caller


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a..", "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"RIFF\0\0\0\0WAVEfmt ", "audio/wav"),
        (b"ID3\x04\0", "audio/mpeg"),
        (b"\xff\xfb\x90\x00", "audio/mpeg"),
        (b"\0\0\0\x20ftypisom", "video/mp4"),
        (b"hello", None),
    ],
)
def test_sniff(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


# -- SSE ----------------------------------------------------------------------------------------

EVENTS = [
    ("message_start", {"type": "message_start", "message": {"id": "m1"}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "delta": {"text": "héllo\nworld"}}),
    ("message_stop", {"type": "message_stop"}),
]


REQ = httpx.Request("POST", "https://gateway.test/stream")


def sse_bytes(events: list[tuple[str, object]], newline: str = "\n") -> bytes:
    out = ""
    for name, data in events:
        out += (
            f"event: {name}{newline}data: {json.dumps(data, ensure_ascii=False)}{newline}{newline}"
        )
    return out.encode()


async def collect(body: bytes, size: int) -> list[tuple[str, object]]:
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=Chunks(body, size), request=REQ
    )  # type: ignore[arg-type]
    return [(m.event, m.data) async for m in aiter_sse_json(response)]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
async def test_sse_survives_every_chunk_boundary(newline: str) -> None:
    body = sse_bytes(EVENTS, newline)
    expected = [e for e in EVENTS if e[0] != "ping"]
    for size in range(1, len(body) + 1):
        assert await collect(body, size) == expected, f"chunk size {size}"


async def test_sse_mid_stream_error_is_typed() -> None:
    body = sse_bytes(
        [
            EVENTS[0],
            ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}),
        ]
    )
    with pytest.raises(anyint.InternalServerError, match="busy") as info:
        await collect(body, 7)
    assert info.value.status_code == 529 and info.value.retryable


async def test_sse_gemini_error_and_done_sentinel() -> None:
    body = b'data: {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}\n\n'
    with pytest.raises(anyint.RateLimitError):
        await collect(body, 5)
    assert await collect(b"data: [DONE]\n\n", 3) == []


async def test_sse_bad_json_and_wrong_content_type() -> None:
    with pytest.raises(APIResponseValidationError, match="not JSON"):
        await collect(b"data: {oops\n\n", 4)
    response = httpx.Response(
        200, headers={"content-type": "application/json"}, content=b"{}", request=REQ
    )
    with pytest.raises(APIResponseValidationError):
        _ = [m async for m in aiter_sse_json(response)]
