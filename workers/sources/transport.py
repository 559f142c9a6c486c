"""HTTP plumbing shared by the snapshot and MJPEG sources: request target and error mapping."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from attendance.config import mask_url
from workers.sources.base import GrabFailure, SourceError
from workers.sources.payload import MAX_IMAGE_BYTES


@dataclass(frozen=True)
class HttpTarget:
    """Where to send the request: the URL without credentials or fragment, and how to sign it.

    `http://user:pass@cam/snap.jpg` becomes `Authorization: Basic …` plus `http://cam/snap.jpg`,
    so the password never appears in aiohttp's exceptions or our messages. An explicit
    Authorization header in options["headers"] wins over the URL's credentials.
    """

    url: URL
    masked: str  # the URL as configured, password hidden: for meta and messages
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold the password

    @classmethod
    def parse(cls, url: str, options: dict[str, Any] | None) -> HttpTarget:
        parsed = URL(url)
        headers = dict((options or {}).get("headers") or {})
        if parsed.user is not None and "authorization" not in {k.lower() for k in headers}:
            headers["Authorization"] = basic_auth(parsed.user, parsed.password or "")
        bare = parsed.with_user(None).with_fragment(None)
        return cls(url=bare, masked=mask_url(url) or "", headers=headers)

    def request(self, http: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout):
        # raise_for_status=False: the caller maps statuses itself, whatever the session says.
        return http.get(
            self.url,
            headers=self.headers,
            timeout=timeout,
            raise_for_status=False,
        )


def basic_auth(user: str, password: str) -> str:
    """The Authorization header value (RFC 7617, UTF-8); aiohttp deprecates its BasicAuth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def check_status(response: aiohttp.ClientResponse) -> None:
    """A camera that answers 401/404/500 is up but gives no picture: NO_FRAME."""
    if not 200 <= response.status < 300:
        raise SourceError(
            GrabFailure.NO_FRAME, f"HTTP {response.status} {response.reason or ''}".rstrip()
        )


async def read_body(response: aiohttp.ClientResponse, limit: int = MAX_IMAGE_BYTES) -> bytes:
    """The whole body, refusing more than `limit` bytes before reading them."""
    if response.content_length is not None and response.content_length > limit:
        raise _too_large(response.content_length, limit)
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise _too_large(len(body), limit)
    return bytes(body)


def _too_large(size: int, limit: int) -> SourceError:
    return SourceError(
        GrabFailure.DECODE_ERROR, f"image of {size:,} bytes exceeds the {limit:,}-byte limit"
    )


def client_failure(exc: BaseException, timeout: float) -> SourceError:
    """Translate aiohttp's exceptions into the sample statuses (TIMEOUT first: aiohttp's
    timeout errors are also connection errors)."""
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, TimeoutError):
        return SourceError(GrabFailure.TIMEOUT, f"no answer within {timeout:g} s")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return SourceError(GrabFailure.ERROR, f"TLS certificate rejected: {exc.certificate_error}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or exc.os_error.__class__.__name__
        return SourceError(GrabFailure.ERROR, f"cannot connect to {exc.host}:{exc.port}: {reason}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return SourceError(GrabFailure.ERROR, "the camera closed the connection")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return SourceError(GrabFailure.ERROR, "the response was cut short (connection dropped)")
    if isinstance(exc, aiohttp.ClientResponseError):
        return SourceError(GrabFailure.ERROR, f"invalid HTTP response: {exc.message}")
    if isinstance(exc, aiohttp.ClientOSError):
        return SourceError(GrabFailure.ERROR, f"connection error: {exc.strerror or exc}")
    return SourceError(GrabFailure.ERROR, f"HTTP client error: {exc.__class__.__name__}: {exc}")
