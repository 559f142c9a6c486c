"""`attendance bench real`: face detectors on real photos with boxes drawn by people.

Generated halls paste frontal faces, so they flatter a detector that only finds frontal faces.
This benchmark reads a folder with `truth.json` (`{"file.jpg": [[top, right, bottom, left], ...]}`,
every valid face) and optionally `meta.json` (per file `event`, and `ignore`: boxes marked
invalid, where a detection is neither right nor wrong), decodes every image once, and runs every
method on the same pixels, one image at a time, on one core. A detection matches a face at
IoU ≥ 0.3, greedily one to one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from attendance.bench.tables import print_table
from attendance.enrolment.images import read_image
from attendance.errors import BadInput
from attendance.vision.boxes import Box, match
from attendance.vision.counter import Counter
from attendance.vision.detectors import DEFAULT_MODEL, detect, load_models, prepare

SIZES = (0, 24, 40)  # recall is reported for faces at least this tall (px)
DEFAULT_METHOD = f"ours {DEFAULT_MODEL} balanced"


@dataclass
class Photo:
    name: str
    image: np.ndarray  # RGB
    faces: list[Box]
    ignore: list[Box]
    event: str


@dataclass
class Score:
    """Totals over photos for one method."""

    faces: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SIZES, 0))
    hits: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SIZES, 0))
    found: int = 0
    false: int = 0
    errors: list[int] = field(default_factory=list)
    cpu_s: float = 0.0

    def add(self, photo: Photo, boxes: list[Box], cpu_s: float) -> None:
        pairs = match(boxes, photo.faces)
        matched, paired = {j for _, j in pairs}, {i for i, _ in pairs}
        unmatched = [box for i, box in enumerate(boxes) if i not in paired]
        on_ignored = len(match(unmatched, photo.ignore))
        for floor in SIZES:
            sized = [j for j, box in enumerate(photo.faces) if _height(box) >= floor]
            self.faces[floor] += len(sized)
            self.hits[floor] += len(matched.intersection(sized))
        self.found += len(boxes) - on_ignored
        self.false += len(unmatched) - on_ignored
        self.errors.append(abs(len(boxes) - on_ignored - len(photo.faces)))
        self.cpu_s += cpu_s

    def figures(self, baseline_cpu_s: float | None = None) -> dict[str, float]:
        return {
            "recall_all": round(self.hits[0] / max(1, self.faces[0]), 3),
            "recall_24": round(self.hits[24] / max(1, self.faces[24]), 3),
            "recall_40": round(self.hits[40] / max(1, self.faces[40]), 3),
            "precision": round((self.found - self.false) / max(1, self.found), 3),
            "count_mae": round(float(np.mean(self.errors)), 2) if self.errors else 0.0,
            "cpu_s": round(self.cpu_s, 1),
            "cpu_ratio_vs_up2": round(self.cpu_s / baseline_cpu_s, 2) if baseline_cpu_s else 1.0,
        }


def _height(box: Box) -> int:
    return box[2] - box[0]


Method = Callable[[np.ndarray], list[Box]]


def library(upsample: int) -> Method:
    """face_recognition.face_locations as people call it (HOG)."""
    import face_recognition

    return lambda image: face_recognition.face_locations(image, upsample)


def ours(model: str, quality: str) -> Method:
    """Our counter as it counts a single photo: a cold start, no perspective known."""
    counter = Counter(quality, model)
    return lambda image: counter.count(image).boxes


def plain(model: str, scale: float, threshold: float) -> Method:
    """The detector alone on the whole image at one scale: what our bands add over it."""

    def run(image: np.ndarray) -> list[Box]:
        height, width = image.shape[:2]
        pixels = prepare(model, image)
        return [face.box for face in detect(model, pixels, (0, width, height, 0), scale, threshold)]

    return run


def methods(with_dlib_cnn: bool = False) -> dict[str, Method]:
    chosen = {
        "library up0": library(0),
        "library up1": library(1),
        "library up2": library(2),
        "centerface plain 1×": plain("centerface", 1.0, 0.4),
        "centerface plain 2×": plain("centerface", 2.0, 0.4),
        "ours hog balanced": ours("hog", "balanced"),
        "ours centerface fast": ours("centerface", "fast"),
        DEFAULT_METHOD: ours(DEFAULT_MODEL, "balanced"),
        "ours centerface thorough": ours("centerface", "thorough"),
    }
    if with_dlib_cnn:  # ~25 s per megapixel: minutes per photo
        chosen["ours cnn balanced"] = ours("cnn", "balanced")
    return chosen


def load_photos(folder: Path) -> list[Photo]:
    """The photos of `truth.json`, decoded; BadInput naming the file and entry when malformed."""
    truth = _read_json(folder / "truth.json")
    meta = _read_json(folder / "meta.json") if (folder / "meta.json").exists() else {}
    if not isinstance(truth, dict) or not truth:
        raise BadInput(f"{folder / 'truth.json'}: expected an object of file name -> boxes")
    photos = []
    for name, boxes in truth.items():
        faces = _boxes(folder / "truth.json", name, boxes)
        info = meta.get(name, {})
        ignore = _boxes(folder / "meta.json", f"{name}.ignore", info.get("ignore", []))
        photos.append(Photo(name, read_image(folder / name), faces, ignore, info.get("event", "")))
    return photos


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: not found (expected a folder with truth.json)") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON: {exc}") from None


def _boxes(path: Path, entry: str, boxes) -> list[Box]:
    if not isinstance(boxes, list) or not all(
        isinstance(box, list) and len(box) == 4 and all(isinstance(v, int) for v in box)
        for box in boxes
    ):
        raise BadInput(f"{path}: {entry}: expected a list of [top, right, bottom, left] integers")
    return [tuple(box) for box in boxes]


def halves(photos: list[Photo]) -> dict[str, set[str]]:
    """Photos split by event, events alternating in name order: does tuning carry over?"""
    events = sorted({photo.event for photo in photos})
    if len(events) < 2:
        return {}
    return {
        "A": {p.name for p in photos if events.index(p.event) % 2 == 0},
        "B": {p.name for p in photos if events.index(p.event) % 2 == 1},
    }


def bench_real(
    folder: Path, with_dlib_cnn: bool = False, report: Callable[[str], None] = print
) -> dict[str, float]:
    cv2.setNumThreads(1)
    load_models(DEFAULT_MODEL)
    photos = load_photos(folder)
    faces = sum(len(p.faces) for p in photos)
    report(f"{len(photos)} photos, {faces} faces ({folder}); one core, images decoded once")
    split = halves(photos)
    chosen = methods(with_dlib_cnn)
    scores = {name: Score() for name in chosen}
    by_half = {(name, half): Score() for name in chosen for half in split}
    for photo in photos:
        for name, method in chosen.items():
            started = time.process_time()
            boxes = method(photo.image)
            cpu_s = time.process_time() - started
            scores[name].add(photo, boxes, cpu_s)
            for half, names in split.items():
                if photo.name in names:
                    by_half[name, half].add(photo, boxes, cpu_s)
    baseline = scores["library up2"].cpu_s
    table = {name: score.figures(baseline) for name, score in scores.items()}
    print_table(table, HEADINGS, report, 26)
    for half, names in split.items():
        events = sorted({p.event for p in photos if p.name in names})
        report(f"half {half} ({len(names)} photos: {', '.join(events)})")
        half_base = by_half["library up2", half].cpu_s
        print_table({n: by_half[n, half].figures(half_base) for n in chosen}, HEADINGS, report, 26)
    default = table[DEFAULT_METHOD]
    return (
        {"method": DEFAULT_METHOD, "photos": len(photos), "faces": faces}
        | {
            key: default[key]
            for key in ("recall_all", "recall_24", "recall_40", "precision", "count_mae")
        }
        | {"cpu_ratio_vs_up2": default["cpu_ratio_vs_up2"]}
    )


HEADINGS = {
    "recall_all": "recall",
    "recall_24": "rec≥24px",
    "recall_40": "rec≥40px",
    "precision": "precision",
    "count_mae": "count MAE",
    "cpu_s": "CPU s",
    "cpu_ratio_vs_up2": "× up2 CPU",
}
