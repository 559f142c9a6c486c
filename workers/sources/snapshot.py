"""HTTP snapshot cameras: one GET per grab returns one JPEG (or PNG)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp

from workers.sources.base import Frame, FrameSource, GrabFailure, SourceError
from workers.sources.mjpeg import MjpegSource, is_multipart
from workers.sources.payload import image_format
from workers.sources.transport import (
    HttpTarget,
    check_status,
    client_failure,
    read_body,
)

log = logging.getLogger(__name__)


class SnapshotSource:
    """GET the URL on every grab; the JPEG is returned as received (the worker pool decodes it).

    Many cameras serve MJPEG on a URL that looks like a snapshot URL. When the answer is
    `multipart/x-mixed-replace`, this source switches for good to an `MjpegSource` on the same
    URL, which keeps the stream open from then on.
    """

    kind = "snapshot"

    def __init__(self, url: str, options: dict[str, Any] | None, http: aiohttp.ClientSession):
        self._url, self._options, self._http = url, options, http
        self._target = HttpTarget.parse(url, options)
        self._stream: FrameSource | None = None

    async def grab(self, timeout: float) -> Frame:
        if self._stream is not None:
            return await self._stream.grab(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with self._target.request(
                self._http, aiohttp.ClientTimeout(total=timeout)
            ) as response:
                check_status(response)
                streaming = is_multipart(response)
                if streaming:
                    response.close()  # the stream never ends: do not read it here
                else:
                    body = await read_body(response)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise client_failure(exc, timeout) from None
        if streaming:
            return await self._switch_to_stream(max(0.0, deadline - loop.time()))
        if body.startswith(b"#EXTM3U"):
            raise SourceError(
                GrabFailure.DECODE_ERROR,
                "the URL serves an HLS playlist, not an image: give its address ending in .m3u8",
            )
        image = image_format(body)
        return Frame(
            captured_at=datetime.now(UTC),
            jpeg=body,
            meta={
                "kind": self.kind,
                "url": self._target.masked,
                "format": image,
                "bytes": len(body),
            },
        )

    async def _switch_to_stream(self, timeout: float) -> Frame:
        log.info("%s answers with an MJPEG stream: keeping it open", self._target.masked)
        self._stream = MjpegSource(self._url, self._options, self._http)
        return await self._stream.grab(timeout)

    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.close()
