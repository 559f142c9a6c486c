"""Frame sources over HTTP (snapshot, MJPEG, MCU tiles) against real servers on loopback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import socket
import time
from datetime import UTC

import aiohttp
import cv2
import numpy as np
import pytest
from aiohttp import web

from workers.sources import (
    GrabFailure,
    SourceError,
    SourceFactory,
    check_stream_url,
    open_source,
)
from workers.sources.backoff import Backoff
from workers.sources.mjpeg import MjpegSource, MultipartParser

TILE_COLOURS = [  # RGB, one per tile of a 4×4 composite, row by row
    (230, 25, 25), (25, 230, 25), (25, 25, 230), (230, 230, 25),
    (230, 25, 230), (25, 230, 230), (128, 128, 128), (240, 240, 240),
    (128, 25, 25), (25, 128, 25), (25, 25, 128), (128, 128, 25),
    (128, 25, 128), (25, 128, 128), (64, 64, 64), (200, 120, 40),
]  # fmt: skip


def encode_jpeg(rgb: np.ndarray) -> bytes:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return data.tobytes()


def numbered_jpeg(number: int) -> bytes:
    """A small grey JPEG whose level encodes `number` (0–63), robust to compression."""
    return encode_jpeg(np.full((16, 16, 3), number * 4, np.uint8))


def number_of(jpeg: bytes) -> int:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable JPEG"
    return round(float(image.mean()) / 4)


def composite_jpeg() -> bytes:
    image = np.zeros((240, 320, 3), np.uint8)  # tiles of 80×60
    for index, colour in enumerate(TILE_COLOURS):
        row, col = divmod(index, 4)
        image[row * 60 : (row + 1) * 60, col * 80 : (col + 1) * 80] = colour
    return encode_jpeg(image)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def failure_of(coro) -> SourceError:
    with pytest.raises(SourceError) as caught:
        asyncio.run(coro)
    return caught.value


async def grab_once(url: str, timeout: float = 2.0, options: dict | None = None):
    async with aiohttp.ClientSession() as http:
        source = open_source(url, options, http)
        try:
            return await source.grab(timeout)
        finally:
            await source.close()


def mjpeg_part(jpeg: bytes, length: bool = True) -> bytes:
    head = b"--frame\r\nContent-Type: image/jpeg\r\n"
    if length:
        head += b"Content-Length: %d\r\n" % len(jpeg)
    return head + b"\r\n" + jpeg + b"\r\n"


async def start_mjpeg(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "multipart/x-mixed-replace; boundary=frame"}
    )
    await response.prepare(request)
    return response


async def send_parts(response: web.StreamResponse, parts, interval: float = 0.05) -> None:
    """Write MJPEG parts at a camera's pace until done or the client hangs up."""
    with contextlib.suppress(ConnectionError):
        for part in parts:
            await response.write(part)
            await asyncio.sleep(interval)


# --- HTTP snapshot -------------------------------------------------------------------------


def test_snapshot_returns_the_jpeg_as_received(serve):
    """The JPEG is not decoded here (the worker pool does it); meta says what and where."""
    body = numbered_jpeg(7)

    async def snap(request):
        return web.Response(body=body, content_type="image/jpeg")

    async def main():
        async with serve([web.get("/snap.jpg", snap)]) as base:
            return await grab_once(f"{base}/snap.jpg")

    frame = asyncio.run(main())
    assert frame.jpeg == body and frame.image is None
    assert frame.captured_at.tzinfo is UTC
    assert frame.meta["kind"] == "snapshot" and frame.meta["format"] == "jpeg"


