"""MJPEG over HTTP (`multipart/x-mixed-replace`): one stream kept open, newest frame kept.

A background task reads the stream as fast as the camera sends it and keeps only the newest
complete JPEG; a grab returns that frame if it is fresh (at most about two frame intervals old)
or waits for the next one. The stream must be read continuously: if we stopped reading between
grabs, TCP would queue old frames and the "newest" frame would be minutes late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import UTC, datetime
from enum import Enum, auto
from typing import Any

import aiohttp

from workers.sources.backoff import Backoff
from workers.sources.base import Frame, GrabFailure, SourceError
from workers.sources.payload import MAX_IMAGE_BYTES, image_format
from workers.sources.transport import HttpTarget, check_status, client_failure

log = logging.getLogger(__name__)

MULTIPART = "multipart/x-mixed-replace"
MAX_HEADER_BYTES = 16 * 1024
MIN_FRESH_S = 0.5  # a frame this recent is always fresh, whatever the frame rate looks like
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^content-length:\s*(\d+)\s*$", re.IGNORECASE | re.MULTILINE)


def is_multipart(response: aiohttp.ClientResponse) -> bool:
    return response.content_type.lower() == MULTIPART


def boundary_of(content_type: str) -> bytes | None:
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if not match:
        return None
    # Cameras disagree on whether the declared boundary includes the leading "--"; search for
    # the bare token, which is found either way.
    token = match.group(1).strip().lstrip("-") or match.group(1).strip()
    return token.encode("latin-1")


class _State(Enum):
    SEEK = auto()  # looking for the next boundary line
    HEADERS = auto()  # reading the part's headers up to the blank line
    BODY = auto()  # reading the body: Content-Length bytes, or up to the next boundary
    SKIP = auto()  # discarding the rest of an oversized part of known length


class MultipartParser:
    """Split a multipart byte stream into part bodies, in bounded memory.

    `feed` returns complete bodies, and a SourceError(DECODE_ERROR) in their place for a part
    over `max_part` bytes (the parser then resynchronises on the next boundary). A part is
    complete only when its Content-Length bytes arrived or the next boundary was seen, so a
    part cut off by a dropped connection is never returned.
    """

    def __init__(self, boundary: bytes, max_part: int = MAX_IMAGE_BYTES):
        self._token = boundary
        self._max_part = max_part
        self._buf = bytearray()
        self._state = _State.SEEK
        self._length: int | None = None
        self._skip = 0
        self._scanned = 0  # bytes of _buf already searched for the boundary

    def feed(self, data: bytes) -> list[bytes | SourceError]:
        self._buf += data
        out: list[bytes | SourceError] = []
        while self._step(out):
            pass
        return out

    def _step(self, out: list[bytes | SourceError]) -> bool:
        """Advance by one state if the buffer allows; False when more data is needed."""
        if self._state is _State.SEEK:
            return self._seek()
        if self._state is _State.HEADERS:
            return self._headers(out)
        if self._state is _State.SKIP:
            dropped = min(self._skip, len(self._buf))
            del self._buf[:dropped]
            self._skip -= dropped
            if self._skip:
                return False
            self._state = _State.SEEK
            return True
        return self._body(out)

    def _find_token(self) -> int:
        start = max(0, self._scanned - len(self._token) + 1)
        index = self._buf.find(self._token, start)
        self._scanned = len(self._buf) if index < 0 else 0
        return index

    def _seek(self) -> bool:
        index = self._find_token()
        if index < 0:
            keep = len(self._token) - 1
            del self._buf[: max(0, len(self._buf) - keep)]
            self._scanned = len(self._buf)
            return False
        end_of_line = self._buf.find(b"\n", index)
        if end_of_line < 0:
            return False
        del self._buf[: end_of_line + 1]
        self._state = _State.HEADERS
        return True

    def _headers(self, out: list[bytes | SourceError]) -> bool:
        self._length = None
        if self._buf.startswith(b"\xff\xd8"):  # no headers at all: the JPEG follows directly
            self._state = _State.BODY
            return True
        if self._buf.startswith((b"\r\n", b"\n")):  # a boundary line, then a blank line
            del self._buf[: 2 if self._buf.startswith(b"\r\n") else 1]
            self._state = _State.BODY
            return True
        end = _BLANK_LINE.search(self._buf)
        if end is None:
            if len(self._buf) > MAX_HEADER_BYTES:
                out.append(SourceError(GrabFailure.DECODE_ERROR, "MJPEG part headers too long"))
                self._state = _State.SEEK
                return True
            return False
        length = _CONTENT_LENGTH.search(self._buf[: end.start()])
        self._length = int(length.group(1)) if length else None
        del self._buf[: end.end()]
        self._state = _State.BODY
        return True

    def _body(self, out: list[bytes | SourceError]) -> bool:
        if self._length is not None:
            if self._length > self._max_part:
                out.append(self._too_large(self._length))
                self._skip, self._state = self._length, _State.SKIP
                return True
            if len(self._buf) < self._length:
                return False
            out.append(bytes(self._buf[: self._length]))
            del self._buf[: self._length]
            self._state = _State.SEEK
            return True
        index = self._find_token()
        if index < 0:
            if len(self._buf) > self._max_part:
                out.append(self._too_large(len(self._buf)))
                self._state = _State.SEEK  # drops everything up to the next boundary
            return False
        if index > self._max_part:
            out.append(self._too_large(index))
        else:  # the body ends before "\r\n--boundary"
            body = bytes(self._buf[:index]).rstrip(b"-")
            out.append(body.removesuffix(b"\n").removesuffix(b"\r"))
        del self._buf[:index]
        self._state = _State.SEEK
        return True

    def _too_large(self, size: int) -> SourceError:
        return SourceError(
            GrabFailure.DECODE_ERROR,
            f"MJPEG part of {size:,}+ bytes exceeds the {self._max_part:,}-byte limit",
        )


class MjpegSource:
    """Keeps one MJPEG stream open and the newest complete frame in memory.

    The reader task starts with the first grab and reconnects with exponential backoff (1, 2, 4 …
    60 s, jittered) whenever the stream fails or ends. A grab while the stream is down waits for
    a frame until its timeout, but fails at once with the last problem (connection refused →
    ERROR, HTTP 404 → NO_FRAME, …) when the next reconnect is due only after that timeout.
    """

    kind = "mjpeg"

    def __init__(
        self,
        url: str,
        options: dict[str, Any] | None,
        http: aiohttp.ClientSession,
        *,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        stall_timeout: float = 15.0,
        max_part: int = MAX_IMAGE_BYTES,
    ):
        self._target = HttpTarget.parse(url, options)
        self._http = http
        self._backoff = backoff or Backoff()
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=stall_timeout
        )
        self._stall_timeout = stall_timeout
        self._max_part = max_part
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._latest: Frame | None = None
        self._latest_at = 0.0  # loop time of the newest frame
        self._interval: float | None = None  # smoothed seconds between frames
        self._problem: SourceError | None = None  # since the last good frame
        self._retry_at: float | None = None  # loop time of the next reconnect, while down
        self._since_connect = 0  # frames received on the current connection
        self._closed = False

    async def grab(self, timeout: float) -> Frame:
        if self._closed:
            raise SourceError(GrabFailure.ERROR, "source is closed")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"mjpeg {self._target.masked}")
        while True:
            if self._closed:
                raise SourceError(GrabFailure.ERROR, "source is closed")
            now = loop.time()
            if self._latest is not None and now - self._latest_at <= self._max_age():
                return self._latest
            if self._problem and self._retry_at is not None and self._retry_at > deadline:
                raise self._down(now)
            if now >= deadline:
                if self._problem:
                    raise self._down(now)
                raise SourceError(GrabFailure.TIMEOUT, f"no MJPEG frame within {timeout:g} s")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), deadline - now)

    async def close(self) -> None:
        self._closed = True
        self._notify()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._latest = None

    def _max_age(self) -> float:
        return max(MIN_FRESH_S, 2 * self._interval) if self._interval else MIN_FRESH_S

    def _down(self, now: float) -> SourceError:
        assert self._problem is not None
        message = str(self._problem)
        if self._retry_at is not None:
            message += f"; reconnecting in {max(0.0, self._retry_at - now):.0f} s"
        return SourceError(self._problem.failure, message)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._stream()
                problem = SourceError(GrabFailure.ERROR, "the MJPEG stream ended")
            except SourceError as exc:
                problem = exc
            except TimeoutError:
                problem = SourceError(
                    GrabFailure.TIMEOUT, "the camera did not connect, or its stream went silent"
                )
            except aiohttp.ClientError as exc:
                problem = client_failure(exc, self._stall_timeout)
            except Exception as exc:  # a bug must not end the reader: log, back off, retry
                log.exception("%s: MJPEG reader failed", self._target.masked)
                problem = SourceError(GrabFailure.ERROR, f"internal error: {exc!r}")
            delay = self._backoff.next_delay()
            self._problem, self._retry_at = problem, loop.time() + delay
            self._notify()
            level = logging.WARNING if self._backoff.attempts == 1 else logging.DEBUG
            log.log(level, "%s: %s; reconnecting in %.1f s", self._target.masked, problem, delay)
            await asyncio.sleep(delay)

    async def _stream(self) -> None:
        async with self._target.request(self._http, self._timeout) as response:
            check_status(response)
            if not is_multipart(response):
                raise SourceError(
                    GrabFailure.ERROR,
                    f"expected an MJPEG stream ({MULTIPART}), got {response.content_type}",
                )
            boundary = boundary_of(response.headers.get("Content-Type", ""))
            if not boundary:
                raise SourceError(GrabFailure.ERROR, "MJPEG stream without a boundary")
            self._problem = self._retry_at = None
            self._since_connect = 0
            self._notify()
            parser = MultipartParser(boundary, self._max_part)
            async for chunk in response.content.iter_any():
                for part in parser.feed(chunk):
                    self._take(part)

    def _take(self, part: bytes | SourceError) -> None:
        try:
            if isinstance(part, SourceError):
                raise part
            image_format(part)
        except SourceError as exc:
            self._problem = exc
            self._notify()
            return
        now = asyncio.get_running_loop().time()
        if self._since_connect:  # a gap across a reconnect says nothing about the frame rate
            gap = now - self._latest_at
            self._interval = gap if self._interval is None else 0.8 * self._interval + 0.2 * gap
        self._since_connect += 1
        if self._backoff.attempts:
            log.info("%s: MJPEG stream delivering frames", self._target.masked)
        self._backoff.reset()
        self._problem = None
        self._latest_at = now
        self._latest = Frame(
            captured_at=datetime.now(UTC),
            jpeg=part,
            meta={"kind": self.kind, "url": self._target.masked, "bytes": len(part)},
        )
        self._notify()
