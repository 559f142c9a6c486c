"""MCU composite tiles: one site's picture cut out of a conference bridge's composite layout.

A URL fragment says which part of the composite is the site:
`…#grid=4x4&tile=5` (COLUMNSxROWS, tiles numbered row by row from the top left, from 0) or
`…#rect=x,y,w,h` (fractions 0..1 of the composite's width and height). All tiles of one
composite share one underlying source, and a composite fetched less than `max_age` ago is
reused: sixteen tiles sampled in the same slot cost one fetch and one decode.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from workers.sources.base import Frame, FrameSource, GrabFailure, SourceError
from workers.sources.payload import decode_rgb
from workers.sources.threads import run_blocking

MAX_GRID = 32
_EPSILON = 1e-6


@dataclass(frozen=True)
class TileSpec:
    """A rectangle of the composite in fractions of its size, and how it was written."""

    x: float
    y: float
    w: float
    h: float
    label: str  # "grid=4x4&tile=5" or "rect=…", for meta and messages

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Pixel box (x, y, w, h), at least one pixel, inside a width×height image."""
        x0, y0 = min(round(self.x * width), width - 1), min(round(self.y * height), height - 1)
        x1 = max(x0 + 1, min(width, round((self.x + self.w) * width)))
        y1 = max(y0 + 1, min(height, round((self.y + self.h) * height)))
        return x0, y0, x1 - x0, y1 - y0

    def crop(self, image: np.ndarray) -> np.ndarray:
        x, y, w, h = self.box(image.shape[1], image.shape[0])
        return image[y : y + h, x : x + w].copy()  # a copy: the tile must not pin the composite


def parse_tile(fragment: str) -> TileSpec:
    """The tile a URL fragment names, or ValueError saying what is wrong and what is expected."""
    try:
        pairs = parse_qsl(fragment, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ValueError(_expected(f"cannot read #{fragment}")) from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise ValueError(_expected("a key is given twice"))
    keys = set(params)
    if keys == {"rect"}:
        return _rect(params["rect"])
    if keys == {"grid", "tile"}:
        return _grid_tile(params["grid"], params["tile"])
    if "grid" in keys and "tile" not in keys:
        raise ValueError(_expected("grid= needs tile="))
    if "tile" in keys and "grid" not in keys:
        raise ValueError(_expected("tile= needs grid="))
    unknown = sorted(keys - {"grid", "tile", "rect"})
    if unknown:
        raise ValueError(_expected(f"unknown key {', '.join(unknown)}"))
    raise ValueError(_expected("give either grid= and tile=, or rect=, not both"))


def _expected(problem: str) -> str:
    return f"{problem}; expected #grid=COLSxROWS&tile=N (N from 0, row by row) or #rect=x,y,w,h"


def _grid_tile(grid: str, tile: str) -> TileSpec:
    match = re.fullmatch(r"(\d+)[x×](\d+)", grid.strip().lower())
    if not match:
        raise ValueError(f"grid={grid}: expected COLSxROWS such as 4x4 or 3x2")
    cols, rows = int(match.group(1)), int(match.group(2))
    if not (1 <= cols <= MAX_GRID and 1 <= rows <= MAX_GRID):
        raise ValueError(f"grid={grid}: columns and rows must be 1 to {MAX_GRID}")
    if not re.fullmatch(r"\d+", tile.strip()):
        raise ValueError(f"tile={tile}: expected a whole number from 0")
    index = int(tile)
    if index >= cols * rows:
        raise ValueError(
            f"tile={index} is outside a {cols}x{rows} grid (tiles 0 to {cols * rows - 1}, "
            "row by row from the top left)"
        )
    row, col = divmod(index, cols)
    return TileSpec(col / cols, row / rows, 1 / cols, 1 / rows, f"grid={cols}x{rows}&tile={index}")


def _rect(rect: str) -> TileSpec:
    try:
        x, y, w, h = (float(part) for part in rect.split(","))
    except ValueError:
        raise ValueError(f"rect={rect}: expected four numbers x,y,w,h, e.g. 0,0,0.5,0.5") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"rect={rect}: expected finite numbers")
    if not (0 <= x < 1 and 0 <= y < 1 and w > 0 and h > 0):
        raise ValueError(f"rect={rect}: x and y must be in 0..1 and w, h above 0")
    if x + w > 1 + _EPSILON or y + h > 1 + _EPSILON:
        raise ValueError(f"rect={rect}: the rectangle goes past the composite (x+w, y+h ≤ 1)")
    return TileSpec(x, y, min(w, 1 - x), min(h, 1 - y), f"rect={rect}")


