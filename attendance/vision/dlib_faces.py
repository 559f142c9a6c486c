"""face_recognition's dlib detectors, HOG and CNN (mmod), as counter detectors.

face_recognition.face_locations hides the detector's scores and always searches the whole
image; the counter needs both, so it calls the same dlib models directly.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np

from attendance.vision.boxes import Face


@cache
def load_dlib():
    """Import face_recognition's models (~1.5 s): once per process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pkg_resources notice in the models package
        from face_recognition import api
    return api.face_detector, api.cnn_face_detector


class DlibDetector:
    def __init__(self, model: str):
        self.model = model
        self.colour = model == "cnn"

    def find(self, image: np.ndarray, threshold: float) -> list[Face]:
        hog, cnn = load_dlib()
        height, width = image.shape[:2]
        if self.model == "cnn":
            found = [
                (hit.rect, hit.confidence) for hit in cnn(image, 0) if hit.confidence >= threshold
            ]
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
