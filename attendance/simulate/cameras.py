"""A site's camera: its hall drawn for one occupancy state, as JPEGs ready to serve.

Everything here is pure and synchronous, so the simulator can run it in a worker process:
a state is drawn once (`attendance.vision.hall`, ~0.1 s at 1280×720) and encoded as a few
*variants* that differ only by slight sensor noise, so consecutive snapshots of an unchanged hall
are never byte- or pixel-identical, as with a live camera. Serving a snapshot then costs no
drawing and no encoding.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

import cv2
import numpy as np

from attendance.simulate.occupancy import PERIOD, Occupancy, SiteProfile, profile
from attendance.vision.hall import HallPlan, HallSpec, draw_hall, hard_spec, plan_hall

# Face sizes at 720 px frame height, scaled with the height: what our counter finds at its
# default level (recall ~0.95 on 720p JPEGs); smaller back rows drop below its reach.
FACE_MIN_720, FACE_MAX_720 = 18, 60
NOISE_BANK = 8  # noise patterns shared by all sites of a size; variant j of a site uses one
BLACK_LEVEL = 6  # grey level of a black frame: a capped lens still shows a little noise
MCU_GRID = 4  # an MCU composite is MCU_GRID × MCU_GRID tiles


@dataclass(frozen=True)
class CameraSettings:
    """How every simulated camera films: frame size, JPEG quality, noise, MCU composite size."""

    width: int = 1280
    height: int = 720
    quality: int = 80  # JPEG quality of snapshots and MJPEG frames
    variants: int = 3  # noise variants encoded per state
    noise: float = 2.0  # σ of the per-variant sensor noise, grey levels
    mcu_width: int = 1920
    mcu_height: int = 1080
    hard: bool = False  # halls as real cameras see them (hall.hard_spec): turned heads, backs…

    def __post_init__(self) -> None:
        if self.width < 64 or self.height < 64:
            raise ValueError(f"a {self.width}×{self.height} frame is too small for a hall")
        if self.mcu_width % MCU_GRID or self.mcu_height % MCU_GRID:
            raise ValueError(f"the MCU size must divide by {MCU_GRID} in both directions")
        if not 1 <= self.variants <= NOISE_BANK:
            raise ValueError(f"variants must be 1..{NOISE_BANK}, not {self.variants}")

    @property
    def face_min(self) -> int:
        return max(8, round(FACE_MIN_720 * self.height / 720))

    @property
    def face_max(self) -> int:
        return max(self.face_min, round(FACE_MAX_720 * self.height / 720))

    @property
    def tile(self) -> tuple[int, int]:
        return self.mcu_width // MCU_GRID, self.mcu_height // MCU_GRID


@dataclass(frozen=True)
class Render:
    """One state of one camera, encoded: what the server keeps per site."""

    key: tuple  # Occupancy.key: another state with the same key shows the same frame
    state: int
    jpegs: tuple[bytes, ...]  # noise variants of the frame, served in turn
    tile: bytes | None  # the frame downscaled to an MCU tile, JPEG (None: no picture)

    @property
    def nbytes(self) -> int:
        return sum(map(len, self.jpegs)) + len(self.tile or b"")


@dataclass(frozen=True)
class HallFacts:
    """What the plan of a site's hall says beyond occupancy: the screen and the face boxes."""

    screen: list[list[float]] | None  # screen polygon, [x, y] in 0..1 of the frame
    screen_faces: int
    boxes: np.ndarray  # int32 [capacity, 4]: person i's face box (top, right, bottom, left)
    countable: np.ndarray | None = None  # bool [capacity]: person i's face shows unless looking
    # down (None: all do; hard halls have backs and readers whose face never shows)

    def faces(self, occupancy: Occupancy) -> list[list[int]]:
        """Boxes of the faces a state shows, screen faces excluded."""
        down = set(occupancy.down)
        return [
            self.boxes[i].tolist()
            for i in occupancy.present
            if i not in down and (self.countable is None or self.countable[i])
        ]

    def counts(self, occupancy: Occupancy) -> dict[str, int]:
        """The state's counts, with the faces a hard hall never shows not counted as visible."""
        counts = occupancy.counts()
        if self.countable is not None:
            counts["visible_faces"] = len(self.faces(occupancy))
        return counts


@cache
def seats(camera: CameraSettings) -> int:
    """How many people a frame of this size can seat: the cap on a site's capacity."""
    spec = HallSpec(0, camera.width, camera.height, 0, camera.face_min, camera.face_max)
    return sum(len(row) for row in plan_hall(spec).seat_x)


def site_profile(
    camera: CameraSettings,
    seed: int,
    code: str,
    period: float = PERIOD,
    reading: float | None = None,
) -> SiteProfile:
    """The session of site `code` as `simulate sites` films it with these settings (`reading`:
    people look down in reading bouts, that share of the time; see `occupancy.profile`).

    Truth without a server: `occupancy_at(site_profile(…), seconds).counts()` is what the
    simulator shows `seconds` (session time) after its start.
    """
    return profile(seed, code, seats(camera), period, reading)


def shown_halls(codes: Sequence[str], distinct: int | None = None) -> dict[str, str]:
    """Whose hall each site shows: its own, or with `distinct` N, that of site `i % N`.

    `codes` are in the order `simulate sites` takes them (that of `attendance examples`), so the
    first N sites show their own halls and the others repeat them. A site showing another's
    hall shows its session too: its truth is the truth of that hall.
    """
    if distinct is not None and distinct < 1:
        raise ValueError(f"distinct halls must be ≥ 1, not {distinct}")
    halls = len(codes) if distinct is None else distinct
    return {code: codes[i % halls] for i, code in enumerate(codes)}


