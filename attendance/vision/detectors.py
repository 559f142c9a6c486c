"""The face detectors face_recognition ships, loaded once per process and called per tile.

face_recognition.face_locations hides the detector's scores and always searches the whole
image; the counter needs both, so it calls the same dlib models directly: HOG (the library's
default) and the CNN (mmod) detector for sites that can afford ~25 s per megapixel.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np

from attendance.vision.boxes import Box

# Sizes (px) of the smallest face each detector finds reliably at scale 1, measured on our halls.
WINDOW = {"hog": 80, "cnn": 50}


@dataclass(frozen=True)
class Face:
    box: Box
    score: float


@cache
def load_models():
    """Import face_recognition's models (~1.5 s): once per process, before timing anything."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pkg_resources notice in the models package
        from face_recognition import api
    return api.face_detector, api.cnn_face_detector


def detect(image: np.ndarray, model: str = "hog", threshold: float = 0.0) -> list[Face]:
    """Faces in `image` at its own scale; larger faces through the detector's own pyramid."""
    hog, cnn = load_models()
    height, width = image.shape[:2]
    if model == "cnn":
        found = [(hit.rect, hit.confidence) for hit in cnn(image, 0)]
    else:
        rects, scores, _ = hog.run(image, 0, threshold)
        found = list(zip(rects, scores, strict=True))
    return [
        Face(
            (max(r.top(), 0), min(r.right(), width), min(r.bottom(), height), max(r.left(), 0)),
            float(score),
        )
        for r, score in found
    ]
