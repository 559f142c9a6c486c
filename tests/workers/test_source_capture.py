"""OpenCV sources: video files played as live cameras, and live streams (HLS over loopback).

RTSP is not tested here: there is no ffmpeg binary to serve it, and it takes the same code path
as HLS (LiveCapture over cv2.VideoCapture with FFmpeg).
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest
from aiohttp import web

from workers.sources import GrabFailure, SourceError, open_source
from workers.sources.backoff import Backoff
from workers.sources.capture import FileCapture, LiveCapture

SIZE = (64, 48)  # width, height
FPS = 10
MP4V = cv2.VideoWriter_fourcc(*"mp4v")


def write_video(path: Path, frames: int, fourcc: str = "mp4v") -> Path:
    """Frame i is pure red with green level 20·i, so both colour order and index can be read."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, SIZE)
    assert writer.isOpened()
    for index in range(frames):
        rgb = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        rgb[..., 0] = 255
        rgb[..., 1] = 20 * index
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def index_of(image: np.ndarray) -> int:
    return round(float(image[..., 1].mean()) / 20)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_file_frames_are_rgb_of_the_right_size(tmp_path):
    video = write_video(tmp_path / "red.mp4", 10)

    async def main():
        async with aiohttp.ClientSession() as http:
            source = open_source(video.as_uri(), None, http)
            try:
                return await source.grab(5.0)
            finally:
                await source.close()

    frame = asyncio.run(main())
    assert frame.image.shape == (SIZE[1], SIZE[0], 3)
    red, green, blue = frame.image.reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 40 and blue < 40
    assert frame.meta["kind"] == "file" and frame.meta["fps"] == FPS


def test_file_plays_as_a_live_camera_at_its_fps_and_loops(tmp_path):
    """Frame index = elapsed × fps from when the source was opened, modulo the length."""
    video = write_video(tmp_path / "count.mp4", 10)
    clock = FakeClock()
    source = FileCapture(video, masked_url=video.as_uri(), clock=clock)

    async def grab_at(elapsed: float) -> int:
        clock.now = 100.0 + elapsed
        frame = await source.grab(5.0)
        assert index_of(frame.image) == frame.meta["frame"]
        return frame.meta["frame"]

    async def main():
        try:
            return [await grab_at(t) for t in (0.0, 0.05, 0.35, 0.95, 1.25, 0.0, 7.42)]
        finally:
            await source.close()

    assert asyncio.run(main()) == [0, 0, 3, 9, 2, 0, 4]


def test_file_that_is_not_a_video_fails_with_a_clear_message(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")

    async def main(path: Path):
        source = FileCapture(path, masked_url=path.as_uri())
        try:
            await source.grab(5.0)
        finally:
            await source.close()

    with pytest.raises(SourceError) as caught:
        asyncio.run(main(text))
    assert caught.value.failure is GrabFailure.DECODE_ERROR
    assert "not a video" in str(caught.value) and "notes.mp4" in str(caught.value)
    with pytest.raises(SourceError) as caught:
        asyncio.run(main(tmp_path / "missing.mp4"))
    assert caught.value.failure is GrabFailure.ERROR and "not found" in str(caught.value)


def test_hls_stream_is_read_by_its_own_thread_and_reopened_when_it_ends(tmp_path, serve):
    """A finished HLS playlist ends the stream; the source reopens it and keeps delivering."""
    for segment in range(2):
        write_video(tmp_path / f"seg{segment}.ts", 10)
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXTINF:1.0,\nmedia/seg0.ts\n#EXTINF:1.0,\nmedia/seg1.ts\n#EXT-X-ENDLIST\n"
    )
    opened = 0

    async def live(request):
        nonlocal opened
        opened += 1
        return web.Response(text=playlist, content_type="application/vnd.apple.mpegurl")

    async def main():
        routes = [web.get("/live.m3u8", live), web.static("/media", tmp_path)]
        async with serve(routes) as base:
            source = LiveCapture(
                f"{base}/live.m3u8", kind="hls", masked_url="hls", backoff=Backoff(initial=0.05)
            )
            frames = []
            for _ in range(3):
                frames.append(await source.grab(5.0))
                await asyncio.sleep(0.15)
            await source.close()
            alive = source._thread.is_alive()
            return frames, alive

    frames, alive = asyncio.run(main())
    for frame in frames:
        assert frame.image.shape == (SIZE[1], SIZE[0], 3)
        assert frame.image[..., 0].mean() > 200  # RGB order
        assert frame.meta["kind"] == "hls"
    assert not alive
    assert opened >= 2


def test_unreachable_rtsp_is_an_error_and_fails_fast_while_waiting_to_reopen():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main():
        source = LiveCapture(
            f"rtsp://user:secret@127.0.0.1:{port}/live",
            kind="rtsp",
            masked_url=f"rtsp://user:***@127.0.0.1:{port}/live",
            backoff=Backoff(initial=10),
        )
        errors = []
        for _ in range(2):
            start = time.monotonic()
            with pytest.raises(SourceError) as caught:
                await source.grab(2.0)
            errors.append((caught.value, time.monotonic() - start))
        await source.close()
        return errors

    (first, _), (second, elapsed) = asyncio.run(main())
    assert first.failure is second.failure is GrabFailure.ERROR
    assert "cannot open the stream" in str(second) and "reopening in" in str(second)
    assert elapsed < 0.1
    assert "secret" not in str(first)


def test_live_hls_grab_returns_the_live_edge_not_a_backlog(tmp_path, serve):
    """A sliding live playlist (a new 0.5 s segment every 0.5 s): the reader thread drains
    what is buffered, so a grab 2 s after the first is about 4 segments further on."""
    for segment in range(12):
        writer = cv2.VideoWriter(str(tmp_path / f"s{segment}.ts"), MP4V, FPS, SIZE)
        for _ in range(5):
            writer.write(np.full((SIZE[1], SIZE[0], 3), 20 * segment, np.uint8))
        writer.release()
    started = time.monotonic()

    async def live(request):
        newest = min(11, 2 + int((time.monotonic() - started) / 0.5))
        first = max(0, newest - 2)
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1"]
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first}")
        for segment in range(first, newest + 1):
            lines += ["#EXTINF:0.5,", f"media/s{segment}.ts"]
        return web.Response(text="\n".join(lines) + "\n")

    async def main():
        routes = [web.get("/live.m3u8", live), web.static("/media", tmp_path)]
        async with serve(routes) as base, aiohttp.ClientSession() as http:
            source = open_source(f"{base}/live.m3u8", None, http)
            first = index_of((await source.grab(5.0)).image)
            await asyncio.sleep(2.0)
            second = index_of((await source.grab(5.0)).image)
            newest = min(11, 2 + int((time.monotonic() - started) / 0.5))
            await source.close()
            return first, second, newest

    first, second, newest = asyncio.run(main())
    assert second >= first + 3, (first, second, newest)
    assert second >= newest - 2, (first, second, newest)
