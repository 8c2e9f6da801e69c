"""Every download has one total time budget, and the key goes only to the gateway's origin.

The budget tests use the emulator on a real loopback socket with its ``trickle`` fault: the body
comes in 64-byte pieces, each well inside the client's read timeout, so only the total deadline
can stop it. The credential tests record the headers each redirect hop received (a
``MockTransport`` stands in for the network; ``download`` is the thing under test).
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from anyint import AnyIntClient, DownloadError, PollSchedule, download
from anyint._download import DEFAULT_MAX_BYTES, display_url, download_budget
from blocks import AssetStore
from emulator.server import ThreadedEmulatorServer

from .conftest import BASE_URL, TEST_KEY, inject_fault

MakeClient = Callable[..., AnyIntClient]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16  # 4 KiB: 65 pieces of 64 bytes
#: A trickle piece every 0.1 s: 65 pieces take 6.5 s at the very least, far past the budget.
PIECE_SECONDS = 0.1
BUDGET = 1.0
#: Slack above the budget for a loaded machine; the trickle itself would take 6.5 s.
SLACK = 3.0
SIGNED = "?X-Amz-Signature=sig-canary-0f3e&X-Amz-Credential=AKIACANARY"


class Sink:
    def __init__(self) -> None:
        self.buf = io.BytesIO()

    def write(self, data: bytes) -> int:
        return self.buf.write(data)


@pytest.fixture
async def client(server: ThreadedEmulatorServer) -> AsyncIterator[AnyIntClient]:
    # A read timeout five times the trickle's interval: it never trips.
    async with AnyIntClient(TEST_KEY, server.base_url, timeout=0.5) as c:
        yield c


async def trickle(server: ThreadedEmulatorServer, match: str) -> None:
    await inject_fault(server, match, fault="trickle", seconds=PIECE_SECONDS)


def served(server: ThreadedEmulatorServer, data: bytes = PNG) -> str:
    return server.app.backend.serve(server.base_url, "k", "a.png", "image/png", lambda: data)


# -- the budget -----------------------------------------------------------------------------------


async def test_trickling_asset_fails_within_its_budget(
    server: ThreadedEmulatorServer, client: AnyIntClient
) -> None:
    url = served(server)
    await trickle(server, "GET /_assets/*")
    sink = Sink()
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"within its 1\.0 s budget") as info:
        await download(client, url + SIGNED, sink, kind="image", budget_seconds=BUDGET)
    elapsed = time.monotonic() - start
    assert BUDGET <= elapsed < BUDGET + SLACK, elapsed
    assert 0 < sink.buf.tell() < len(PNG)  # it was trickling, not refused
    error = info.value
    # Named, without the query that carries a presigned URL's credentials.
    assert url in str(error) and error.url == url
    for text in (str(error), repr(error), error.url):
        assert "sig-canary" not in text and "AKIACANARY" not in text
    # Not retryable: a retry would open a fresh budget, multiplying the deadline.
    assert not error.retryable
    # Asset downloads, trickled or not, stay out of the gateway call log.
    assert server.app.backend.calls == []


async def test_normal_download_passes_within_the_same_budget(
    server: ThreadedEmulatorServer, client: AnyIntClient
) -> None:
    sink = Sink()
    result = await download(client, served(server), sink, kind="image", budget_seconds=BUDGET)
    assert sink.buf.getvalue() == PNG and result.bytes == len(PNG)


async def test_only_trickle_applies_to_assets(
    server: ThreadedEmulatorServer, client: AnyIntClient
) -> None:
    """Other faults model the gateway, not its asset host: they stay queued for gateway calls."""
    async with httpx.AsyncClient(base_url=server.base_url) as control:
        fault = {"match": "GET /_assets/*", "fault": "status", "status": 500}
        assert (await control.post("/_emulator/faults", json=fault)).status_code == 200
    result = await download(client, served(server), Sink(), budget_seconds=BUDGET)
    assert result.bytes == len(PNG) and len(server.app.backend.faults) == 1


async def test_trickling_gateway_route_fails_within_its_budget(
    server: ThreadedEmulatorServer, client: AnyIntClient
) -> None:
    created = await client.videos.create(model="kling-3.0", prompt="a paper boat", duration=1)
    schedule = PollSchedule(initial=0.01, max_interval=0.05, deadline=10)
    await client.videos.wait(created.id, schedule=schedule)
    await trickle(server, "GET /openai/v1/videos/*/content")
    url = f"{server.base_url}/openai/v1/videos/{created.id}/content"
    start = time.monotonic()
    with pytest.raises(DownloadError, match="budget") as info:
        await download(client, url, Sink(), kind="video", budget_seconds=BUDGET)
    assert BUDGET <= time.monotonic() - start < BUDGET + SLACK
    assert url in str(info.value)
    (call,) = [c for c in server.app.backend.calls if c.path.endswith("/content")]
    assert call.fault == "trickle" and call.status == 200


async def test_store_budget_setting_reaches_the_download(
    server: ThreadedEmulatorServer, client: AnyIntClient
) -> None:
    """The block's setting is what the download gets; nothing is left in the store."""
    store = AssetStore(
        base_url=f"memory://deadline-{uuid.uuid4().hex}",
        download_base_seconds=BUDGET,
        download_min_bytes_per_second=DEFAULT_MAX_BYTES * 1000,  # the cap adds 1 ms
    )
    await trickle(server, "GET /_assets/*")
    start = time.monotonic()
    with pytest.raises(DownloadError, match="budget"):
        await store.download(client, served(server), "assets/a.png", kind="image")
    assert time.monotonic() - start < BUDGET + SLACK
    assert store.list() == [] and not store.exists("assets/a.png")