def hall_plan(camera: CameraSettings, site: SiteProfile) -> HallPlan:
    """The site's hall with everyone who could come seated, all faces visible.

    A hard hall has no occlusion: who hides whom would change as people come and go, and its
    JPEG is the camera's (`quality`).
    """
    size = (camera.width, camera.height)
    faces = (camera.face_min, camera.face_max)
    spec = HallSpec(site.capacity, *size, site.key, *faces, site.screen, 0.0)
    if camera.hard:
        hard = hard_spec(site.capacity, site.key, *size)
        spec = replace(hard, face_min=spec.face_min, face_max=spec.face_max, screen=site.screen,
                       looking_down=0.0, occlusion=0.0, jpeg_quality=None)  # fmt: skip
    return plan_hall(spec)


def state_plan(plan: HallPlan, occupancy: Occupancy) -> HallPlan:
    """The hall plan of one state: the present subset of the seated, some looking down.

    The room, seats and noise of a hall depend on its spec only, so every state of a site is
    the same hall with different people in it.
    """
    screen = [p for p in plan.people if p.on_screen]
    seated = [p for p in plan.people if not p.on_screen]
    down = set(occupancy.down)
    people = [
        replace(seated[i], visible=False, kind="down", hidden=1.0) if i in down else seated[i]
        for i in occupancy.present
    ]
    spec = replace(plan.spec, people=len(people))
    return replace(plan, spec=spec, people=screen + people)


def facts(camera: CameraSettings, site: SiteProfile) -> HallFacts:
    return _facts(hall_plan(camera, site))


def _facts(plan: HallPlan) -> HallFacts:
    width, height = plan.spec.width, plan.spec.height
    screen = (
        [[round(x / width, 5), round(y / height, 5)] for x, y in plan.screen]
        if plan.screen
        else None
    )
    seated = [p.box for p in plan.people if not p.on_screen]
    boxes = np.array(seated, np.int32).reshape(len(seated), 4)
    shown = np.array([p.visible for p in plan.people if not p.on_screen], bool)
    countable = None if shown.all() else shown
    return HallFacts(screen, sum(p.on_screen for p in plan.people), boxes, countable)


def picture(camera: CameraSettings, site: SiteProfile, occupancy: Occupancy) -> np.ndarray:
    """The state's frame without variant noise, BGR (OpenCV's order) uint8."""
    return _bgr(draw_hall(state_plan(hall_plan(camera, site), occupancy)))


def render(
    camera: CameraSettings, site: SiteProfile, occupancy: Occupancy
) -> tuple[Render, HallFacts]:
    """Draw and encode one state (the variants and the MCU tile), and the hall's facts."""
    plan = hall_plan(camera, site)
    frame = _bgr(draw_hall(state_plan(plan, occupancy)))
    jpegs = tuple(
        encode(noisy(frame, camera.noise, site.key + j), camera.quality)
        for j in range(camera.variants)
    )
    tile = encode(cv2.resize(frame, camera.tile, interpolation=cv2.INTER_AREA), 90)
    return Render(occupancy.key, occupancy.state, jpegs, tile), _facts(plan)


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[..., ::-1])


def black(camera: CameraSettings) -> Render:
    """A lens-capped camera: a nearly black frame that still carries sensor noise."""
    frame = np.full((camera.height, camera.width, 3), BLACK_LEVEL, np.uint8)
    jpegs = tuple(encode(noisy(frame, camera.noise, j), camera.quality) for j in range(3))
    return Render(("black",), -1, jpegs, None)


def compose(camera: CameraSettings, tiles: list[bytes | None], salt: int) -> tuple[bytes, ...]:
    """An MCU composite of up to MCU_GRID² tiles, row by row; a missing tile stays black."""
    tile_w, tile_h = camera.tile
    frame = np.zeros((camera.mcu_height, camera.mcu_width, 3), np.uint8)
    for index, tile in enumerate(tiles):
        if tile is None:
            continue
        row, col = divmod(index, MCU_GRID)
        pixels = cv2.imdecode(np.frombuffer(tile, np.uint8), cv2.IMREAD_COLOR)
        frame[row * tile_h : (row + 1) * tile_h, col * tile_w : (col + 1) * tile_w] = pixels
    return tuple(
        encode(noisy(frame, camera.noise, salt + j), camera.quality) for j in range(camera.variants)
    )


def warm_up() -> None:
    """Load the face crops a hall is drawn with (a second, once per process)."""
    draw_hall(plan_hall(HallSpec(1, 160, 120, 0, 8, 16)))


def garbage(size: int) -> bytes:
    """Random bytes: what a broken encoder or a wrong content type delivers."""
    return os.urandom(size)


def noisy(frame: np.ndarray, sigma: float, index: int) -> np.ndarray:
    """`frame` with one of the shared noise patterns of its size added (saturating)."""
    bank = _noise_bank(frame.shape, sigma)
    return cv2.add(frame, bank[index % len(bank)], dtype=cv2.CV_8U)


@cache
def _noise_bank(shape: tuple[int, ...], sigma: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng([len(shape), *shape, round(sigma * 1000)])
    return tuple(
        np.clip(np.round(rng.normal(0, sigma, shape)), -127, 127).astype(np.int8)
        for _ in range(NOISE_BANK)
    )


def encode(frame: np.ndarray, quality: int) -> bytes:
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # OpenCV reports no reason; with a uint8 BGR frame this does not happen
        raise RuntimeError("OpenCV could not encode a JPEG")
    return buffer.tobytes()
