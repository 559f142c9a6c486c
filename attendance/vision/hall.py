"""Synthetic conference halls: wide shots of seated rows in perspective, with ground truth.

Tests and the detection benchmark need frames whose faces dlib's HOG detector really finds, and
whose every face is known. Faces are the 100 real face crops of scikit-image's LFW subset,
colourised and pasted into drawn heads on drawn bodies; rows shrink towards the back of the hall.
A hall may show a projection screen with more faces on it: a detector finds those too, so they
are in the truth (`on_screen=True`) but are not present people.

Planning (`plan_hall`) and drawing (`draw_hall`) are separate so a test can add or remove one
person and redraw a frame that differs only around that person.

By default every present person faces the camera or looks down. Opt-in options make a hall
harder, as real halls are (`hard_spec` mixes them): heads turned aside, people reading behind a
paper or a hand, faces partly hidden by the row in front, heads seen from behind, motion blur,
dim or warm light and JPEG artefacts. Each person's `kind` says which; `visible` stays the truth a
detector's recall is measured against: a face showing at least VISIBLE_MIN of itself.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

import cv2
import numpy as np

from attendance.vision.boxes import Box

# Head and body geometry, in face sizes from the face centre (the face box is the LFW crop).
HEAD_TOP = 0.95  # top of the hair above the face centre
PITCH = 2.7  # seat spacing along a row
JITTER_SIZE, JITTER_X, JITTER_Y = 0.08, 0.12, 0.05  # largest random deviation of a person
HIDDEN_MAX = 0.2  # a head in front may hide at most this share of a face's height
BACK_ROW_Y = 0.36  # face centre of the back row, as a share of the frame height
SCREEN_FACES = (4, 12)
SCREEN_FACE_MAX = 60

# Harder halls (opt-in HallSpec options).
SHARES = ("looking_down", "turned", "reading", "occlusion", "backs")  # of present people
KINDS = ("frontal", "turned", "reading", "occluded", "back", "down")
VISIBLE_MIN = 0.6  # a face showing at least this share of itself is countable (visible)
YAW = (25.0, 60.0)  # a turned head's yaw, degrees; beyond ~60° a face is a profile
TILT = (0.1, 0.3)  # a reading face's vertical squeeze: the share of the box it gives up
COVER = (0.1, 0.55)  # share of a reading face's box hidden from below by a paper or a hand
OCCLUDED = (0.25, 0.6)  # share of an occluded face hidden by the row in front
LIGHTS = {"normal": (1.0, 1.0, 1.0), "dim": (0.5, 0.5, 0.52), "warm": (0.95, 0.8, 0.58)}
LIGHT_NOISE = {"normal": 0.0, "dim": 4.0, "warm": 2.0}  # extra sensor noise (σ) of the gain
PAPER = (240, 240, 234)

SHIFT = 4  # OpenCV drawing with 4 fractional bits: shapes sized to 1/16 px, not whole pixels
LFW_FACES = 100  # lfw_subset(): the first 100 of its 200 images are faces
# A face's gray level g (0..1) becomes skin × (SHADE_FLOOR + SHADE_GAIN × g): dark eyes, lit cheeks.
SHADE_FLOOR, SHADE_GAIN = 0.1, 1.2
SHARPEN = 2.0  # unsharp-mask amount for the resized crops

SKIN_TONES = ((236, 196, 166), (224, 178, 146), (208, 160, 126), (186, 138, 104), (160, 112, 82))
HAIR = ((22, 20, 20), (34, 28, 24), (48, 38, 30), (70, 56, 42), (118, 116, 112), (160, 158, 152))
HAIR_WEIGHTS = (0.3, 0.3, 0.15, 0.1, 0.1, 0.05)
HAIR_STYLES = ("short", "long", "bald")
HAIR_STYLE_WEIGHTS = (0.6, 0.3, 0.1)
# (jacket, shirt): conference delegates wear white shirts, dark suits and uniforms.
OUTFITS = (
    ((234, 234, 230), (234, 234, 230)),  # white shirt
    ((36, 38, 46), (236, 236, 236)),  # dark suit
    ((30, 40, 72), (228, 232, 240)),  # navy suit
    ((84, 98, 58), (150, 160, 118)),  # military green
    ((108, 108, 114), (226, 226, 230)),  # grey suit
    ((166, 192, 222), (166, 192, 222)),  # light blue shirt
    ((46, 70, 110), (210, 200, 150)),  # police blue
)
OUTFIT_WEIGHTS = (0.32, 0.2, 0.12, 0.14, 0.08, 0.08, 0.06)
SEAT_COLOURS = ((120, 28, 34), (40, 52, 96), (70, 44, 34))
WALLS = ((226, 214, 190), (212, 206, 196), (200, 180, 150))


@dataclass(frozen=True)
class HallSpec:
    people: int = 60  # present people (visible + looking down), not counting screen faces
    width: int = 1920
    height: int = 1080
    seed: int = 0
    face_min: int = 17  # face size (px) in the back row
    face_max: int = 70  # face size in the front row
    screen: bool = False  # a projection screen on the wall above the seats, showing faces
    looking_down: float = 0.0  # share of present people whose face is not visible (0..1)
    # Harder halls; the defaults draw exactly the halls drawn before these options existed.
    turned: float = 0.0  # share of present people with the head turned aside (yaw ≤ 60°)
    reading: float = 0.0  # share reading: face tilted down, its lower part behind paper or hand
    occlusion: float = 0.0  # share partly hidden by the head of someone in the row in front
    backs: float = 0.0  # share seen from behind: present, no face to see
    blur: float = 0.0  # camera-shake blur length, as a share of the back row's face size
    light: str = "normal"  # "normal", "dim" (under-exposed, noisy) or "warm" (tungsten cast)
    jpeg_quality: int | None = None  # the frame as a camera's JPEG of this quality (1..100)

    @property
    def posed(self) -> bool:
        """Whether any person is posed other than frontal or looking down."""
        return any((self.turned, self.reading, self.occlusion, self.backs))


def hard_spec(people: int, seed: int, width: int = 1920, height: int = 1080) -> HallSpec:
    """A hall as a real camera sees it: turned heads, readers, occlusion, backs, blur, dim light.

    Face sizes scale with the frame height from 17–70 px at 1080 px; the light (dim or warm)
    follows the seed.
    """
    face_min = max(8, round(17 * height / 1080))
    face_max = max(face_min, round(70 * height / 1080))
    return HallSpec(
        people, width, height, seed, face_min, face_max, looking_down=0.05,
        turned=0.3, reading=0.2, occlusion=0.2, backs=0.05, blur=0.15,
        light=("dim", "warm")[seed % 2], jpeg_quality=50,
    )  # fmt: skip


@dataclass
class Person:
    box: Box  # the face box (looking down: where the face would be)
    face_size: int  # side of the face square in px
    row: int  # 0 = back row (top of image, smallest faces); -1 on the screen
    seat: int  # seat number in the row; on the screen, the face's number
    visible: bool  # face visible (False: looking down)
    on_screen: bool  # a face shown on the screen: NOT a present person
    appearance: dict  # face index, skin, hair, outfit: enough to redraw the person identically
    kind: str = "frontal"  # one of KINDS; a screen face is "frontal"
    hidden: float = 0.0  # share of the face not showing (covered, turned away); 1: no face
    pose: dict = field(default_factory=dict)  # how a turned or reading person is drawn


@dataclass
class HallPlan:
    spec: HallSpec
    people: list[Person]  # present people and screen faces
    screen: list[tuple[int, int]] | None  # screen polygon [(x, y), ...] in pixels
    row_y: list[int]  # face-centre y of each row, back to front
    row_face: list[int]  # face size of each row
    seat_x: list[list[int]]  # centre x of every seat of each row, occupied or not


def render_hall(spec: HallSpec) -> tuple[np.ndarray, HallPlan]:
    """A hall frame (H×W×3 uint8 RGB) and the plan that is its ground truth."""
    plan = plan_hall(spec)
    return draw_hall(plan), plan


def truth(plan: HallPlan) -> dict[str, Any]:
    """The ground truth as plain JSON types: spec, screen polygon, counts and every person."""
    present = [p for p in plan.people if not p.on_screen]
    kinds = {
        kind: {"present": len(group), "visible": sum(p.visible for p in group)}
        for kind in KINDS
        if (group := [p for p in present if p.kind == kind])
    }
    return {
        "spec": asdict(plan.spec),
        "screen": [list(point) for point in plan.screen] if plan.screen else None,
        "present": len(present),
        "visible": sum(p.visible for p in present),
        "screen_faces": len(plan.people) - len(present),
        "kinds": kinds,  # per kind of present person: how many, how many countable
        "people": [
            {
                "box": list(p.box),
                "face_size": p.face_size,
                "row": p.row,
                "seat": p.seat,
                "visible": p.visible,
                "on_screen": p.on_screen,
                "kind": p.kind,
                "hidden": p.hidden,
                "pose": p.pose,
            }
            for p in plan.people
        ],
    }


# Planning ---------------------------------------------------------------------------------


def plan_hall(spec: HallSpec) -> HallPlan:
    """Where everyone sits and what they look like; the same spec always gives the same plan.

    Raises ValueError when the spec is impossible (more people than seats, faces too large for
    the frame, no room for the screen).
    """
    _check(spec)
    rng = np.random.default_rng([spec.seed, 0])
    row_y, row_face = _rows(spec)
    seat_x = [_seats(spec.width, face, row) for row, face in enumerate(row_face)]
    seats = [(row, seat) for row, xs in enumerate(seat_x) for seat in range(len(xs))]
    if spec.people > len(seats):
        raise ValueError(
            f"a {spec.width}×{spec.height} hall with faces of {spec.face_min}–{spec.face_max} px "
            f"seats at most {len(seats)} people, not {spec.people}"
        )
    taken = sorted(rng.choice(len(seats), spec.people, replace=False).tolist())
    down = set(rng.choice(spec.people, round(spec.looking_down * spec.people), replace=False))
    people = [
        _seated(rng, row, seat, seat_x[row][seat], row_y[row], row_face[row], i not in down)
        for i, (row, seat) in enumerate(seats[k] for k in taken)
    ]
    if spec.posed:
        people = _posed(spec, people)
    screen = _screen_area(spec, row_y[0] - (JITTER_Y + HEAD_TOP * (1 + JITTER_SIZE)) * row_face[0])
    if screen:
        people = _screen_faces(rng, screen) + people
    polygon = [(screen[0], screen[1]), (screen[2], screen[1]), (screen[2], screen[3]),
               (screen[0], screen[3])] if screen else None  # fmt: skip
    return HallPlan(spec, people, polygon, row_y, row_face, seat_x)


def _check(spec: HallSpec) -> None:
    if spec.people < 0:
        raise ValueError(f"people must be ≥ 0, not {spec.people}")
    shares = {name: getattr(spec, name) for name in SHARES}
    for name, share in shares.items():
        if not 0 <= share <= 1:
            raise ValueError(f"{name} is a share (0..1), not {share}")
    if sum(shares.values()) > 1 + 1e-9:
        raise ValueError(f"the shares of {', '.join(SHARES)} add up to more than 1")
    if spec.blur < 0 or spec.light not in LIGHTS:
        raise ValueError(f"need blur ≥ 0 and light in {sorted(LIGHTS)}: {spec.blur}, {spec.light}")
    if spec.jpeg_quality is not None and not 1 <= spec.jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be 1..100 or None, not {spec.jpeg_quality}")
    if not 8 <= spec.face_min <= spec.face_max:
        raise ValueError(f"need 8 ≤ face_min ≤ face_max, not {spec.face_min}, {spec.face_max}")
    if spec.width < 64 or spec.height < 64:
        raise ValueError(f"a {spec.width}×{spec.height} frame is too small for a hall")


def _rows(spec: HallSpec) -> tuple[list[int], list[int]]:
    """Face-centre y and face size of each row: as many rows as fit without hiding faces.

    Face sizes grow geometrically from the back row to the front, and the gap between two rows
    is proportional to their face sizes, as in a perspective view of evenly spaced rows.
    """
    back = BACK_ROW_Y * spec.height
    front = spec.height - (0.5 * (1 + JITTER_SIZE) + JITTER_Y) * spec.face_max - 1
    if front < back:
        raise ValueError(f"faces of {spec.face_max} px do not fit a {spec.height} px high frame")
    best = [front], [float(spec.face_max)]
    for count in itertools.count(2):
        faces = np.geomspace(spec.face_min, spec.face_max, count)
        gaps = (faces[:-1] + faces[1:]) / 2
        ys = back + np.concatenate([[0], np.cumsum(gaps)]) * (front - back) / gaps.sum()
        if not _faces_clear(ys, faces):
            break
        best = ys, faces
    return [round(y) for y in best[0]], [round(f) for f in best[1]]


def _faces_clear(ys: np.ndarray, faces: np.ndarray) -> bool:
    """Whether, even with the worst jitter, no head hides more than HIDDEN_MAX of a face behind."""
    head_top = ys[1:] - (JITTER_Y + HEAD_TOP * (1 + JITTER_SIZE)) * faces[1:]
    chin = ys[:-1] + (JITTER_Y + 0.5 * (1 + JITTER_SIZE)) * faces[:-1]
    return bool(np.all(chin - head_top <= HIDDEN_MAX * (1 - JITTER_SIZE) * faces[:-1]))


def _seats(width: int, face: int, row: int) -> list[int]:
    """Seat centres of one row, alternate rows staggered by a quarter seat each way."""
    pitch = PITCH * face
    edge = (0.5 * (1 + JITTER_SIZE) + JITTER_X) * face + 1  # keeps every face box in the frame
    count = max(0, math.floor((width - 2 * edge - pitch / 2) / pitch) + 1)
    centre = width / 2 + (pitch / 4 if row % 2 else -pitch / 4)
    return [round(centre + (seat - (count - 1) / 2) * pitch) for seat in range(count)]


def _seated(rng, row: int, seat: int, x: int, y: int, face: int, visible: bool) -> Person:
    size = round(face * (1 + rng.uniform(-JITTER_SIZE, JITTER_SIZE)))
    cx = x + rng.uniform(-JITTER_X, JITTER_X) * face
    cy = y + rng.uniform(-JITTER_Y, JITTER_Y) * face
    kind, hidden = ("frontal", 0.0) if visible else ("down", 1.0)
    box = _box(cx, cy, size)
    return Person(box, size, row, seat, visible, False, _appearance(rng), kind, hidden)


def _posed(spec: HallSpec, people: list[Person]) -> list[Person]:
    """Turn, seat behind a paper, hide behind the row in front or turn away some people.

    Uses its own random stream, so the seats and looks of the people are those of the same
    spec without these options. Occlusion comes last, front rows first.
    """
    rng = np.random.default_rng([spec.seed, 3])
    count = {name: round(getattr(spec, name) * spec.people) for name in SHARES}
    occluded = _occlusion_pairs(rng, people, count["occlusion"])
    free = [i for i, p in enumerate(people) if p.kind == "frontal" and i not in occluded]
    order = rng.permutation(free).tolist()
    backs, order = order[: count["backs"]], order[count["backs"] :]
    turned, order = order[: count["turned"]], order[count["turned"] :]
    for i in backs:
        people[i] = replace(people[i], visible=False, kind="back", hidden=1.0)
    for i in turned:
        yaw = round(float(rng.uniform(*YAW) * rng.choice((-1, 1))), 1)
        pose = {"yaw": yaw, "flip": bool(rng.random() < 0.5)}
        people[i] = replace(people[i], kind="turned", pose=pose)
    for i in order[: count["reading"]]:
        people[i] = _reader(rng, people[i])
    for i, front in sorted(occluded.items(), key=lambda pair: -people[pair[0]].row):
        people[i] = _occluded(rng, people[i], people[front], people, spec.width)
    return people


def _reader(rng, person: Person) -> Person:
    """Reading: the face tilted down (squeezed to the lower box) and partly behind paper or hand.

    The paper or hand covers the lower `cover` of the box: that share of the squeezed face
    is hidden.
    """
    tilt, cover = round(float(rng.uniform(*TILT)), 3), round(float(rng.uniform(*COVER)), 3)
    pose = {"tilt": tilt, "cover": cover, "paper": bool(rng.random() < 0.7),
            "hand_x": round(float(rng.uniform(-0.2, 0.2)), 3)}  # fmt: skip
    hidden = round(min(1.0, cover / (1 - tilt)), 3)
    return replace(person, kind="reading", hidden=hidden, visible=1 - hidden >= VISIBLE_MIN,
                   pose=pose)  # fmt: skip


def _occlusion_pairs(rng, people: list[Person], count: int) -> dict[int, int]:
    """Up to `count` frontal people, each with someone in the row in front to hide behind.

    An occluder is never occluded itself and an occluded person never hides anyone, so moving
    an occluded person cannot uncover another.
    """
    by_row: dict[int, list[int]] = {}
    for i, p in enumerate(people):
        by_row.setdefault(p.row, []).append(i)
    pairs: dict[int, int] = {}
    fronts: set[int] = set()
    for i in rng.permutation(len(people)).tolist():
        person = people[i]
        if len(pairs) >= count or person.kind != "frontal" or i in fronts:
            continue
        apart = {
            j: abs(_centre_x(people[j]) - _centre_x(person)) for j in by_row.get(person.row + 1, ())
        }
        near = [
            j
            for j, dx in apart.items()
            if j not in pairs and dx <= 0.75 * PITCH * people[j].face_size
        ]
        if near:
            pairs[i] = min(near, key=apart.get)
            fronts.add(pairs[i])
    return pairs


def _occluded(rng, person: Person, front: Person, people: list[Person], width: int) -> Person:
    """Lean behind `front` and slouch until the rows in front hide the drawn share of the face."""
    f = person.face_size
    side = 1 if _centre_x(person) >= _centre_x(front) else -1
    cx = _centre_x(front) + side * rng.uniform(0, 0.3) * f
    cx = min(max(cx, f / 2 + 1), width - f / 2 - 1)  # the face box stays in the frame
    cy = (person.box[0] + person.box[2]) / 2
    target = rng.uniform(*OCCLUDED)
    ahead = [p for p in people if p.row > person.row and not p.on_screen
             and abs(_centre_x(p) - cx) < 1.8 * p.face_size + f]  # fmt: skip
    top, _, _, left = _box(cx, cy, f)
    covered = _covered(ahead, (left, top), (f, 2 * f + 2))  # every face box the slouch tries
    alpha = _face_alpha(f)[..., 0]
    for step in range(41):  # slouch by up to one face, 1/40 of a face at a time
        box = _box(cx, cy + step * f / 40, f)
        window = covered[box[0] - top : box[0] - top + f]
        hidden = float(np.clip((window * alpha).sum() / alpha.sum(), 0, 1))
        if hidden >= target:
            break
    return replace(person, box=box, kind="occluded", hidden=round(hidden, 3),
                   visible=1 - hidden >= VISIBLE_MIN)  # fmt: skip


def _covered(ahead: list[Person], corner: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """How much people drawn later cover each pixel of a (w, h) area at `corner` (0..1).

    Drawing is affine in the background, so drawing over black and over white tells how much
    of the background each pixel lets through, whatever the colours.
    """
    w, h = size
    black, white = np.zeros((h, w, 3), np.float32), np.full((h, w, 3), 255, np.float32)
    for other in ahead:
        for canvas in (black, white):
            _draw_person(canvas, other, origin=corner)
    return 1 - (white - black).mean(axis=2) / 255


def _centre_x(person: Person) -> float:
    return (person.box[1] + person.box[3]) / 2


def _box(cx: float, cy: float, size: int) -> Box:
    top, left = round(cy - size / 2), round(cx - size / 2)
    return top, left + size, top + size, left


def _appearance(rng) -> dict[str, Any]:
    """Everything random about one person, as plain values, so drawing needs no generator."""
    jacket, shirt = OUTFITS[rng.choice(len(OUTFITS), p=OUTFIT_WEIGHTS)]
    tone = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))]) * rng.uniform(0.92, 1.05, 3)
    return {
        "face": int(rng.integers(LFW_FACES)),
        "skin": tuple(round(float(c), 1) for c in np.clip(tone, 0, 255)),
        "brightness": round(float(rng.uniform(0.8, 1.12)), 3),
        "hair": HAIR[rng.choice(len(HAIR), p=HAIR_WEIGHTS)],
        "hair_style": HAIR_STYLES[rng.choice(len(HAIR_STYLES), p=HAIR_STYLE_WEIGHTS)],
        "jacket": jacket,
        "shirt": shirt,
        "tie": bool(jacket != shirt and rng.random() < 0.6),
    }


def _screen_area(spec: HallSpec, seats_top: float) -> tuple[int, int, int, int] | None:
    """The screen (left, top, right, bottom) on the wall to one side, clear of the back row."""
    if not spec.screen:
        return None
    top = round(0.05 * spec.height)
    height = min(round(0.24 * spec.width * 9 / 16), math.floor(seats_top) - top - 4)
    width = round(height * 16 / 9)
    if height < 24:
        raise ValueError(f"no room for a screen above the seats of a {spec.height} px frame")
    margin = round(0.04 * spec.width)
    left = margin if spec.seed % 2 else spec.width - margin - width
    return left, top, left + width, top + height


def _screen_faces(rng, area: tuple[int, int, int, int]) -> list[Person]:
    """4–12 faces in one or two rows: the central hall's video on the screen."""
    left, top, right, bottom = area
    count = int(rng.integers(SCREEN_FACES[0], SCREEN_FACES[1] + 1))
    rows = 1 if count <= 5 else 2
    cols = math.ceil(count / rows)
    cell_w, cell_h = (right - left) / cols, (bottom - top) / rows
    size = round(min(cell_w / 2.2, cell_h / 2.4, SCREEN_FACE_MAX) * rng.uniform(0.85, 1.0))
    people = []
    for i in range(count):
        cx = left + (i % cols + 0.5) * cell_w + rng.uniform(-0.1, 0.1) * size
        cy = top + (i // cols) * cell_h + (HEAD_TOP + 0.05) * size + rng.uniform(0, 0.1) * size
        people.append(Person(_box(cx, cy, size), size, -1, i, True, True, _appearance(rng)))
    return people


# Drawing ----------------------------------------------------------------------------------


def draw_hall(plan: HallPlan) -> np.ndarray:
    """The frame of a plan (H×W×3 uint8 RGB): the same plan always gives the same pixels.

    The room, seats, lighting and noise depend on the spec and rows only, never on who sits
    where, so removing a person from the plan changes only the pixels that person covered.
    """
    spec = plan.spec
    rng = np.random.default_rng([spec.seed, 1])
    palette = _palette(spec.seed)
    frame = _room(spec, plan.row_y[0] + 0.5 * plan.row_face[0], palette, rng)
    if plan.screen:
        _draw_screen(frame, plan)
    for row, (y, face) in enumerate(zip(plan.row_y, plan.row_face, strict=True)):
        for x in plan.seat_x[row]:
            _draw_seat_back(frame, x, y, face, palette["seat"])
        for person in plan.people:
            if person.row == row and not person.on_screen:
                _draw_person(frame, person)
    if spec.blur:
        frame = _shake(frame, spec)
    if spec.light != "normal":
        frame *= np.array(LIGHTS[spec.light], np.float32)
    return _lens(_camera(frame, rng), spec)


def _palette(seed: int) -> dict[str, tuple[int, int, int]]:
    rng = np.random.default_rng([seed, 2])
    return {
        "wall": WALLS[rng.integers(len(WALLS))],
        "seat": SEAT_COLOURS[rng.integers(len(SEAT_COLOURS))],
        "floor": (78, 46, 40),
    }


def _room(spec: HallSpec, wall_bottom: float, palette: dict, rng) -> np.ndarray:
    """Float RGB frame of the empty hall: panelled wall with a banner, dark floor below."""
    h, w = spec.height, spec.width
    frame = np.empty((h, w, 3), np.float32)
    wall_end = round(wall_bottom)
    shade = np.linspace(0.82, 1.0, wall_end, dtype=np.float32)[:, None, None]
    frame[:wall_end] = np.array(palette["wall"], np.float32) * shade
    panel = max(8, w // 14)
    for x in range(int(rng.integers(panel)), w, panel):
        frame[:wall_end, x : x + max(1, w // 640)] *= 0.9
    frame[wall_end:] = palette["floor"]
    _banner(frame, spec, wall_end)
    return frame


def _banner(frame: np.ndarray, spec: HallSpec, wall_end: int) -> None:
    """A red banner with yellow lettering across the top of the wall, as in Vietnamese halls."""
    h, w = spec.height, spec.width
    left, right = round(0.3 * w), round(0.7 * w)
    top, bottom = round(0.05 * h), round(min(0.11 * h, wall_end - 0.02 * h))
    if bottom - top < 6:
        return
    banner = frame[top:bottom, left:right]
    banner[:] = (176, 28, 30)
    scale = (bottom - top) / 50
    text = "HOI NGHI TRUC TUYEN TOAN QUOC"
    (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 1)
    origin = (round((right - left - text_w) / 2), round((bottom - top + text_h) / 2))
    letters = np.zeros(banner.shape[:2], np.uint8)  # putText draws on uint8 images only
    cv2.putText(letters, text, origin, cv2.FONT_HERSHEY_DUPLEX, scale, 255, 1, cv2.LINE_AA)
    banner += (np.array((238, 206, 70), np.float32) - banner) * (letters[..., None] / 255)


def _draw_screen(frame: np.ndarray, plan: HallPlan) -> None:
    """A bright screen with a dark bezel showing the central hall's delegates."""
    (left, top), _, (right, bottom), _ = plan.screen
    bezel = max(2, round(0.02 * (right - left)))
    frame[max(0, top - bezel) : bottom + bezel, max(0, left - bezel) : right + bezel] = (24, 24, 28)
    view = frame[top:bottom, left:right]
    view[:] = np.linspace((238, 232, 222), (176, 150, 140), bottom - top, dtype=np.float32)[:, None]
    for person in plan.people:
        if person.on_screen:
            _draw_person(view, person, origin=(left, top))


def _draw_seat_back(frame: np.ndarray, x: int, y: int, face: int, colour) -> None:
    """An upholstered seat back, visible behind a seated person's neck and shoulders."""
    top, bottom = y + 0.35 * face, y + 2.6 * face
    half = 1.05 * face
    points = np.array([[x - half, bottom], [x - half, top], [x + half, top], [x + half, bottom]])
    outline = [np.round(points * (1 << SHIFT)).astype(np.int32)]
    cv2.fillPoly(frame, outline, colour, cv2.LINE_AA, SHIFT)
    edge = (np.array(colour, np.float32) * 0.7).tolist()
    cv2.polylines(frame, outline, False, edge, max(1, round(face / 14)), cv2.LINE_AA, SHIFT)


def _draw_person(canvas: np.ndarray, person: Person, origin: tuple[int, int] = (0, 0)) -> None:
    """Draw one person into `canvas` (float RGB) whose top-left pixel is `origin` in the frame."""
    top, right, bottom, left = person.box
    f = person.face_size
    cx, cy = (left + right) / 2 - origin[0], (top + bottom) / 2 - origin[1]
    x0, y0 = max(0, math.floor(cx - 1.8 * f)), max(0, math.floor(cy - 1.2 * f))
    x1 = min(canvas.shape[1], math.ceil(cx + 1.8 * f))
    y1 = min(canvas.shape[0], math.ceil(cy + 4.2 * f))
    if x1 <= x0 or y1 <= y0:
        return
    patch = canvas[y0:y1, x0:x1]
    look = person.appearance
    skin = np.array(look["skin"], np.float32) * look["brightness"]
    shapes = _Shapes(patch, cx - x0, cy - y0, f)
    kind = "down" if person.kind == "frontal" and not person.visible else person.kind
    if kind == "back":
        _draw_back(shapes, look, skin)
        return
    _draw_body(shapes, look, skin)
    x, y = round(cx - f / 2) - x0, round(cy - f / 2) - y0  # the face box's corner in the patch
    if kind in ("frontal", "occluded"):
        _draw_head(shapes, look, skin)
        _paste_face(patch, x, y, f, look, skin)
        if look["hair_style"] != "bald":
            shapes.ellipse(0, -0.62, 0.5, 0.2, look["hair"])  # the fringe above the forehead
    elif kind == "turned":
        _draw_turned(shapes, patch, (x, y), look, skin, person.pose)
    elif kind == "reading":
        _draw_reader(shapes, patch, (x, y), look, skin, person.pose)
    else:
        _draw_bowed_head(shapes, look, skin)


class _Shapes:
    """Anti-aliased filled shapes in face-size units around a face centre, painted on a patch."""

    def __init__(self, patch: np.ndarray, cx: float, cy: float, face: int) -> None:
        self.patch, self.cx, self.cy, self.face = patch, cx, cy, face

    def point(self, dx: float, dy: float) -> tuple[int, int]:
        return self.fixed(self.cx + dx * self.face), self.fixed(self.cy + dy * self.face)

    @staticmethod
    def fixed(pixels: float) -> int:
        return round(pixels * (1 << SHIFT))

    def ellipse(self, dx: float, dy: float, ax: float, ay: float, colour) -> None:
        centre, axes = self.point(dx, dy), (self.fixed(ax * self.face), self.fixed(ay * self.face))
        self._paint(
            lambda m: cv2.ellipse(m, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_AA, SHIFT), colour
        )

    def polygon(self, points: list[tuple[float, float]], colour) -> None:
        pts = np.array([self.point(dx, dy) for dx, dy in points], np.int32)
        self._paint(lambda m: cv2.fillPoly(m, [pts], 255, cv2.LINE_AA, SHIFT), colour)

    def _paint(self, draw: Callable[[np.ndarray], Any], colour) -> None:
        mask = np.zeros(self.patch.shape[:2], np.uint8)
        draw(mask)
        x, y, w, h = cv2.boundingRect(mask)  # blend only where the shape is: 10× faster
        alpha = mask[y : y + h, x : x + w, None].astype(np.float32) / 255
        region = self.patch[y : y + h, x : x + w]
        region += (np.asarray(colour, np.float32) - region) * alpha


def _draw_body(shapes: _Shapes, look: dict, skin: np.ndarray) -> None:
    """Back hair, neck and a torso with rounded shoulders; a shirt and tie under a jacket."""
    style = look["hair_style"]
    if style == "long":
        shapes.ellipse(0, 0.1, 0.7, 0.95, look["hair"])
    elif style == "short":
        shapes.ellipse(0, -0.3, 0.62, 0.65, look["hair"])
    shapes.polygon([(-0.24, 0.3), (0.24, 0.3), (0.26, 1.0), (-0.26, 1.0)], skin * 0.82)
    shapes.ellipse(0, 1.6, 1.2, 0.72, look["jacket"])
    shapes.polygon([(-1.2, 1.6), (1.2, 1.6), (1.24, 4.2), (-1.24, 4.2)], look["jacket"])
    if look["jacket"] != look["shirt"]:
        shapes.polygon([(-0.3, 0.88), (0.3, 0.88), (0, 1.9)], look["shirt"])
        if look["tie"]:
            tie = [(-0.07, 0.95), (0.07, 0.95), (0.11, 1.7), (0, 1.85), (-0.11, 1.7)]
            shapes.polygon(tie, (120, 30, 36))
    else:
        shapes.polygon([(-0.3, 0.86), (0, 1.12), (0.3, 0.86), (0.26, 0.95), (-0.26, 0.95)],
                       np.array(look["shirt"], np.float32) * 0.8)  # fmt: skip


def _draw_head(shapes: _Shapes, look: dict, skin: np.ndarray) -> None:
    """Ears and a skin oval a little larger than the face crop, framing it down to the chin."""
    shapes.ellipse(-0.55, 0.02, 0.09, 0.16, skin * 0.9)
    shapes.ellipse(0.55, 0.02, 0.09, 0.16, skin * 0.9)
    shapes.ellipse(0, 0.06, 0.53, 0.64, skin * _skin_shade(look["face"]))


def _draw_bowed_head(shapes: _Shapes, look: dict, skin: np.ndarray) -> None:
    """Looking down: the crown of the head faces the camera, only a strip of forehead shows."""
    shapes.ellipse(0, 0.2, 0.5, 0.42, skin * 0.75)
    hair = look["hair"] if look["hair_style"] != "bald" else skin * 0.95
    shapes.ellipse(0, -0.08, 0.58, 0.6, hair)


def _draw_turned(shapes: _Shapes, patch, corner, look: dict, skin, pose: dict) -> None:
    """A head turned by `yaw`: the face squeezed by cos(yaw) and moved towards the turn.

    The ear on the side the face turns to goes out of sight.
    """
    f, yaw = shapes.face, math.radians(pose["yaw"])
    side = 1 if yaw > 0 else -1
    shapes.ellipse(-side * 0.55, 0.02, 0.09, 0.16, skin * 0.9)
    shapes.ellipse(0, 0.06, 0.53, 0.64, skin * _skin_shade(look["face"]))
    width = max(2, round(f * math.cos(yaw)))
    x = corner[0] + (f - width) // 2 + round(side * 0.45 * (f - width))
    _paste_warped(patch, (x, corner[1]), (width, f), look, skin, pose["flip"])
    if look["hair_style"] != "bald":
        shapes.ellipse(-side * 0.3 * (1 - math.cos(yaw)), -0.62, 0.5, 0.2, look["hair"])


def _draw_reader(shapes: _Shapes, patch, corner, look: dict, skin, pose: dict) -> None:
    """Reading: the face tilted down (squeezed into the lower box, more forehead and hair),
    its lower part behind a sheet of paper or a hand raised to the chin."""
    f, tilt, cover = shapes.face, pose["tilt"], pose["cover"]
    _draw_head(shapes, look, skin)
    height = max(2, round(f * (1 - tilt)))
    _paste_warped(patch, (corner[0], corner[1] + f - height), (f, height), look, skin, False)
    if look["hair_style"] != "bald":
        shapes.ellipse(0, -0.62 + tilt / 2, 0.5, 0.2 + tilt / 2, look["hair"])  # lower fringe
    edge = 0.5 - cover  # the top of the cover, from the face centre
    if pose["paper"]:
        sheet = [(-0.75, edge + 0.04), (0.75, edge - 0.04), (0.8, edge + 1.4), (-0.7, edge + 1.45)]
        shapes.polygon(sheet, PAPER)
        for y in (edge + 0.25, edge + 0.45, edge + 0.65):  # lines of print
            shapes.polygon([(-0.55, y), (0.5, y - 0.03), (0.5, y), (-0.55, y + 0.03)], (120,) * 3)
    else:
        hx = pose["hand_x"]
        arm = [(hx - 0.2, edge + 0.3), (hx + 0.2, edge + 0.3), (hx + 0.3, 2.2), (hx - 0.3, 2.2)]
        shapes.polygon(arm, look["jacket"])
        shapes.ellipse(hx, edge + cover / 2 + 0.05, 0.32, cover / 2 + 0.06, skin * 0.95)


def _draw_back(shapes: _Shapes, look: dict, skin: np.ndarray) -> None:
    """Seen from behind: the back of the head (hair, or a bald crown), ears, a plain jacket."""
    if look["hair_style"] == "long":
        shapes.ellipse(0, 0.1, 0.7, 0.95, look["hair"])
    shapes.polygon([(-0.24, 0.3), (0.24, 0.3), (0.26, 1.0), (-0.26, 1.0)], skin * 0.78)
    shapes.ellipse(0, 1.6, 1.2, 0.72, look["jacket"])
    shapes.polygon([(-1.2, 1.6), (1.2, 1.6), (1.24, 4.2), (-1.24, 4.2)], look["jacket"])
    shapes.ellipse(0, 0.95, 0.3, 0.08, np.array(look["shirt"], np.float32) * 0.9)  # the collar
    shapes.ellipse(-0.55, 0.02, 0.09, 0.16, skin * 0.85)
    shapes.ellipse(0.55, 0.02, 0.09, 0.16, skin * 0.85)
    head = look["hair"] if look["hair_style"] != "bald" else skin * 0.85
    shapes.ellipse(0, -0.05, 0.56, 0.68, head)


def _paste_warped(patch, corner, size, look: dict, skin, flip: bool) -> None:
    """Blend the face crop in squeezed to `size` (w, h), flipped left to right if asked."""
    f = max(size)
    face = cv2.resize(_face_rgb(look["face"], f, skin), size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(_face_alpha(f), size, interpolation=cv2.INTER_AREA)[..., None]
    if flip:
        face, alpha = face[:, ::-1], alpha[:, ::-1]
    (x, y), (w, h) = corner, size
    rows = slice(max(0, -y), min(h, patch.shape[0] - y))
    cols = slice(max(0, -x), min(w, patch.shape[1] - x))
    if rows.start >= rows.stop or cols.start >= cols.stop:
        return
    region = patch[y + rows.start : y + rows.stop, x + cols.start : x + cols.stop]
    region += (face[rows, cols] - region) * alpha[rows, cols]


def _paste_face(patch: np.ndarray, x: int, y: int, f: int, look: dict, skin: np.ndarray) -> None:
    """Blend the colourised face crop in at (x, y) with a soft elliptical edge."""
    face = _face_rgb(look["face"], f, skin)
    # Clipped where the face box leaves the patch, which plan_hall never lets happen in a frame
    # (only on the small canvases of _hidden).
    rows = slice(max(0, -y), min(f, patch.shape[0] - y))
    cols = slice(max(0, -x), min(f, patch.shape[1] - x))
    if rows.start >= rows.stop or cols.start >= cols.stop:  # wholly outside: a _hidden canvas
        return
    region = patch[y + rows.start : y + rows.stop, x + cols.start : x + cols.stop]
    region += (face[rows, cols] - region) * _face_alpha(f)[rows, cols]


def _face_rgb(index: int, size: int, skin: np.ndarray) -> np.ndarray:
    """One LFW face at `size` px, tinted with the skin colour (float RGB).

    The crops are only 25 px: resized, they lose the crisp eyes and mouth that HOG keys on, so
    they are sharpened at the crop's own pixel scale, as a camera sharpens its video.
    """
    gray = _faces()[index]
    interpolation = cv2.INTER_CUBIC if size > gray.shape[0] else cv2.INTER_AREA
    shade = cv2.resize(gray, (size, size), interpolation=interpolation)
    soft = cv2.GaussianBlur(shade, (0, 0), max(0.6, size / gray.shape[0]))
    shade += SHARPEN * (shade - soft)
    return np.clip(skin * (SHADE_FLOOR + SHADE_GAIN * shade)[..., None], 0, 255)


def _skin_shade(index: int) -> float:
    """The face crop's typical shade, so the skin around the crop matches its cheeks."""
    gray = _faces()[index]
    return float(SHADE_FLOOR + SHADE_GAIN * np.median(gray[6:20, 5:20]))


@cache
def _face_alpha(size: int) -> np.ndarray:
    """Elliptical mask over the face crop, soft at the edge where the crop's background shows."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    r = np.sqrt((c[None, :] / 0.5) ** 2 + (c[:, None] / 0.56) ** 2)
    return np.clip((1.0 - r) / 0.16, 0, 1)[..., None]


@cache
def _faces() -> np.ndarray:
    """The 100 LFW face crops (25×25), contrast-stretched to 0..1."""
    from skimage.data import lfw_subset  # imported late: it is slow and only halls need it

    faces = lfw_subset()[:LFW_FACES].astype(np.float32)
    low = np.percentile(faces, 2, axis=(1, 2), keepdims=True)
    high = np.percentile(faces, 98, axis=(1, 2), keepdims=True)
    return np.clip((faces - low) / (high - low), 0, 1)


def _shake(frame: np.ndarray, spec: HallSpec) -> np.ndarray:
    """Camera-shake blur: a line kernel `blur` back-row faces long, at an angle of the seed."""
    length = max(2, round(spec.blur * spec.face_min))
    angle = np.random.default_rng([spec.seed, 4]).uniform(0, math.pi)
    half = (length - 1) / 2
    dx, dy = math.cos(angle) * half, math.sin(angle) * half
    ends = [(_Shapes.fixed(half + sign * dx), _Shapes.fixed(half + sign * dy)) for sign in (-1, 1)]
    kernel = np.zeros((length, length), np.float32)
    cv2.line(kernel, ends[0], ends[1], 1.0, 1, cv2.LINE_AA, SHIFT)
    return cv2.filter2D(frame, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def _lens(image: np.ndarray, spec: HallSpec) -> np.ndarray:
    """What the camera adds to a uint8 frame: gain noise in poor light, then its JPEG."""
    if sigma := LIGHT_NOISE[spec.light]:
        noise = np.random.default_rng([spec.seed, 5]).standard_normal(image.shape, np.float32)
        image = np.clip(image + noise * sigma, 0, 255).astype(np.uint8)
    if spec.jpeg_quality is None:
        return image
    quality = [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg_quality]
    ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), quality)
    if not ok:  # OpenCV gives no reason; a uint8 RGB frame always encodes
        raise RuntimeError("OpenCV could not encode a JPEG")
    return np.ascontiguousarray(cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1])


def _camera(frame: np.ndarray, rng) -> np.ndarray:
    """Uneven lighting and sensor noise, then back to uint8."""
    h, w = frame.shape[:2]
    x = np.linspace(-1, 1, w, dtype=np.float32)
    y = np.linspace(-1, 1, h, dtype=np.float32)
    light = (1.04 - 0.1 * x[None, :] ** 2 - 0.06 * y[:, None] ** 2) * (1 + 0.04 * x[None, :])
    frame *= light[..., None]
    frame += rng.standard_normal(frame.shape, dtype=np.float32) * 2.5
    return np.clip(frame, 0, 255).astype(np.uint8)