def test_snapshot_basic_auth_comes_from_the_url_and_the_password_is_never_shown(serve, caplog):
    """user:pass in the URL becomes an Authorization header; meta, messages and logs mask it."""
    expected = "Basic " + base64.b64encode(b"operator:s3cr@t pw").decode()

    async def snap(request):
        if request.headers.get("Authorization") != expected:
            raise web.HTTPUnauthorized()
        return web.Response(body=numbered_jpeg(1), content_type="image/jpeg")

    async def main():
        async with serve([web.get("/snap.jpg", snap)]) as base:
            host = base.removeprefix("http://")
            good = await grab_once(f"http://operator:s3cr%40t%20pw@{host}/snap.jpg")
            with pytest.raises(SourceError) as wrong:
                await grab_once(f"http://operator:wrong@{host}/snap.jpg")
            return good, wrong.value

    caplog.set_level(logging.DEBUG)
    good, wrong = asyncio.run(main())
    assert good.jpeg is not None
    assert good.meta["url"].startswith("http://operator:***@")
    assert wrong.failure is GrabFailure.NO_FRAME and "401" in str(wrong)
    assert "s3cr" not in caplog.text and "wrong" not in caplog.text


def test_snapshot_sends_the_headers_from_options(serve):
    async def snap(request):
        if request.headers.get("X-Api-Key") != "k-123":
            raise web.HTTPForbidden()
        return web.Response(body=numbered_jpeg(1), content_type="image/jpeg")

    async def main():
        async with serve([web.get("/snap", snap)]) as base:
            return await grab_once(f"{base}/snap", options={"headers": {"X-Api-Key": "k-123"}})

    assert asyncio.run(main()).jpeg is not None


def test_snapshot_http_error_is_no_frame(serve):
    async def broken(request):
        raise web.HTTPInternalServerError()

    async def main():
        async with serve([web.get("/snap", broken)]) as base:
            await grab_once(f"{base}/snap")

    error = failure_of(main())
    assert error.failure is GrabFailure.NO_FRAME and "HTTP 500" in str(error)


def test_slow_snapshot_times_out_within_the_timeout(serve):
    async def slow(request):
        await asyncio.sleep(1.5)
        return web.Response(body=numbered_jpeg(1), content_type="image/jpeg")

    async def main():
        async with serve([web.get("/snap", slow)]) as base:
            start = time.monotonic()
            with pytest.raises(SourceError) as caught:
                await grab_once(f"{base}/snap", timeout=0.5)
            return caught.value, time.monotonic() - start

    error, elapsed = asyncio.run(main())
    assert error.failure is GrabFailure.TIMEOUT
    assert elapsed < 0.9


def test_snapshot_that_is_not_an_image_is_a_decode_error(serve):
    async def garbage(request):
        return web.Response(body=b"<html>camera busy</html>", content_type="image/jpeg")

    async def main():
        async with serve([web.get("/snap", garbage)]) as base:
            await grab_once(f"{base}/snap")

    error = failure_of(main())
    assert error.failure is GrabFailure.DECODE_ERROR and "not a JPEG or PNG" in str(error)


def test_png_snapshot_is_accepted(serve):
    _, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))

    async def snap(request):
        return web.Response(body=png.tobytes(), content_type="image/png")

    async def main():
        async with serve([web.get("/snap", snap)]) as base:
            return await grab_once(f"{base}/snap")

    assert asyncio.run(main()).meta["format"] == "png"


def test_truncated_snapshot_is_never_a_frame(serve):
    """Half a JPEG: a complete response of half the bytes is a DECODE_ERROR (no end marker);
    a connection dropped before the announced length is an ERROR."""
    body = numbered_jpeg(9)

    async def half_chunked(request):
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        await response.write_eof()
        return response

    async def half_then_hang_up(request):
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        request.transport.close()
        return response

    async def main(path):
        routes = [web.get("/chunked", half_chunked), web.get("/hangup", half_then_hang_up)]
        async with serve(routes) as base:
            await grab_once(f"{base}{path}")

    assert failure_of(main("/chunked")).failure is GrabFailure.DECODE_ERROR
    assert failure_of(main("/hangup")).failure in (GrabFailure.ERROR, GrabFailure.DECODE_ERROR)


def test_refused_connection_is_an_error():
    error = failure_of(grab_once(f"http://127.0.0.1:{closed_port()}/snap.jpg"))
    assert error.failure is GrabFailure.ERROR and "cannot connect" in str(error)


