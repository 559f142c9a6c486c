"""What every frame source offers: the newest frame, within a timeout, or a SourceError."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import numpy as np


class GrabFailure(StrEnum):
    """Why no frame came; these become the sample's status."""

    NO_FRAME = "no_frame"  # the source answered, but with no picture (HTTP 404/500, end of file)
    TIMEOUT = "timeout"  # no answer within the timeout
    DECODE_ERROR = "decode_error"  # bytes came, but not an image
    ERROR = "error"  # anything else: refused connection, bad URL, protocol error


class SourceError(Exception):
    def __init__(self, failure: GrabFailure, message: str):
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class Frame:
    """One picture as a source delivered it.

    HTTP sources keep the JPEG as received (`jpeg`), so decoding happens in the worker pool,
    off the event loop; OpenCV sources and MCU tiles deliver decoded pixels (`image`, RGB).
    """

    captured_at: datetime  # aware UTC: when the source delivered it
    jpeg: bytes | None = None
    image: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # source kind, URL (masked), tile, size…


class FrameSource(Protocol):
    async def grab(self, timeout: float) -> Frame:
        """The newest frame (never a queued old one), or raise SourceError."""
        ...

    async def close(self) -> None: ...