class Composite:
    """One composite stream and its newest decoded picture (or failure), shared by its tiles."""

    def __init__(self, source: FrameSource, max_age: float):
        self.source = source
        self.users = 0
        self._max_age = max_age
        self._lock = asyncio.Lock()  # one fetch at a time; the others wait and reuse it
        self._fetched_at = -math.inf  # loop time
        self._result: tuple[Frame, np.ndarray] | SourceError | None = None

    async def picture(self, deadline: float) -> tuple[Frame, np.ndarray]:
        """The composite frame and its RGB pixels, fetched now or less than max_age ago.

        A failure is shared the same way: sixteen tiles of a dead bridge make one attempt.
        """
        loop = asyncio.get_running_loop()
        async with self._lock:
            if loop.time() - self._fetched_at >= self._max_age:
                self._result = await self._fetch(max(0.0, deadline - loop.time()))
                self._fetched_at = loop.time()
            result = self._result
        if isinstance(result, SourceError):
            raise SourceError(result.failure, str(result))
        assert result is not None
        return result

    async def _fetch(self, timeout: float) -> tuple[Frame, np.ndarray] | SourceError:
        try:
            frame = await self.source.grab(timeout)
            if frame.image is not None:
                return frame, frame.image
            assert frame.jpeg is not None
            return frame, await run_blocking(decode_rgb, frame.jpeg)
        except SourceError as exc:
            return exc


class CompositeRegistry:
    """The composites in use, by URL (without fragment) and options; a composite's source is
    closed when its last tile closes."""

    def __init__(
        self,
        open_whole: Callable[[str, dict[str, Any] | None], FrameSource],
        max_age: float = 1.0,
    ):
        self._open_whole = open_whole
        self._max_age = max_age
        self._composites: dict[tuple[str, str], Composite] = {}

    def acquire(self, url: str, options: dict[str, Any] | None) -> Composite:
        key = (url, json.dumps(options or {}, sort_keys=True))
        composite = self._composites.get(key)
        if composite is None:
            composite = Composite(self._open_whole(url, options), self._max_age)
            self._composites[key] = composite
        composite.users += 1
        return composite

    async def release(self, composite: Composite) -> None:
        composite.users -= 1
        if composite.users == 0:
            self._composites = {k: c for k, c in self._composites.items() if c is not composite}
            await composite.source.close()

    def __len__(self) -> int:
        return len(self._composites)


class TileSource:
    """One site's tile of a shared composite; returns decoded RGB pixels (`image`)."""

    kind = "tile"

    def __init__(
        self, registry: CompositeRegistry, composite: Composite, tile: TileSpec, masked_url: str
    ):
        self._registry, self._composite, self._tile = registry, composite, tile
        self._masked = masked_url
        self._closed = False

    async def grab(self, timeout: float) -> Frame:
        if self._closed:
            raise SourceError(GrabFailure.ERROR, "source is closed")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):
                frame, picture = await self._composite.picture(deadline)
        except TimeoutError:
            raise SourceError(
                GrabFailure.TIMEOUT, f"no composite picture within {timeout:g} s"
            ) from None
        x, y, w, h = self._tile.box(picture.shape[1], picture.shape[0])
        return Frame(
            captured_at=frame.captured_at,
            image=self._tile.crop(picture),
            meta={
                "kind": self.kind,
                "url": self._masked,
                "tile": self._tile.label,
                "box": (x, y, w, h),
                "composite": frame.meta.get("kind"),
                "composite_size": (picture.shape[1], picture.shape[0]),
            },
        )

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._registry.release(self._composite)