def test_snapshot_url_that_serves_mjpeg_switches_to_streaming(serve):
    connections = 0

    async def stream(request):
        nonlocal connections
        connections += 1
        response = await start_mjpeg(request)
        await send_parts(response, (mjpeg_part(numbered_jpeg(n % 64)) for n in range(1, 1000)))
        return response

    async def main():
        async with serve([web.get("/video", stream)]) as base, aiohttp.ClientSession() as http:
            source = open_source(f"{base}/video", None, http)
            first = await source.grab(2.0)
            second = await source.grab(2.0)
            await source.close()
            return first, second

    first, second = asyncio.run(main())
    assert first.meta["kind"] == second.meta["kind"] == "mjpeg"
    assert number_of(first.jpeg) >= 1
    assert connections == 2  # the probe, then the stream kept open for both grabs


# --- MJPEG ---------------------------------------------------------------------------------


def test_mjpeg_grab_returns_the_newest_frame_not_a_backlog(serve):
    """At 20 fps, a grab 0.5 s after the first returns a frame sent within the last ~2 frames."""
    sent = 0

    def numbered_parts():
        nonlocal sent
        while sent < 63:
            sent += 1
            yield mjpeg_part(numbered_jpeg(sent))

    async def stream(request):
        response = await start_mjpeg(request)
        await send_parts(response, numbered_parts())
        return response

    async def main():
        async with serve([web.get("/video", stream)]) as base, aiohttp.ClientSession() as http:
            source = MjpegSource(f"{base}/video", None, http)
            first = number_of((await source.grab(2.0)).jpeg)
            await asyncio.sleep(0.5)
            second = number_of((await source.grab(2.0)).jpeg)
            latest_sent = sent
            await source.close()
            return first, second, latest_sent

    first, second, latest_sent = asyncio.run(main())
    assert second >= first + 6
    assert second >= latest_sent - 2