def test_budget_grows_with_the_cap() -> None:
    assert download_budget(0) == 60.0
    # The 2 GiB default cap: a multi-GB video at ~4 Mbit/s fits (about 69 minutes).
    assert 3600 < download_budget(DEFAULT_MAX_BYTES) < 2 * 3600
    assert download_budget(10_000, base_seconds=1, min_bytes_per_second=1000) == 11.0
    store = AssetStore(download_base_seconds=2, download_min_bytes_per_second=100)
    assert store.download_budget(1000) == 12.0
    with pytest.raises(ValueError, match="min_bytes_per_second"):
        download_budget(1, min_bytes_per_second=0)


async def test_negative_budget_refused_before_any_request(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    client = make_client(handler)
    with pytest.raises(ValueError, match="budget_seconds"):
        await download(client, "https://cdn.test/a", Sink(), budget_seconds=-1)
    assert seen == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://cdn.test/a/b.mp4?X-Amz-Signature=s#frag", "https://cdn.test/a/b.mp4"),
        ("https://user:pw@cdn.test:8443/a", "https://cdn.test:8443/a"),
        ("http://[::1]:9/x?t=1", "http://[::1]:9/x"),
        ("ftp://cdn.test/a?token=1", "ftp://cdn.test/a"),
    ],
)
def test_display_url(url: str, shown: str) -> None:
    assert display_url(url) == shown


async def test_every_download_error_names_the_url_without_query(make_client: MakeClient) -> None:
    page = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>")
    client = make_client(lambda r: page)
    with pytest.raises(DownloadError, match="expected image") as info:
        await download(client, "https://cdn.test/a.png" + SIGNED, Sink(), kind="image")
    assert "https://cdn.test/a.png" in str(info.value) and "canary" not in str(info.value)
    expired = make_client(lambda r: httpx.Response(403, text="expired"))
    with pytest.raises(Exception, match="expired") as status:
        await download(expired, "https://cdn.test/a.png" + SIGNED, Sink())
    assert "https://cdn.test/a.png" in str(status.value) and "canary" not in str(status.value)


# -- credentials only to the gateway's origin, per hop ----------------------------------------


class Hops:
    """A network of redirects: ``routes`` maps a URL to the URL it redirects to; any other URL
    answers a PNG. Records whether each hop carried the key."""

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = routes
        self.keyed: list[tuple[str, bool]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.keyed.append((url, "authorization" in request.headers))
        if url in self.routes:
            return httpx.Response(302, headers={"location": self.routes[url]})
        return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG)


GW = BASE_URL  # https://gateway.test


@pytest.mark.parametrize(
    ("start", "routes", "expected"),
    [
        pytest.param(
            f"{GW}/v/1/content",
            {f"{GW}/v/1/content": f"{GW}/v/1/file"},
            [True, True],
            id="gateway-to-gateway",
        ),
        pytest.param(
            "https://cdn.test/a",
            {"https://cdn.test/a": f"{GW}/v/1/content"},
            [False, False],
            id="foreign-to-gateway",
        ),
        pytest.param(
            f"{GW}/v/1/content",
            {f"{GW}/v/1/content": "https://cdn.test/a", "https://cdn.test/a": f"{GW}/v/2"},
            [True, False, False],
            id="gateway-foreign-gateway",
        ),
        pytest.param(
            f"{GW}/v/1/content",
            {f"{GW}/v/1/content": "https://gateway.test:8443/v/1"},
            [True, False],
            id="port-change",
        ),
        pytest.param(
            f"{GW}/v/1/content",
            {f"{GW}/v/1/content": "https://gateway.test.evil.test/v/1"},
            [True, False],
            id="lookalike-host",
        ),
    ],
)
async def test_key_per_hop(
    make_client: MakeClient, start: str, routes: dict[str, str], expected: list[bool]
) -> None:
    hops = Hops(routes)
    await download(make_client(hops), start, Sink(), kind="image")
    assert [keyed for _, keyed in hops.keyed] == expected, hops.keyed


async def test_scheme_change_on_an_http_gateway_drops_the_key(make_client: MakeClient) -> None:
    gateway = "http://127.0.0.1:8787"
    hops = Hops(
        {
            f"{gateway}/v/1": "https://127.0.0.1:8787/v/1",
            "https://127.0.0.1:8787/v/1": f"{gateway}/v/2",
        }
    )
    await download(make_client(hops, base_url=gateway), f"{gateway}/v/1", Sink())
    assert [keyed for _, keyed in hops.keyed] == [True, False, False], hops.keyed


async def test_https_gateway_never_follows_to_http(make_client: MakeClient) -> None:
    hops = Hops({f"{GW}/v/1": "http://gateway.test/v/1"})
    with pytest.raises(DownloadError, match="refusing"):
        await download(make_client(hops), f"{GW}/v/1", Sink())
    assert hops.keyed == [(f"{GW}/v/1", True)]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://gateway.test/api/x", True),
        ("https://GATEWAY.test:443/api/x", True),
        ("https://gateway.test/api", True),
        ("https://gateway.test/api/../admin", False),
        ("https://gateway.test/api%2F..%2Fadmin", False),
        ("https://gateway.test/apix", False),
        ("https://gateway.test/other", False),
        ("http://gateway.test/api/x", False),
        ("https://gateway.test:8443/api/x", False),
        ("https://gateway.test.evil.test/api/x", False),
        ("https://gateway.test@evil.test/api/x", False),
        ("https://evil.test/https://gateway.test/api/x", False),
        ("/api/x", False),
        ("https://gateway.test:notaport/api", False),
    ],
)
def test_is_gateway_url_compares_origin_and_base_path(url: str, ok: bool) -> None:
    client = AnyIntClient(
        TEST_KEY, "https://gateway.test/api", transport=httpx.MockTransport(Hops({}))
    )
    assert client.is_gateway_url(url) is ok
