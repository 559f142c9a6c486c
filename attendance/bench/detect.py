"""Detection benchmark: our counter against plain face_recognition on the same synthetic halls.

Every method sees the same frames. Our counter runs as it does at a site: the site's
perspective is learned once from a calibration frame of the same camera (a cold start, timed and
reported apart), then each frame is counted with it.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from attendance.bench.tables import print_table
from attendance.vision.boxes import Box, match
from attendance.vision.counter import QUALITIES, Counter
from attendance.vision.detectors import DEFAULT_MODEL, load_models
from attendance.vision.hall import HallPlan, HallSpec, hard_spec, render_hall
from attendance.vision.perspective import Perspective
from attendance.vision.roi import Roi, from_pixels

DEFAULT_LEVEL = "balanced"


@dataclass
class Score:
    """Totals over frames for one method."""

    found: int = 0
    hits: dict[int, int] = field(default_factory=dict)  # min face size -> matched faces
    faces: dict[int, int] = field(default_factory=dict)  # min face size -> faces
    false: int = 0
    screen: int = 0
    errors: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)

    def add(self, boxes: list[Box], plan: HallPlan, ms: float) -> None:
        present = [p for p in plan.people if p.visible and not p.on_screen]
        screen = [p for p in plan.people if p.on_screen]
        truth = [p.box for p in present + screen]
        pairs = match(boxes, truth)
        matched = {j for _, j in pairs}
        # A face found of someone mostly hidden (a reader, the row in front) is a present
        # person, not a false face, though no camera is expected to find it: neither.
        paired = {i for i, _ in pairs}
        unpaired = [box for i, box in enumerate(boxes) if i not in paired]
        hidden = [p.box for p in plan.people if not p.visible and not p.on_screen]
        found = len(boxes) - len(match(unpaired, hidden))
        for floor in (0, 24, 30):
            sized = [j for j, p in enumerate(present) if p.face_size >= floor]
            self.faces[floor] = self.faces.get(floor, 0) + len(sized)
            self.hits[floor] = self.hits.get(floor, 0) + len(matched.intersection(sized))
        on_screen = len([j for j in matched if j >= len(present)])
        self.screen += on_screen
        self.false += found - len(pairs) + on_screen
        self.found += found
        self.errors.append(abs(found - on_screen - len(present)))
        self.ms.append(ms)

    def figures(self, baseline_ms: float | None = None) -> dict[str, float]:
        ms = statistics.mean(self.ms)
        return {
            "recall_all": round(self.hits[0] / max(1, self.faces[0]), 3),
            "recall_24": round(self.hits[24] / max(1, self.faces[24]), 3),
            "recall_30": round(self.hits[30] / max(1, self.faces[30]), 3),
            "precision": round((self.found - self.false) / max(1, self.found), 3),
            "screen_faces_counted": self.screen,
            "count_mae": round(statistics.mean(self.errors), 2),
            "ms_per_frame": round(ms, 1),
            "frames_per_s_per_core": round(1000 / ms, 2),
            "speed_ratio_vs_up2": round(baseline_ms / ms, 2) if baseline_ms else 1.0,
        }


Method = Callable[[np.ndarray, HallPlan], list[Box]]


def library(upsample: int) -> Method:
    """face_recognition.face_locations as people call it (it knows nothing of screens)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import face_recognition

    return lambda frame, _: face_recognition.face_locations(frame, upsample)


def ours(level: str, perspective: Perspective | None, model: str = DEFAULT_MODEL) -> Method:
    """Our counter as a site runs it: its ROI excludes the hall's screen."""
    return lambda frame, plan: Counter(level, model, site_roi(plan)).count(frame, perspective).boxes


def site_roi(plan: HallPlan) -> Roi:
    if plan.screen is None:
        return Roi()
    height, width = plan.spec.height, plan.spec.width
    return Roi(exclude=(from_pixels(plan.screen, height, width),))


def hall_spec(people: int, width: int, height: int, seed: int, screen: bool, hard: bool):
    if hard:
        return replace(hard_spec(people, seed, width, height), screen=screen)
    return HallSpec(people, width, height, seed=seed, screen=screen)


def halls(
    frames: int, people: list[int], width: int, height: int, seed: int, screen: bool, hard: bool
):
    for index in range(frames):
        count = people[index % len(people)]
        yield render_hall(hall_spec(count, width, height, seed + index, screen, hard))


def timed(method: Method, frame: np.ndarray, plan: HallPlan) -> tuple[list[Box], float]:
    started = time.perf_counter()
    boxes = method(frame, plan)
    return boxes, (time.perf_counter() - started) * 1000


def bench_detect(
    frames: int,
    people: list[int],
    width: int,
    height: int,
    seed: int = 1,
    screen: bool = False,
    report: Callable[[str], None] = print,
    hard: bool = False,
) -> dict[str, float]:
    load_models()
    spec = hall_spec(max(people), width, height, seed + 10_000, screen, hard)
    calibration_frame, calibration_plan = render_hall(spec)
    calibration = Counter(DEFAULT_LEVEL, roi=site_roi(calibration_plan)).count(calibration_frame)
    hog = Counter(DEFAULT_LEVEL, "hog", site_roi(calibration_plan)).count(calibration_frame)
    methods: dict[str, Method] = {
        "library up1": library(1),
        "library up2": library(2),
        "ours hog balanced": ours(DEFAULT_LEVEL, hog.perspective, "hog"),
    }
    methods |= {f"ours {level}": ours(level, calibration.perspective) for level in QUALITIES}
    methods["ours cold start"] = ours(DEFAULT_LEVEL, None)
    scores = {name: Score() for name in methods}
    for frame, plan in halls(frames, people, width, height, seed, screen, hard):
        for name, method in methods.items():
            boxes, ms = timed(method, frame, plan)
            scores[name].add(boxes, plan, ms)
    baseline = statistics.mean(scores["library up2"].ms)
    table = {name: score.figures(baseline) for name, score in scores.items()}
    print_table(table, HEADINGS, report)
    report(
        f"ours: levels run with the perspective learned by one cold start on another frame of "
        f"the same camera ({calibration.timings['total']:.0f} ms); 'cold start' learns it anew"
    )
    default = table[f"ours {DEFAULT_LEVEL}"]
    keys = ("recall_24", "recall_all", "precision", "count_mae", "ms_per_frame")
    return {key: default[key] for key in keys} | {
        "speed_ratio_vs_up2": default["speed_ratio_vs_up2"],
        "fast_speed_ratio_vs_up2": table["ours fast"]["speed_ratio_vs_up2"],
        "fast_recall_30": table["ours fast"]["recall_30"],
        "screen_faces_counted": default["screen_faces_counted"],
    }


HEADINGS = {
    "recall_all": "recall",
    "recall_24": "rec≥24px",
    "recall_30": "rec≥30px",
    "precision": "precision",
    "screen_faces_counted": "screen",
    "count_mae": "count MAE",
    "ms_per_frame": "ms/frame",
    "frames_per_s_per_core": "frames/s",
    "speed_ratio_vs_up2": "× up2",
}