def test_mjpeg_stream_cut_mid_frame_reconnects_and_never_returns_the_partial_frame(serve):
    connections = 0

    async def stream(request):
        nonlocal connections
        connections += 1
        response = await start_mjpeg(request)
        if connections == 1:
            cut = mjpeg_part(numbered_jpeg(4))
            whole = [mjpeg_part(numbered_jpeg(n)) for n in (1, 2, 3)]
            await send_parts(response, [*whole, cut[: len(cut) // 2]])
            request.transport.close()
        else:
            await send_parts(response, (mjpeg_part(numbered_jpeg(n), False) for n in range(40, 64)))
        return response

    async def main():
        async with serve([web.get("/video", stream)]) as base, aiohttp.ClientSession() as http:
            source = MjpegSource(f"{base}/video", None, http, backoff=Backoff(initial=0.1))
            seen = []
            end = time.monotonic() + 1.5
            while time.monotonic() < end and (not seen or seen[-1] < 45):
                try:
                    seen.append(number_of((await source.grab(0.5)).jpeg))
                except SourceError as exc:
                    assert exc.failure is GrabFailure.ERROR  # while the stream is down
                await asyncio.sleep(0.03)
            await source.close()
            return seen

    seen = asyncio.run(main())
    assert connections >= 2
    assert 4 not in seen  # the frame cut in half
    assert seen[-1] >= 45  # frames from the second connection


def test_mjpeg_close_leaves_no_task_running(serve):
    async def stream(request):
        response = await start_mjpeg(request)
        await send_parts(response, [mjpeg_part(numbered_jpeg(1))] * 100)
        return response

    async def main():
        async with serve([web.get("/video", stream)]) as base, aiohttp.ClientSession() as http:
            source = MjpegSource(f"{base}/video", None, http)
            await source.grab(2.0)
            await source.close()
            readers = [t for t in asyncio.all_tasks() if "Mjpeg" in t.get_coro().__qualname__]
            with pytest.raises(SourceError):
                await source.grab(0.1)
            return readers

    assert asyncio.run(main()) == []


def test_mjpeg_grab_while_reconnecting_fails_at_once_with_the_reason(serve):
    """A grab during the backoff does not wait out its timeout when no reconnect is due
    before it: the camera's 404 is NO_FRAME, a refused connection is ERROR."""

    async def missing(request):
        raise web.HTTPNotFound()

    async def grab_twice(url):
        async with aiohttp.ClientSession() as http:
            source = MjpegSource(url, None, http, backoff=Backoff(initial=10))
            errors = []
            for _ in range(2):
                start = time.monotonic()
                with pytest.raises(SourceError) as caught:
                    await source.grab(1.0)
                errors.append((caught.value, time.monotonic() - start))
            await source.close()
            return errors

    async def main():
        async with serve([web.get("/video", missing)]) as base:
            return await grab_twice(f"{base}/video")

    (first, t1), (second, t2) = asyncio.run(main())
    assert first.failure is second.failure is GrabFailure.NO_FRAME
    assert "404" in str(second) and "reconnecting in" in str(second)
    assert t1 < 0.5 and t2 < 0.1
    [(refused, _), _] = asyncio.run(grab_twice(f"http://127.0.0.1:{closed_port()}/video"))
    assert refused.failure is GrabFailure.ERROR


def test_mjpeg_part_over_the_size_cap_is_a_decode_error(serve):
    async def stream(request):
        response = await start_mjpeg(request)
        big = encode_jpeg(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8))
        await send_parts(response, [mjpeg_part(big)] * 40)
        return response

    async def main():
        async with serve([web.get("/video", stream)]) as base, aiohttp.ClientSession() as http:
            source = MjpegSource(f"{base}/video", None, http, max_part=10_000)
            try:
                await source.grab(0.5)
            finally:
                await source.close()

    error = failure_of(main())
    assert error.failure is GrabFailure.DECODE_ERROR and "limit" in str(error)


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_multipart_parser_returns_only_complete_parts(chunk):
    """With or without Content-Length, any chunking; the cut last part is not returned, and an
    oversized part is reported and skipped."""
    a, b, c = numbered_jpeg(1), numbered_jpeg(2), numbered_jpeg(3)
    huge = b"\xff\xd8" + bytes(3000) + b"\xff\xd9"
    stream = (
        b"preamble junk\r\n"
        + mjpeg_part(a)
        + mjpeg_part(huge)
        + mjpeg_part(b, length=False)
        + mjpeg_part(huge, length=False)
        + mjpeg_part(c, length=False)
        + b"--frame\r\n\r\n"  # a part without headers
        + a
        + b"\r\n--frame\r\nContent-Length: 999\r\n\r\n\xff\xd8 cut off"
    )
    parser = MultipartParser(b"frame", max_part=2000)
    parts = []
    for start in range(0, len(stream), chunk):
        parts += parser.feed(stream[start : start + chunk])
    good = [p for p in parts if isinstance(p, bytes)]
    bad = [p for p in parts if isinstance(p, SourceError)]
    assert good == [a, b, c, a]
    assert len(bad) == 2 and all(e.failure is GrabFailure.DECODE_ERROR for e in bad)


# --- MCU composite tiles -------------------------------------------------------------------


def mean_colour(image: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in image.reshape(-1, 3).mean(axis=0).round())


def assert_colour(image: np.ndarray, expected: tuple[int, int, int]) -> None:
    assert all(abs(a - b) <= 12 for a, b in zip(mean_colour(image), expected, strict=True)), (
        mean_colour(image),
        expected,
    )


def test_tiles_of_a_composite_have_their_colours(serve):
    body = composite_jpeg()

    async def snap(request):
        return web.Response(body=body, content_type="image/jpeg")

    async def main():
        async with serve([web.get("/mcu.jpg", snap)]) as base:
            tiles = ["#grid=4x4&tile=0", "#grid=4x4&tile=15", "#rect=0.25,0.25,0.25,0.25"]
            return [await grab_once(f"{base}/mcu.jpg{tile}") for tile in tiles]

    first, last, rect = asyncio.run(main())
    assert first.image.shape == (60, 80, 3)
    assert_colour(first.image[5:-5, 5:-5], TILE_COLOURS[0])
    assert_colour(last.image[5:-5, 5:-5], TILE_COLOURS[15])
    assert_colour(rect.image[5:-5, 5:-5], TILE_COLOURS[5])
    assert first.meta["kind"] == "tile" and first.meta["box"] == (0, 0, 80, 60)
    assert last.meta["box"] == (240, 180, 80, 60)


def test_sixteen_tiles_cost_one_request_per_slot(serve):
    requests = 0

    async def snap(request):
        nonlocal requests
        requests += 1
        return web.Response(body=composite_jpeg(), content_type="image/jpeg")

    async def main():
        async with serve([web.get("/mcu.jpg", snap)]) as base, aiohttp.ClientSession() as http:
            factory = SourceFactory(http, composite_max_age=0.3)
            tiles = [factory.open(f"{base}/mcu.jpg#grid=4x4&tile={i}") for i in range(16)]
            first_slot = await asyncio.gather(*(tile.grab(2.0) for tile in tiles))
            after_first = requests
            await asyncio.sleep(0.35)
            await asyncio.gather(*(tile.grab(2.0) for tile in tiles))
            after_second = requests
            await asyncio.gather(*(tile.close() for tile in tiles))
            return first_slot, after_first, after_second, len(factory.composites)

    frames, after_first, after_second, composites_left = asyncio.run(main())
    assert (after_first, after_second) == (1, 2)
    for frame, colour in zip(frames, TILE_COLOURS, strict=True):
        assert_colour(frame.image[5:-5, 5:-5], colour)
    assert composites_left == 0


def test_failed_composite_is_one_attempt_for_all_its_tiles(serve):
    requests = 0

    async def broken(request):
        nonlocal requests
        requests += 1
        raise web.HTTPServiceUnavailable()

    async def main():
        async with serve([web.get("/mcu.jpg", broken)]) as base, aiohttp.ClientSession() as http:
            tiles = [open_source(f"{base}/mcu.jpg#grid=2x2&tile={i}", None, http) for i in range(4)]
            outcomes = await asyncio.gather(*(t.grab(2.0) for t in tiles), return_exceptions=True)
            for tile in tiles:
                await tile.close()
            return outcomes

    outcomes = asyncio.run(main())
    assert requests == 1
    assert all(isinstance(o, SourceError) and o.failure is GrabFailure.NO_FRAME for o in outcomes)


@pytest.mark.parametrize(
    ("fragment", "words"),
    [
        ("#grid=4x4&tile=16", "tile=16 is outside a 4x4 grid"),
        ("#grid=0x4&tile=0", "columns and rows must be 1 to"),
        ("#grid=4by4&tile=1", "expected COLSxROWS"),
        ("#grid=4x4", "grid= needs tile="),
        ("#tile=3", "tile= needs grid="),
        ("#rect=0.5,0,0.6,1", "goes past the composite"),
        ("#rect=0,0,1", "four numbers"),
        ("#rect=0,0,0,1", "above 0"),
        ("#grid=2x2&tile=1&rect=0,0,1,1", "not both"),
        ("#zoom=2", "unknown key zoom"),
    ],
)
def test_bad_tile_fragments_are_explained(fragment, words):
    message = check_stream_url(f"rtsp://mcu.example/main{fragment}")
    assert message is not None and words in message

    async def main():
        async with aiohttp.ClientSession() as http:
            source = open_source(f"http://mcu.example/main{fragment}", None, http)
            await source.grab(1.0)

    error = failure_of(main())
    assert error.failure is GrabFailure.ERROR and words in str(error)


def test_check_stream_url_accepts_good_urls_and_explains_bad_ones():
    for url in (
        "rtsp://user:pw@10.0.0.5:554/stream1",
        "https://cam.example/snap.jpg#rect=0,0,0.5,0.5",
        "http://hls.example/live/index.m3u8#grid=3x2&tile=5",
        "file:///videos/site.mp4",
    ):
        assert check_stream_url(url) is None, url
    assert "stream URL starting with" in check_stream_url("ftp://cam/x")
    assert "three slashes" in check_stream_url("file://videos/site.mp4")
    assert "unknown stream option" in check_stream_url("http://cam/x", {"user": "a"})
    assert "only to HTTP" in check_stream_url("rtsp://cam/x", {"headers": {"A": "b"}})
    assert "not supported" in check_stream_url("rtsp://cam/x", {"transport": "udp"})
    assert check_stream_url("rtsp://cam/x", {"transport": "tcp"}) is None
