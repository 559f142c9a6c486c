"""Choosing the source for a site's stream URL, and checking URLs before the runtime starts.

| URL | source | frame |
|---|---|---|
| http(s)://… | SnapshotSource (switches to MjpegSource on a multipart answer) | jpeg |
| http(s)://….m3u8 (HLS), rtsp://, rtsps:// | LiveCapture (OpenCV/FFmpeg, own thread) | image |
| file://… | FileCapture (the file played as a live camera, looping) | image |
| any of them + #grid=CxR&tile=N or #rect=x,y,w,h | TileSource over a shared composite | image |

The aiohttp session must allow as many connections as there are MJPEG cameras plus concurrent
snapshot grabs: each open MJPEG source holds one connection for good, and aiohttp's default
connector allows 100 in all (`aiohttp.TCPConnector(limit=0)` lifts the cap).
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

import aiohttp

from attendance.config import mask_url
from attendance.store.sites import StreamUrlError, stream_url
from workers.sources.base import Frame, FrameSource, GrabFailure, SourceError
from workers.sources.capture import FileCapture, LiveCapture
from workers.sources.snapshot import SnapshotSource
from workers.sources.tiles import CompositeRegistry, TileSource, parse_tile

OPTIONS = {
    "headers": 'extra HTTP headers for snapshot/MJPEG cameras, e.g. {"X-Api-Key": "…"}',
    "transport": 'RTSP transport; only "tcp" (OpenCV\'s default) is supported',
}


def check_stream_url(url: str, options: dict[str, Any] | None = None) -> str | None:
    """What is wrong with a site's stream URL (and options), in words for the organizer; None if
    the site can be sampled. Checks the form only: whether the camera answers is the grab's job."""
    try:
        if stream_url(url) is None:
            return "no stream URL"
    except StreamUrlError as exc:
        return str(exc)
    base, fragment = urldefrag(url)
    if fragment:
        try:
            parse_tile(fragment)
        except ValueError as exc:
            return f"MCU tile: {exc}"
    parts = urlsplit(base)
    if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
        return "a file:// URL is file:///absolute/path (three slashes), got a host name"
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        return "the port must be a number from 1 to 65535"
    return _check_options(parts.scheme, is_hls(base), options)


def _check_options(scheme: str, hls: bool, options: Any) -> str | None:
    if options is None:
        return None
    if not isinstance(options, dict):
        return f"stream options must be a mapping, got {type(options).__name__}"
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        known = "; ".join(f"{key}: {what}" for key, what in OPTIONS.items())
        return f"unknown stream option {', '.join(map(repr, unknown))} (known: {known})"
    headers = options.get("headers")
    if headers is not None:
        if scheme not in ("http", "https") or hls:
            return "the headers option applies only to HTTP snapshot and MJPEG cameras"
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            return "the headers option must map header names to text values"
    transport = options.get("transport")
    if transport is not None:
        if scheme not in ("rtsp", "rtsps"):
            return "the transport option applies only to rtsp:// streams"
        if transport != "tcp":
            return f"transport {transport!r} is not supported; RTSP is always read over tcp"
    return None


def is_hls(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.path.lower().endswith(".m3u8")


def file_path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path))


class BrokenSource:
    """A site whose URL cannot work: every grab fails with the reason (a recorded sample)."""

    kind = "broken"

    def __init__(self, message: str):
        self._message = message

    async def grab(self, timeout: float) -> Frame:
        raise SourceError(GrabFailure.ERROR, self._message)

    async def close(self) -> None:
        pass


class SourceFactory:
    """Opens sources for one aiohttp session, and owns the registry that lets MCU tiles of the
    same composite share one underlying source (see tiles.py)."""

    def __init__(self, http: aiohttp.ClientSession, *, composite_max_age: float = 1.0):
        self._http = http
        self.composites = CompositeRegistry(self._open_whole, composite_max_age)

    def open(self, url: str, options: dict[str, Any] | None = None) -> FrameSource:
        """Never raises: a malformed URL gives a source whose grabs fail with the reason."""
        problem = check_stream_url(url, options)
        if problem is not None:
            return BrokenSource(problem)
        base, fragment = urldefrag(url)
        if fragment:
            composite = self.composites.acquire(base, options)
            return TileSource(self.composites, composite, parse_tile(fragment), _masked(url))
        return self._open_whole(base, options)

    def _open_whole(self, url: str, options: dict[str, Any] | None) -> FrameSource:
        scheme = urlsplit(url).scheme
        if scheme in ("rtsp", "rtsps"):
            return LiveCapture(url, kind="rtsp", masked_url=_masked(url))
        if scheme == "file":
            return FileCapture(file_path(url), masked_url=_masked(url))
        if is_hls(url):
            return LiveCapture(url, kind="hls", masked_url=_masked(url), keep_latest=True)
        return SnapshotSource(url, options, self._http)


def _masked(url: str) -> str:
    return mask_url(url) or ""


_factories: weakref.WeakKeyDictionary[aiohttp.ClientSession, SourceFactory] = (
    weakref.WeakKeyDictionary()
)


def open_source(
    url: str, options: dict[str, Any] | None, http: aiohttp.ClientSession
) -> FrameSource:
    """The source for a site's stream (see the table above). Tiles opened with the same session
    share composites; close every source when done (a composite closes with its last tile)."""
    factory = _factories.get(http)
    if factory is None:
        factory = _factories[http] = SourceFactory(http)
    return factory.open(url, options)
